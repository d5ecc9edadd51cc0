import Dispatch

/// Runs blocking filesystem work (fsync, flock waits, whole-layer unpacks, tree walks)
/// off Swift's cooperative thread pool, on Dispatch's global queue.
enum BlockingIO {
    /// Runs `body` on a Dispatch worker thread and returns its result.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
