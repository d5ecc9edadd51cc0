import ImageStore
import OCISpec
import Synchronization

/// Hands each layer's ingest from the task downloading it to the task unpacking it
/// during a pull that unpacks: the download opens the ``BlobWriter`` and offers it here
/// before writing, and the unpack waits here for the writer of the layer it is at.
final class IngestHandoff: Sendable {
    private enum Slot {
        case ready(BlobWriter)
        case failed(any Error)
        case awaited(CheckedContinuation<BlobWriter, any Error>)
    }

    private let slots = Mutex<[Digest: Slot]>([:])

    /// Offers the writer of a blob (open, committed or already stored). The slot keeps it,
    /// so a blob used by two layers is handed out twice.
    func offer(_ writer: BlobWriter) {
        settle(writer.digest, .success(writer))
    }

    /// Records that the download of `digest` failed before it had a writer.
    func fail(_ digest: Digest, _ error: any Error) {
        settle(digest, .failure(error))
    }

    private func settle(_ digest: Digest, _ result: Result<BlobWriter, any Error>) {
        let waiter: CheckedContinuation<BlobWriter, any Error>? = slots.withLock { slots in
            let previous = slots[digest]
            switch result {
            case .success(let writer): slots[digest] = .ready(writer)
            case .failure(let error): slots[digest] = .failed(error)
            }
            if case .awaited(let continuation) = previous { return continuation }
            return nil
        }
        waiter?.resume(with: result)
    }

    /// The writer of a blob, waiting until its download opened it.
    /// - Parameter digest: the blob.
    /// - Returns: the writer.
    /// - Throws: what the download threw before it had a writer; `CancellationError` if
    ///   the calling task is cancelled while waiting.
    func writer(for digest: Digest) async throws -> BlobWriter {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<BlobWriter, any Error>) in
                let settled: Result<BlobWriter, any Error>? = slots.withLock { slots in
                    switch slots[digest] {
                    case .ready(let writer): return .success(writer)
                    case .failed(let error): return .failure(error)
                    case .awaited:
                        return .failure(RegistryError(.invalidConfiguration, "blob \(digest): its ingest is already awaited"))
                    case nil:
                        // Checked under the lock that the cancellation handler takes: either
                        // the handler finds this continuation, or this sees the cancellation.
                        if Task.isCancelled { return .failure(CancellationError()) }
                        slots[digest] = .awaited(continuation)
                        return nil
                    }
                }
                if let settled { continuation.resume(with: settled) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<BlobWriter, any Error>? = slots.withLock { slots in
                guard case .awaited(let continuation) = slots[digest] else { return nil }
                slots[digest] = nil
                return continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
