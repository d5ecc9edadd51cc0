/// A lock that async tests hold across suites: one holder at a time, waiters served in
/// order. The Sandbox, Network and engine tests use one each, because their leak checks
/// look at the whole process (children, fds, mounts) and must not see another test's.
public actor AsyncTestLock {
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Creates an unheld lock.
    public init() {}

    /// Waits until the lock is free and takes it.
    public func acquire() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Hands the lock to the next waiter, or frees it.
    public func release() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
