import Synchronization

/// Carries a task's cancellation to the thread unpacking for it: the unpack runs off the
/// cooperative pool (``BlockingIO``), where `Task.isCancelled` cannot be seen, so the
/// task's cancellation handler sets this flag and wakes the unpack if it is waiting for
/// an ingest to grow.
final class UnpackCancellation: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let watched = Mutex<IngestSignal?>(nil)

    /// Whether the task was cancelled.
    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// Sets the flag and wakes a reader waiting on the watched ingest.
    func cancel() {
        cancelled.store(true, ordering: .releasing)
        watched.withLock { $0 }?.interrupt()
    }

    /// Wakes waiters of `signal` on cancellation (a reader waits there for bytes).
    func watch(_ signal: IngestSignal) {
        watched.withLock { $0 = signal }
        if isCancelled { signal.interrupt() }
    }
}
