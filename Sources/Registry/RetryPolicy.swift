/// How often and how patiently a failed request is retried: on dropped connections,
/// HTTP 5xx and 429, with exponential backoff that honours `Retry-After`.
public struct RetryPolicy: Hashable, Sendable {
    /// The total number of attempts, the first included; `1` means no retry.
    public var maxAttempts: Int
    /// The wait before the first retry.
    public var initialDelay: Duration
    /// The longest wait between two attempts (also caps `Retry-After`).
    public var maxDelay: Duration
    /// The factor by which the wait grows after each failed attempt.
    public var multiplier: Double

    /// Creates a policy.
    /// - Parameters:
    ///   - maxAttempts: total attempts, at least 1.
    ///   - initialDelay: the wait before the first retry.
    ///   - maxDelay: the longest wait.
    ///   - multiplier: the growth factor of the wait.
    public init(
        maxAttempts: Int = 5, initialDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(20),
        multiplier: Double = 2
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = max(1, multiplier)
    }

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait before retry number `retry` (1 for the first retry).
    /// - Parameters:
    ///   - retry: which retry this is, starting at 1.
    ///   - retryAfter: the server's `Retry-After`, if it sent one; it wins over the
    ///     computed backoff but is capped at ``maxDelay``.
    /// - Returns: how long to sleep.
    public func delay(beforeRetry retry: Int, retryAfter: Duration? = nil) -> Duration {
        if let retryAfter { return min(max(retryAfter, .zero), maxDelay) }
        var delay = initialDelay
        var step = 1
        while step < retry, delay < maxDelay {
            delay = delay * multiplier
            step += 1
        }
        return min(delay, maxDelay)
    }
}
