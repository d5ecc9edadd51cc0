import Glibc
import Synchronization

/// Runs async code on the calling thread, as a task executor that this thread drains.
///
/// A CLI process lives for one command. With an `async` main, Swift hands that command to
/// its cooperative thread pool (a thread created, the main thread parked, two hops), which
/// cost about 0.4 ms of CPU and 1 ms of wall time per run here — three times per container
/// under podman. Here the command's task prefers this executor, so its jobs (and those of
/// the nonisolated async functions it calls) run on the main thread; a job resumed from
/// another thread (Sandbox's event thread) is queued and this thread picks it up.
package final class CurrentThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let queue = Mutex<(jobs: [UnownedJob], done: Bool)>(([], false))
    /// A byte per enqueue (and one for the finish): this thread sleeps in read(2) on the
    /// read end when idle. The write end is non-blocking: a full pipe already wakes it.
    private let wakeRead: Int32, wakeWrite: Int32

    package init() {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "caisson: pipe: \(String(cString: strerror(errno)))")
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        (wakeRead, wakeWrite) = (fds[0], fds[1])
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.withLock { $0.jobs.append(job) }
        wake()
    }

    /// Runs `operation` to completion on this thread.
    package func run<T: Sendable>(_ operation: @escaping @Sendable () async -> T) -> T {
        let result = Mutex<T?>(nil)
        queue.withLock { $0.done = false }
        Task(executorPreference: self) {
            let value = await operation()
            result.withLock { $0 = value }
            self.queue.withLock { $0.done = true }
            self.wake()
        }
        drain()
        return result.withLock { $0 }!
    }

    private func drain() {
        while true {
            let (jobs, done) = queue.withLock { state -> ([UnownedJob], Bool) in
                defer { state.jobs.removeAll(keepingCapacity: true) }
                return (state.jobs, state.done)
            }
            for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
            if done && jobs.isEmpty { return }
            if jobs.isEmpty {
                // Every enqueue writes after queueing, so no wakeup is lost.
                var bytes = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &bytes, bytes.count) < 0 && errno == EINTR {}
            }
        }
    }

    private func wake() {
        var one: UInt8 = 1
        while write(wakeWrite, &one, 1) < 0 && errno == EINTR {}
    }
}
