import Foundation
import OCIHashing
import OCISpec
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A resumable ingest of one blob into the store, made by ``ImageStore/openIngest(digest:size:)``.
///
/// Bytes are hashed as they are written to `ingest/<alg>-<hex>`. If the process dies or
/// ``close()`` is called before ``commit(mediaType:)``, the partial file stays; the next
/// ``ImageStore/openIngest(digest:size:)`` for the same digest reopens it and reports its
/// ``offset`` so a download can resume (e.g. with an HTTP `Range` request).
///
/// While open, the writer holds an exclusive lock on the digest (another process or task
/// ingesting the same digest waits) and the store's shared lock (garbage collection waits).
///
/// A layer can be unpacked from the ingest while it is written (see
/// ``ImageStore/unpack(_:config:options:ingests:)``): the writer tells its followers how
/// far it got and how it ended, and what they unpacked is committed only if it committed.
public final class BlobWriter: Sendable {
    /// The expected digest of the whole blob.
    public let digest: Digest
    /// The expected size of the whole blob.
    public let size: Int64
    /// True when the blob was already committed when the writer was opened; then
    /// ``offset`` equals ``size``, writes are refused and ``commit(mediaType:)`` returns at once.
    public let alreadyExists: Bool

    // Only touched under `state`'s lock; Digest.Hasher is a plain value type.
    private struct State: @unchecked Sendable {
        var fd: Int32
        var hasher: Digest.Hasher
        var offset: Int64
        var finished: Bool
        var committed: Bool
    }

    private let state: Mutex<State>
    private let partialPath: String
    private let blobPath: String
    private let ingestLock: StoreLock?
    private let storeLock: StoreLock?
    /// What followers of this ingest see: bytes written, and how it ended.
    private let signal: IngestSignal

    init(
        digest: Digest, size: Int64, partialPath: String, blobPath: String, fd: Int32, hasher: Digest.Hasher,
        offset: Int64, alreadyExists: Bool, ingestLock: StoreLock?, storeLock: StoreLock?
    ) {
        self.digest = digest
        self.size = size
        self.alreadyExists = alreadyExists
        self.partialPath = partialPath
        self.blobPath = blobPath
        self.ingestLock = ingestLock
        self.storeLock = storeLock
        self.state = Mutex(State(fd: fd, hasher: hasher, offset: offset, finished: alreadyExists, committed: alreadyExists))
        self.signal = IngestSignal(offset: offset, outcome: alreadyExists ? .committed : .open)
    }

    /// How many bytes the blob has so far: where the next ``write(_:)`` continues.
    public var offset: Int64 { state.withLock { $0.offset } }

    /// Appends bytes to the blob, hashing them.
    /// - Parameter bytes: the next bytes, starting at ``offset``.
    /// - Throws: ``ImageStoreError`` `sizeMismatch` (and the partial is deleted) if the
    ///   bytes go past the expected size; `io` if the write fails; `notFound` if the
    ///   writer is already committed or closed.
    public func write(_ bytes: some DataProtocol) throws {
        try state.withLock { state in
            guard !state.finished else {
                throw ImageStoreError(.notFound, "ingest of \(digest) is already committed or closed")
            }
            let newOffset = state.offset + Int64(bytes.count)
            if newOffset > size {
                let error = ImageStoreError(
                    .sizeMismatch,
                    "ingest of \(digest): received at least \(newOffset) bytes, expected \(size); nothing committed")
                discard(&state, reason: error)
                throw error
            }
            for region in bytes.regions {
                try region.withUnsafeBytes { buffer in
                    try Sys.writeAll(state.fd, buffer, partialPath)
                    state.hasher.update(buffer)
                }
            }
            state.offset = newOffset
            signal.publish(offset: newOffset)
        }
    }

    /// Verifies size and digest, makes the blob durable (fsync) and moves it into
    /// `blobs/` with an atomic rename. On a mismatch the partial file is deleted and
    /// nothing is committed.
    /// - Returns: the committed blob's digest and size as a descriptor of `mediaType`.
    /// - Throws: ``ImageStoreError`` `sizeMismatch` or `digestMismatch` naming both values;
    ///   `io` if syncing or renaming fails.
    @discardableResult
    public func commit(mediaType: MediaType = "application/octet-stream") throws -> Descriptor {
        let descriptor = Descriptor(mediaType: mediaType, digest: digest, size: size)
        if alreadyExists { return descriptor }
        try state.withLock { state in
            guard !state.finished else {
                throw ImageStoreError(.notFound, "ingest of \(digest) is already committed or closed")
            }
            guard state.offset == size else {
                let error = ImageStoreError(
                    .sizeMismatch, "ingest of \(digest): received \(state.offset) bytes, expected \(size); nothing committed")
                discard(&state, reason: error)
                throw error
            }
            let actual = state.hasher.finalize()
            guard actual == digest else {
                let error = ImageStoreError(
                    .digestMismatch, "ingest: expected \(digest), content hashes to \(actual); nothing committed")
                discard(&state, reason: error)
                throw error
            }
            try Sys.fsync(state.fd, partialPath)
            Sys.close(state.fd)
            state.finished = true
            do {
                let directory = (blobPath as NSString).deletingLastPathComponent
                try Sys.mkdirs(directory)
                _ = chmod(partialPath, 0o644)
                try Sys.rename(partialPath, blobPath)
                try Sys.fsyncDirectory(directory)
            } catch {
                // Not known to be durable: followers must not commit what they unpacked.
                ingestLock?.release()
                storeLock?.release()
                signal.finish(.closed, offset: state.offset)
                throw error
            }
            state.committed = true
            ingestLock?.unlinkAndRelease()
            storeLock?.release()
            signal.finish(.committed, offset: size)
        }
        return descriptor
    }

    /// Stops writing but keeps the partial file so a later ingest resumes from ``offset``
    /// (an empty one is deleted: there is nothing to resume). Releases the locks. Safe to
    /// call after ``commit(mediaType:)`` (does nothing then).
    public func close() {
        state.withLock { state in
            guard !state.finished else { return }
            Sys.close(state.fd)
            state.finished = true
            if state.offset == 0 {
                _ = unlink(partialPath)
                ingestLock?.unlinkAndRelease()
            } else {
                ingestLock?.release()
            }
            storeLock?.release()
            signal.finish(.closed, offset: state.offset)
        }
    }

    /// Stops writing and deletes the partial file. Releases the locks.
    public func abort() {
        state.withLock { discard(&$0, reason: nil) }
    }

    private func discard(_ state: inout State, reason: ImageStoreError?) {
        guard !state.finished else { return }
        Sys.close(state.fd)
        _ = unlink(partialPath)
        state.finished = true
        ingestLock?.unlinkAndRelease()
        storeLock?.release()
        signal.finish(.discarded(reason), offset: state.offset)
    }

    /// Opens a reader of the blob as it is written, from its first byte.
    /// - Parameter cancellation: stops the reader's waits when cancelled.
    /// - Returns: the follower; it reads the committed blob if the writer already committed.
    /// - Throws: ``ImageStoreError`` `incomplete` if the writer was closed or discarded;
    ///   `io` if the file cannot be opened.
    func follow(cancellation: UnpackCancellation?) throws -> IngestFollower {
        try state.withLock { state in
            let path: String
            if state.committed {
                path = blobPath
            } else if state.finished {
                let (offset, outcome) = signal.current
                throw IngestFollower.failure(outcome, digest: digest, size: size, offset: offset)
                    ?? ImageStoreError(.incomplete, "ingest of \(digest) ended before it was committed; nothing to unpack from")
            } else {
                // The partial exists while the writer is open: only commit (rename) and
                // discard (unlink) remove it, both under this lock.
                path = partialPath
            }
            let fd = try Sys.open(path, O_RDONLY)
            return IngestFollower(digest: digest, size: size, fd: fd, signal: signal, cancellation: cancellation)
        }
    }
}
