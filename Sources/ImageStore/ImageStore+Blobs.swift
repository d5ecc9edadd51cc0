import Foundation
import OCIHashing
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

extension ImageStore {
    /// Whether a committed blob with this digest exists.
    /// - Parameter digest: the blob's digest.
    public func contains(_ digest: Digest) -> Bool {
        Sys.lstat(blobPath(digest)).map { $0.st_mode & Sys.fileTypeMask == Sys.typeRegular } ?? false
    }

    /// Reads a whole blob and checks it against its digest.
    /// - Parameter digest: the blob's digest.
    /// - Returns: the bytes.
    /// - Throws: ``ImageStoreError`` `notFound` if absent, `corrupt` naming both digests if
    ///   the content does not hash to `digest`.
    public func readBlob(_ digest: Digest) throws -> Data {
        let path = blobPath(digest)
        let data: Data
        do {
            data = try Sys.readFile(path)
        } catch let error as ImageStoreError where (error.underlying as? POSIXError)?.code == .ENOENT {
            throw ImageStoreError(.notFound, "blob \(digest) not found in \(root)")
        }
        let actual = Digest.hash(data, algorithm: digest.algorithm)
        guard actual == digest else {
            throw ImageStoreError(.corrupt, "blob \(path) is corrupt: expected \(digest), content hashes to \(actual)")
        }
        return data
    }

    /// Opens a resumable ingest of one blob.
    ///
    /// If another task or process is ingesting the same digest, this waits for it. If the
    /// blob is already committed, the writer has ``BlobWriter/alreadyExists`` set. If a
    /// partial file exists from an earlier attempt (even one killed with SIGKILL), it is
    /// re-hashed and the writer continues at its ``BlobWriter/offset``.
    /// - Parameters:
    ///   - digest: the expected digest.
    ///   - size: the expected size in bytes.
    /// - Returns: the writer; call ``BlobWriter/commit(mediaType:)``, ``BlobWriter/close()``
    ///   or ``BlobWriter/abort()`` on it.
    /// - Throws: ``ImageStoreError`` `sizeMismatch` for a negative size, `io` on failures.
    public func openIngest(digest: Digest, size: Int64) async throws -> BlobWriter {
        try await BlockingIO.run { try self.openIngestBlocking(digest: digest, size: size) }
    }

    func openIngestBlocking(digest: Digest, size: Int64) throws -> BlobWriter {
        guard size >= 0 else {
            throw ImageStoreError(.sizeMismatch, "ingest of \(digest): negative size \(size)")
        }
        let name = Self.encoded(digest)
        let partial = "\(ingestDirectory)/\(name)"
        let target = blobPath(digest)
        guard let storeLock = try StoreLock.acquire(gcLockPath, mode: .shared) else {
            throw ImageStoreError(.locked, "store \(root) is locked")
        }
        let ingestLock: StoreLock
        do {
            guard let lock = try StoreLock.acquire("\(ingestDirectory)/\(name).lock", mode: .exclusive) else {
                throw ImageStoreError(.locked, "ingest of \(digest) is locked")
            }
            ingestLock = lock
        } catch {
            storeLock.release()
            throw error
        }
        if contains(digest) {
            touch(target)
            ingestLock.unlinkAndRelease()
            storeLock.release()
            return BlobWriter(
                digest: digest, size: size, partialPath: partial, blobPath: target, fd: -1,
                hasher: Digest.Hasher(algorithm: digest.algorithm), offset: size, alreadyExists: true,
                ingestLock: nil, storeLock: nil)
        }
        do {
            let fd = try Sys.open(partial, O_RDWR | O_CREAT, 0o600)
            var hasher = Digest.Hasher(algorithm: digest.algorithm)
            var offset: Int64 = 0
            do {
                let existing = Int64(try Sys.fstat(fd, partial).st_size)
                if existing > size {
                    try Sys.retry("truncate \(partial)") { ftruncate(fd, 0) }
                } else if existing > 0 {
                    var buffer = [UInt8](repeating: 0, count: 1 << 16)
                    while offset < existing {
                        let n = try buffer.withUnsafeMutableBytes { try Sys.read(fd, $0, partial) }
                        if n == 0 { break }
                        buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                        offset += Int64(n)
                    }
                }
                _ = lseek(fd, off_t(offset), SEEK_SET)
            } catch {
                Sys.close(fd)
                throw error
            }
            return BlobWriter(
                digest: digest, size: size, partialPath: partial, blobPath: target, fd: fd, hasher: hasher,
                offset: offset, alreadyExists: false, ingestLock: ingestLock, storeLock: storeLock)
        } catch {
            ingestLock.release()
            storeLock.release()
            throw error
        }
    }

    /// Ingests a blob from an async sequence of byte chunks (e.g. an HTTP body), hashing
    /// while writing, then fsync and atomic rename. Resumes a partial ingest: the first
    /// ``BlobWriter/offset`` bytes of the sequence are skipped, as they are already stored.
    /// - Parameters:
    ///   - chunks: the blob's bytes from the start.
    ///   - digest: the expected digest.
    ///   - size: the expected size.
    ///   - mediaType: the media type for the returned descriptor.
    /// - Returns: the blob's descriptor.
    /// - Throws: ``ImageStoreError`` `digestMismatch`/`sizeMismatch` naming both values
    ///   (nothing is committed), `io` on failures, or what the sequence throws (the
    ///   partial is kept for resumption).
    @discardableResult
    public func ingest<S: AsyncSequence>(
        _ chunks: S, digest: Digest, size: Int64, mediaType: MediaType = "application/octet-stream"
    ) async throws -> Descriptor where S.Element: DataProtocol {
        let writer = try await openIngest(digest: digest, size: size)
        if writer.alreadyExists { return Descriptor(mediaType: mediaType, digest: digest, size: size) }
        var skip = writer.offset
        do {
            for try await chunk in chunks {
                if skip > 0 {
                    let drop = Int(min(skip, Int64(chunk.count)))
                    skip -= Int64(drop)
                    if drop < chunk.count { try writer.write(chunk.dropFirst(drop)) }
                    continue
                }
                try writer.write(chunk)
            }
        } catch {
            writer.close()
            throw error
        }
        return try await BlockingIO.run { try writer.commit(mediaType: mediaType) }
    }

    /// Ingests a blob from an async sequence of single bytes (e.g. `FileHandle.bytes`),
    /// batching them into 64 KiB writes. See ``ingest(_:digest:size:mediaType:)-(S,_,_,_)``.
    /// - Parameters:
    ///   - bytes: the blob's bytes from the start.
    ///   - digest: the expected digest.
    ///   - size: the expected size.
    ///   - mediaType: the media type for the returned descriptor.
    /// - Returns: the blob's descriptor.
    /// - Throws: as the chunked variant.
    @discardableResult
    public func ingest<S: AsyncSequence>(
        bytes: S, digest: Digest, size: Int64, mediaType: MediaType = "application/octet-stream"
    ) async throws -> Descriptor where S.Element == UInt8 {
        try await ingest(ByteBatches(base: bytes), digest: digest, size: size, mediaType: mediaType)
    }

    /// Ingests a blob held in memory.
    /// - Parameters:
    ///   - data: the blob.
    ///   - digest: the expected digest; the data's sha256 if nil (for content this process made).
    ///   - size: the expected size; `data.count` if nil.
    ///   - mediaType: the media type for the returned descriptor.
    /// - Returns: the blob's descriptor.
    /// - Throws: ``ImageStoreError`` `digestMismatch`/`sizeMismatch` naming both values.
    @discardableResult
    public func ingest(
        data: some DataProtocol & Sendable, digest: Digest? = nil, size: Int64? = nil,
        mediaType: MediaType = "application/octet-stream"
    ) async throws -> Descriptor {
        let digest = digest ?? Digest.sha256(of: data)
        return try await BlockingIO.run {
            try self.ingestBlocking(data: data, digest: digest, size: size ?? Int64(data.count), mediaType: mediaType)
        }
    }

    func ingestBlocking(data: some DataProtocol, digest: Digest, size: Int64, mediaType: MediaType) throws -> Descriptor {
        let writer = try openIngestBlocking(digest: digest, size: size)
        if writer.alreadyExists { return Descriptor(mediaType: mediaType, digest: digest, size: size) }
        do {
            if writer.offset > 0 {
                writer.abort()
                return try ingestBlocking(data: data, digest: digest, size: size, mediaType: mediaType)
            }
            try writer.write(data)
            return try writer.commit(mediaType: mediaType)
        } catch {
            writer.abort()
            throw error
        }
    }

    /// Ingests a blob from a file, copying it into the store (the source is left alone).
    /// - Parameters:
    ///   - path: the file to read.
    ///   - digest: the expected digest.
    ///   - size: the expected size; the file's size if nil.
    ///   - mediaType: the media type for the returned descriptor.
    /// - Returns: the blob's descriptor.
    /// - Throws: ``ImageStoreError`` `digestMismatch`/`sizeMismatch` naming both values,
    ///   `io` if the file cannot be read.
    @discardableResult
    public func ingest(
        contentsOf path: String, digest: Digest, size: Int64? = nil, mediaType: MediaType = "application/octet-stream"
    ) async throws -> Descriptor {
        try await BlockingIO.run {
            try self.ingestFileBlocking(path, digest: digest, size: size, mediaType: mediaType)
        }
    }

    func ingestFileBlocking(_ path: String, digest: Digest, size: Int64?, mediaType: MediaType) throws -> Descriptor {
        let fd = try Sys.open(path, O_RDONLY)
        defer { Sys.close(fd) }
        let expectedSize = try size ?? Int64(Sys.fstat(fd, path).st_size)
        let writer = try openIngestBlocking(digest: digest, size: expectedSize)
        if writer.alreadyExists { return Descriptor(mediaType: mediaType, digest: digest, size: expectedSize) }
        do {
            _ = lseek(fd, off_t(writer.offset), SEEK_SET)
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try Sys.read(fd, $0, path) }
                if n == 0 { break }
                try writer.write(buffer[0..<n])
            }
            return try writer.commit(mediaType: mediaType)
        } catch let error as ImageStoreError where error.code == .io {
            writer.close()
            throw error
        } catch {
            writer.abort()
            throw error
        }
    }

    /// Writes a document this process created (config, manifest, index) as a blob.
    func putDocument(_ data: Data, mediaType: MediaType) throws -> Descriptor {
        try ingestBlocking(data: data, digest: Digest.sha256(of: data), size: Int64(data.count), mediaType: mediaType)
    }
}

/// Groups an async sequence of bytes into 64 KiB chunks.
struct ByteBatches<Base: AsyncSequence>: AsyncSequence where Base.Element == UInt8 {
    typealias Element = [UInt8]
    let base: Base

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var done = false

        mutating func next() async throws -> [UInt8]? {
            guard !done else { return nil }
            var batch: [UInt8] = []
            batch.reserveCapacity(1 << 16)
            while batch.count < 1 << 16 {
                guard let byte = try await base.next() else {
                    done = true
                    break
                }
                batch.append(byte)
            }
            return batch.isEmpty ? nil : batch
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator()) }
}
