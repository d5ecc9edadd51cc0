import Foundation
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// Reads a blob from its ingest while a ``BlobWriter`` is still writing it: the bytes
/// already in the partial file first (a resumed download's prefix included), then each
/// new one as the writer publishes it, waiting in between. Made by ``BlobWriter/follow()``.
///
/// The follower does not hash: the writer hashes every byte it puts in the file, and
/// what the follower read counts only once the writer committed, i.e. once the whole
/// blob verified (``waitUntilCommitted()``). The partial file is the writer's, under its
/// exclusive ingest lock, so the bytes read back are the bytes hashed.
final class IngestFollower {
    /// The blob's digest.
    let digest: Digest
    /// The blob's size: reads end there.
    let size: Int64
    /// Bytes read so far.
    private(set) var position: Int64 = 0
    private let fd: Int32
    private let signal: IngestSignal
    private let cancellation: UnpackCancellation?

    init(digest: Digest, size: Int64, fd: Int32, signal: IngestSignal, cancellation: UnpackCancellation?) {
        self.digest = digest
        self.size = size
        self.fd = fd
        self.signal = signal
        self.cancellation = cancellation
        cancellation?.watch(signal)
    }

    deinit { Sys.close(fd) }

    /// Reads the next bytes, waiting for the writer if it has not written them yet.
    /// - Parameter buffer: where to put them.
    /// - Returns: how many bytes were read; 0 once all ``size`` bytes were read.
    /// - Throws: ``ImageStoreError`` `incomplete` if the ingest was discarded or closed,
    ///   or the unpack was cancelled; `io` if reading fails.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard position < size else { return 0 }
        guard let (offset, outcome) = signal.wait(beyond: position, cancellation: cancellation) else {
            throw cancelledError()
        }
        if let error = Self.failure(outcome, digest: digest, size: size, offset: offset) { throw error }
        let count = Int(min(Int64(buffer.count), offset - position))
        let n = try Sys.retry("read ingest of \(digest)") { pread(fd, buffer.baseAddress, count, off_t(position)) }
        guard n > 0 else {
            throw ImageStoreError(.io, "ingest of \(digest): the partial file ends at byte \(position), the writer reported \(offset)")
        }
        position += Int64(n)
        return n
    }

    /// Waits until the writer ended.
    /// - Throws: ``ImageStoreError`` `incomplete` unless the blob was committed (verified).
    func waitUntilCommitted() throws {
        guard let outcome = signal.waitForOutcome(cancellation: cancellation) else { throw cancelledError() }
        if let error = Self.failure(outcome, digest: digest, size: size, offset: position) { throw error }
    }

    /// The error of following an ingest that ended this way, if it is a failure.
    static func failure(_ outcome: IngestSignal.Outcome, digest: Digest, size: Int64, offset: Int64) -> ImageStoreError? {
        switch outcome {
        case .open, .committed:
            return nil
        case .discarded(let reason):
            return ImageStoreError(
                .incomplete, "layer \(digest): its ingest was discarded; nothing unpacked from it is committed", underlying: reason)
        case .closed:
            return ImageStoreError(
                .incomplete,
                "layer \(digest): its ingest stopped at byte \(offset) of \(size) (download interrupted); nothing unpacked from it is committed")
        }
    }

    private func cancelledError() -> ImageStoreError {
        ImageStoreError(.incomplete, "layer \(digest): unpack cancelled at byte \(position) of \(size)")
    }
}
