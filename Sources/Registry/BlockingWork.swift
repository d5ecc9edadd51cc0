import Dispatch

/// Runs blocking work (reading files, waiting for a credential helper) off Swift's
/// cooperative thread pool, on Dispatch's global queue.
enum BlockingWork {
    /// Runs `body` on a Dispatch worker thread and returns its result.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
