import Foundation

/// How far an ingest has got, published by its ``BlobWriter`` for the readers that
/// follow the partial file as it grows (``IngestFollower``): the bytes written so far and
/// how the ingest ended.
///
/// Separate from the writer's own lock so that a reader waiting here never holds a lock
/// the writer needs: the writer publishes after each write and when it ends; readers
/// block on the condition until there is something new.
final class IngestSignal: @unchecked Sendable {
    /// How an ingest ended (or that it has not yet).
    enum Outcome: Sendable {
        /// Still being written.
        case open
        /// Size and digest verified; the blob is in `blobs/`.
        case committed
        /// Discarded (digest or size mismatch, or aborted); the partial file is gone.
        case discarded(ImageStoreError?)
        /// Closed before the end; the partial file stays for a later resume.
        case closed

        var isOpen: Bool {
            if case .open = self { return true }
            return false
        }
    }

    // Every stored property below is guarded by `condition` (hence @unchecked Sendable).
    private let condition = NSCondition()
    private var offset: Int64
    private var outcome: Outcome

    init(offset: Int64, outcome: Outcome) {
        self.offset = offset
        self.outcome = outcome
    }

    /// Publishes that the first `offset` bytes are in the file.
    func publish(offset: Int64) {
        condition.lock()
        self.offset = offset
        condition.broadcast()
        condition.unlock()
    }

    /// Publishes how the ingest ended.
    func finish(_ outcome: Outcome, offset: Int64) {
        condition.lock()
        self.outcome = outcome
        self.offset = offset
        condition.broadcast()
        condition.unlock()
    }

    /// How the ingest ended so far, and the bytes published.
    var current: (offset: Int64, outcome: Outcome) {
        condition.lock()
        defer { condition.unlock() }
        return (offset, outcome)
    }

    /// Wakes every waiter so that it re-checks its cancellation.
    func interrupt() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until more than `position` bytes are published or the ingest ended.
    /// - Parameters:
    ///   - position: the bytes the caller has already read.
    ///   - cancellation: stops the wait when cancelled.
    /// - Returns: the published offset and outcome, or nil if cancelled.
    func wait(beyond position: Int64, cancellation: UnpackCancellation?) -> (offset: Int64, outcome: Outcome)? {
        condition.lock()
        defer { condition.unlock() }
        while offset <= position && outcome.isOpen {
            if cancellation?.isCancelled == true { return nil }
            condition.wait()
        }
        if cancellation?.isCancelled == true { return nil }
        return (offset, outcome)
    }

    /// Waits until the ingest ended.
    /// - Parameter cancellation: stops the wait when cancelled.
    /// - Returns: the outcome, or nil if cancelled.
    func waitForOutcome(cancellation: UnpackCancellation?) -> Outcome? {
        condition.lock()
        defer { condition.unlock() }
        while outcome.isOpen {
            if cancellation?.isCancelled == true { return nil }
            condition.wait()
        }
        return outcome
    }
}
