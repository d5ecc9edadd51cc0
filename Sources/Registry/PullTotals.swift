import Synchronization

/// Running totals of one pull, shared by its concurrent blob downloads.
final class PullTotals: Sendable {
    /// A snapshot of the totals.
    struct Snapshot: Sendable {
        var total: Int64
        var completed: Int64 = 0
        var downloaded: Int64 = 0
        var reused = 0
    }

    private let state: Mutex<Snapshot>

    init(total: Int64) { state = Mutex(Snapshot(total: total)) }

    /// Adds to the totals and returns them.
    func record(completed: Int64, downloaded: Int64, reused: Bool) -> Snapshot {
        state.withLock { totals in
            totals.completed += completed
            totals.downloaded += downloaded
            if reused { totals.reused += 1 }
            return totals
        }
    }

    var snapshot: Snapshot { state.withLock { $0 } }
}
