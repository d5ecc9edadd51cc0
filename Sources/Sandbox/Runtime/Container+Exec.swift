import _CSandbox
import Glibc
import OCISpec
import Synchronization
import SystemPackage

/// A process started inside a running container with ``Container/exec(_:stdio:)``.
public final class ExecProcess: Sendable {
    /// The process's pid (in the host's pid namespace).
    public let pid: Int32
    /// The host ends of the process's stdio pipes.
    public let io: ContainerIO
    private let pidfd: Int32
    private let exit: Mutex<Task<TerminationStatus, any Error>?>

    init(pid: Int32, pidfd: Int32, io: ContainerIO) {
        self.pid = pid
        self.pidfd = pidfd
        self.io = io
        self.exit = Mutex(nil)
    }

    deinit { close(pidfd) }

    /// Waits for the process to end.
    /// - Returns: its exit status.
    public func wait() async throws -> TerminationStatus {
        let task = exit.withLock { task -> Task<TerminationStatus, any Error> in
            if let task { return task }
            let fd = pidfd
            let new = Task { try await reapPidfd(fd) }
            task = new
            return new
        }
        return try await task.value
    }

    /// Sends a signal to the process.
    /// - Throws: ``SandboxError`` if the process is gone.
    public func kill(_ signal: Signal = .term) throws {
        let r = csb_pidfd_send_signal(pidfd, signal.rawValue)
        if r < 0 { throw SandboxError(.invalidState, "exec process \(pid): sending \(signal.name)", errno: Errno(rawValue: -r)) }
    }
}

/// Waits on a pidfd of our own child and reaps it.
func reapPidfd(_ pidfd: Int32) async throws -> TerminationStatus {
    while true {
        var code: Int32 = 0, signal: Int32 = 0
        let reaped = csb_pidfd_reap(pidfd, 1, &code, &signal)
        if reaped == 1 {
            if signal != 0, let value = Signal(rawValue: signal) { return .signaled(value) }
            return .exited(code)
        }
        if reaped < 0 { return .unknown }
        try await Reactor.shared.waitReadable(pidfd)
    }
}

extension Container {
    /// Runs a new process inside the running container (runc `exec`).
    ///
    /// The process joins every namespace of the container and its cgroup, and gets its own
    /// user, capabilities, environment, cwd and rlimits from `process`; the container's
    /// seccomp profile applies to it as well.
    /// - Parameters:
    ///   - process: the process to run (an OCI process spec).
    ///   - stdio: where its streams go.
    /// - Returns: the running process.
    /// - Throws: ``SandboxError`` if the container is not running or the process cannot start.
    public func exec(_ process: RuntimeSpec.Process, stdio: Stdio = Stdio()) async throws -> ExecProcess {
        guard status() == .running else {
            throw SandboxError(.invalidState, "container \"\(id)\" is \(status().rawValue), not running: cannot exec into it")
        }
        // The whole spec, or an error: joining the namespaces of a partial one would be wrong.
        let containerSpec = try record.loadSpec()
        let namespaces = (containerSpec.linux?.namespaces ?? []).filter { namespace in
            // A time namespace cannot be joined by a process sharing its parent's memory
            // (the kernel wants a single-threaded mm); its clocks are still the container's
            // through the pid namespace's children only. Refuse rather than half-join.
            namespace.type != .time
        }
        if (containerSpec.linux?.namespaces ?? []).contains(where: { $0.type == .time }) {
            throw SandboxError(.unsupported, "container \"\(id)\": exec into a container with a time namespace is not supported")
        }
        var spec = containerSpec
        spec.process = process
        var builder = PlanBuilder(spec: spec, process: process, mode: .exec(containerPID: record.pid, namespaces: namespaces))
        builder.seccompCache = SeccompCache(stateRoot: runtime.stateRoot)
        let prepared = try stdio.prepare()
        defer { for fd in prepared.ownedChildFDs { close(fd) } }
        let spawned = try await Spawner.spawn(
            containerID: id, builder: builder, stdio: prepared.childFDs, extraFiles: stdio.extraFiles,
            fifo: nil, setup: .init(cgroups: record.cgroups, oomScoreAdj: process.oomScoreAdj))
        do {
            try await spawned.waitForExec(containerID: id)
        } catch {
            _ = killAndReap(spawned)
            throw error
        }
        let pidfd = spawned.pidfd
        spawned.pidfd = -1  // the ExecProcess owns it now
        var io = prepared.io
        if let master = spawned.ptyMaster {
            io.terminal = Terminal(fd: master)
            spawned.ptyMaster = nil
        }
        return ExecProcess(pid: spawned.pid, pidfd: pidfd, io: io)
    }
}
