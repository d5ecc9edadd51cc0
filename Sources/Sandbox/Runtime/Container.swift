import _CSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import OCISpec
import Synchronization
import SystemPackage

/// A handle to one container under a runtime's state root.
///
/// A handle from ``Runtime/create(id:bundle:options:)`` owns the container's process
/// (it can report its exit status); one from ``Runtime/container(id:)`` can observe,
/// signal, start and delete it, as the `caisson` CLI does.
public final class Container: Sendable {
    /// The container id.
    public let id: String
    /// The host ends of the container's stdio pipes and terminal.
    public let io: ContainerIO
    let runtime: Runtime
    let record: ContainerRecord

    private struct Inner {
        var spawned: SpawnedProcess?
        var exit: Task<TerminationStatus, any Error>?
    }
    private let inner: Mutex<Inner>

    /// The process this handle spawned (nil for a handle opened by id); tests read how it
    /// was cloned.
    var spawnedProcess: SpawnedProcess? { inner.withLock { $0.spawned } }

    init(runtime: Runtime, record: ContainerRecord, spawned: SpawnedProcess?, io: ContainerIO) {
        self.id = record.id
        self.io = io
        self.runtime = runtime
        self.record = record
        self.inner = Mutex(Inner(spawned: spawned, exit: nil))
    }

    /// The pid of the container's process (in the host's pid namespace).
    public var pid: Int32 { record.pid }
    /// The bundle directory.
    public var bundle: String { record.bundle }
    /// The runtime spec the container was created from.
    public var spec: RuntimeSpec { record.spec }

    private var paths: ContainerRecord.Paths { ContainerRecord.paths(stateRoot: runtime.stateRoot, id: id) }

    // MARK: State

    /// The container's state as the runtime spec defines it (`created`, `running`, `stopped`).
    public func state() -> ContainerState {
        let status = status()
        return ContainerState(
            ociVersion: record.ociVersion, id: id, status: status,
            pid: status == .stopped ? nil : record.pid, bundle: record.bundle,
            annotations: record.annotations)
    }

    /// The current status, read live from /proc and the state directory.
    public func status() -> ContainerState.Status {
        guard isAlive() else { return .stopped }
        if pathExists(paths.fifo) { return .created }
        return record.cgroups?.isFrozen == true ? .paused : .running
    }

    /// Whether the recorded process still exists (same pid and start time, not a zombie).
    func isAlive() -> Bool {
        guard let stat = ProcStat.stat(record.pid), stat.startTime == record.pidStartTime else { return false }
        return stat.state != "Z" && stat.state != "X"
    }

    /// A pidfd for the container's process, checked against the recorded start time so a
    /// reused pid is never signalled.
    private func openPidfd() -> Int32? {
        if let own = inner.withLock({ $0.spawned?.pidfd }) { return dup(own) }
        let fd = csb_pidfd_open(record.pid, 0)
        guard fd >= 0 else { return nil }
        guard let stat = ProcStat.stat(record.pid), stat.startTime == record.pidStartTime else {
            close(fd)
            return nil
        }
        return fd
    }

    // MARK: Lifecycle

    /// Starts the container's process (runtime-spec `start`).
    ///
    /// When this handle created the container, `start` returns once the process has
    /// exec'd, and throws if execve failed.
    /// - Throws: ``SandboxError`` `invalidState` unless the container is `created`.
    public func start() async throws {
        guard status() == .created else {
            throw SandboxError(.invalidState, "container \"\(id)\" is \(status().rawValue), not created: cannot start it")
        }
        let fd = open(paths.fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw SandboxError(.invalidState, "container \"\(id)\": cannot open \(paths.fifo); is it already started?", errno: Errno(rawValue: Glibc.errno))
        }
        var byte: UInt8 = 0
        let written = write(fd, &byte, 1)
        let writeError = Glibc.errno
        close(fd)
        guard written == 1 else {
            throw SandboxError(.system, "container \"\(id)\": writing \(paths.fifo)", errno: Errno(rawValue: writeError))
        }
        unlink(paths.fifo)
        if let spawned = inner.withLock({ $0.spawned }) {
            try await spawned.waitForExec(containerID: id)
        }
        await Hooks.runLogging(.poststart, spec: record.hookSpec, id: id, status: .running, pid: record.pid,
                               bundle: record.bundle, runtime: runtime)
    }

    /// Sends a signal to the container's process, or to every process in it.
    /// - Parameters:
    ///   - signal: the signal (default SIGTERM).
    ///   - all: send it to every process of the container's cgroup (runc's `kill --all`).
    /// - Throws: ``SandboxError`` `invalidState` if the container is stopped.
    public func kill(_ signal: Signal = .term, all: Bool = false) throws {
        guard isAlive(), let pidfd = openPidfd() else {
            throw SandboxError(.invalidState, "container \"\(id)\" is not running: cannot send \(signal.name)")
        }
        defer { close(pidfd) }
        let r = csb_pidfd_send_signal(pidfd, signal.rawValue)
        if r < 0 && r != -ESRCH {
            throw SandboxError(.system, "container \"\(id)\": sending \(signal.name)", errno: Errno(rawValue: -r))
        }
        if all, let cgroups = record.cgroups {
            for pid in cgroups.pids() where pid != record.pid { Glibc.kill(pid, signal.rawValue) }
        }
    }

    /// Waits for the container's process to end.
    /// - Returns: its exit status; ``TerminationStatus/unknown`` when another process collected it.
    /// - Throws: `CancellationError` if the waiting task is cancelled.
    public func wait() async throws -> TerminationStatus {
        let task = inner.withLock { state -> Task<TerminationStatus, any Error> in
            if let task = state.exit { return task }
            let spawned = state.spawned
            let task = Task { [self] in try await self.waitForExit(spawned: spawned) }
            state.exit = task
            return task
        }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            // Only this waiter goes away; the shared exit task keeps watching.
        }
    }

    private func waitForExit(spawned: SpawnedProcess?) async throws -> TerminationStatus {
        guard let pidfd = spawned.map({ dup($0.pidfd) }) ?? openPidfd() else { return .unknown }
        defer {
            Reactor.shared.forget(pidfd)
            close(pidfd)
        }
        while true {
            var code: Int32 = 0, signal: Int32 = 0
            let reaped = csb_pidfd_reap(pidfd, 1, &code, &signal)
            if reaped == 1 {
                if signal != 0, let value = Signal(rawValue: signal) { return .signaled(value) }
                return .exited(code)
            }
            // ECHILD: not our child (created by another process); readable means it is gone.
            if reaped < 0 && !isAlive() { return .unknown }
            try await Reactor.shared.waitReadable(pidfd)
            if reaped < 0 { return .unknown }
        }
    }

    /// Deletes the container: its cgroup and state directory (runtime-spec `delete`).
    /// - Parameter force: kill the container first if it is running (runc's `delete --force`).
    /// - Throws: ``SandboxError`` `invalidState` if it is running and `force` is false.
    public func delete(force: Bool = false) async throws {
        let status = status()
        if (status == .running || status == .paused) && !force {
            throw SandboxError(.invalidState, "container \"\(id)\" is running: stop it or delete with force")
        }
        if status != .stopped {
            // A created container is killed, as runc does; a running one only with force.
            if let pidfd = openPidfd() {
                _ = csb_pidfd_send_signal(pidfd, SIGKILL)
                close(pidfd)
            }
            if let cgroups = record.cgroups {
                if !cgroups.killAllV2() {
                    for pid in cgroups.pids() { Glibc.kill(pid, SIGKILL) }
                }
                // A v1-frozen task does not die until thawed.
                if let freezer = cgroups.freezer, cgroups.isFrozen(using: freezer) {
                    try await cgroups.setFrozen(false, using: freezer)
                }
            }
        }
        _ = try await wait()
        let spawned = inner.withLock { state -> SpawnedProcess? in
            defer { state.spawned = nil }
            return state.spawned
        }
        if let spawned {
            spawned.releasePlan()
            close(spawned.pidfd)
            spawned.pidfd = -1
        }
        if let cgroups = record.cgroups {
            // Processes outside a pid namespace may outlive the init: kill them too.
            var attempts = 0
            while !cgroups.pids().isEmpty && attempts < 500 {
                if !cgroups.killAllV2() {
                    for pid in cgroups.pids() { Glibc.kill(pid, SIGKILL) }
                }
                try? await Task.sleep(for: .milliseconds(2))  // not usleep: this is the cooperative pool
                attempts += 1
            }
            let left = cgroups.remove()
            if !left.isEmpty {
                throw SandboxError(.system, "container \"\(id)\": cannot remove cgroup \(left.joined(separator: ", "))")
            }
            CgroupParents(stateRoot: runtime.stateRoot).removeEmptyAncestors(of: cgroups.directories.map(\.path))
        }
        do {
            try FileManager.default.removeItem(atPath: paths.directory)
        } catch {
            throw SandboxError(.system, "container \"\(id)\": removing \(paths.directory): \(error)")
        }
        // After the container is gone, before delete returns (runtime-spec lifecycle step 13).
        await Hooks.runLogging(.poststop, spec: record.hookSpec, id: id, status: .stopped, pid: nil,
                               bundle: record.bundle, runtime: runtime)
    }
}
