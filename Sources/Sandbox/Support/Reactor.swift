import _CSandbox
import Glibc
import Synchronization
import SystemPackage

/// One thread, one epoll instance: waits for fds (pidfds, sync sockets, pipes) to become
/// readable and resumes the tasks that wait for them.
///
/// Blocking waits never run on Swift's cooperative pool, and no thread is held per
/// container: a thousand containers waiting for exit cost one thread.
final class Reactor: Sendable {
    /// The process-wide reactor, started on first use.
    static let shared: Reactor = {
        do {
            return try Reactor()
        } catch {
            // epoll_create1/eventfd fail only when the process is out of fds at startup.
            fatalError("caisson: cannot start the event thread: \(error)")
        }
    }()

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let epoll: Int32
    private let waiters = Mutex<(next: UInt64, byFD: [Int32: Waiter])>((1, [:]))

    private init() throws(Errno) {
        epoll = try negErrno(csb_epoll_create())
        let thread = Thread(self)
        thread.start()
    }

    /// Suspends until `fd` is readable (or hung up). One waiter per fd at a time.
    /// - Throws: `CancellationError` if the task is cancelled, `Errno` if epoll refuses the fd.
    func waitReadable(_ fd: Int32) async throws {
        let id = waiters.withLock { state -> UInt64 in
            defer { state.next += 1 }
            return state.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let failure: Errno? = waiters.withLock { state in
                    let r = csb_epoll_arm(epoll, fd)
                    if r < 0 { return Errno(rawValue: -r) }
                    state.byFD[fd] = Waiter(id: id, continuation: continuation)
                    return nil
                }
                if let failure { continuation.resume(throwing: failure) }
            }
        } onCancel: {
            let waiter = waiters.withLock { state -> Waiter? in
                guard let waiter = state.byFD[fd], waiter.id == id else { return nil }
                state.byFD[fd] = nil
                _ = csb_epoll_remove(epoll, fd)
                return waiter
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Forgets `fd` before the caller closes it.
    func forget(_ fd: Int32) {
        waiters.withLock { state in
            _ = csb_epoll_remove(epoll, fd)
            if let waiter = state.byFD.removeValue(forKey: fd) {
                waiter.continuation.resume(throwing: CancellationError())
            }
        }
    }

    fileprivate func run() {
        var ready = [Int32](repeating: -1, count: 64)
        while true {
            let n = ready.withUnsafeMutableBufferPointer { csb_epoll_wait(epoll, $0.baseAddress!, 64) }
            if n < 0 { continue }  // EINTR
            for i in 0..<Int(n) {
                let fd = ready[i]
                let waiter = waiters.withLock { state -> Waiter? in
                    // ONESHOT disarmed it; remove so the fd can be closed and reused freely.
                    _ = csb_epoll_remove(epoll, fd)
                    return state.byFD.removeValue(forKey: fd)
                }
                waiter?.continuation.resume()
            }
        }
    }

    /// The reactor's thread (a plain pthread, outside the cooperative pool).
    private final class Thread: @unchecked Sendable {
        let reactor: Reactor
        init(_ reactor: Reactor) { self.reactor = reactor }

        func start() {
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setstacksize(&attributes, 256 * 1024)
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            pthread_create(&thread, &attributes, { context in
                let me = Unmanaged<Thread>.fromOpaque(context!).takeRetainedValue()
                me.reactor.run()
                return nil
            }, context)
            pthread_attr_destroy(&attributes)
            pthread_detach(thread)
        }
    }
}
