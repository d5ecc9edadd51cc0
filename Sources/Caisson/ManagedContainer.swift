import Foundation
import Logging

/// A container made from an image by an ``Engine``: the Sandbox container plus what the
/// engine knows about it (its image, its root filesystem in the store, its stop policy).
///
/// ```swift
/// let container = try await engine.create(image: "busybox", configuration: .init(command: ["sleep", "60"]))
/// try await container.start()
/// let output = try await container.run(["cat", "/etc/hostname"])
/// _ = try await container.stop()
/// try await container.remove()
/// ```
public final class ManagedContainer: Sendable {
    /// The Sandbox container (its process, state and streams).
    public let sandbox: Container
    let engine: Engine
    let rootfsKey: String
    let logger: Logger

    init(engine: Engine, sandbox: Container, rootfsKey: String, logger: Logger) {
        self.engine = engine
        self.sandbox = sandbox
        self.rootfsKey = rootfsKey
        self.logger = logger
    }

    /// The container id.
    public var id: String { sandbox.id }
    /// The pid of the container's first process, in the host's pid namespace.
    public var pid: Int32 { sandbox.pid }
    /// The host ends of the container's pipes or terminal (what ``ContainerConfiguration/stdio`` asked for).
    public var io: ContainerIO { sandbox.io }
    /// The runtime spec the container runs with.
    public var spec: RuntimeSpec { sandbox.spec }
    /// The image the container was made from.
    public var image: String { sandbox.spec.annotations?[EngineAnnotations.imageName] ?? "" }
    /// The container's root filesystem (an overlay mount in the image store; rootless, the
    /// directory it is mounted on inside the container's own mount namespace).
    public var rootfs: String { sandbox.spec.root?.path ?? "" }

    /// The signal ``stop(timeout:)`` sends first: the configured or image `StopSignal`, else SIGTERM.
    public var stopSignal: Signal {
        sandbox.spec.annotations?[ImageAnnotations.stopSignal].flatMap { Signal(parsing: $0) } ?? .term
    }

    /// How long ``stop(timeout:)`` waits for the stop signal to work before SIGKILL.
    public var stopTimeout: Duration {
        let milliseconds = sandbox.spec.annotations?[EngineAnnotations.stopTimeout].flatMap { Int64($0) } ?? 10_000
        return .milliseconds(milliseconds)
    }

    /// `created`, `running` or `stopped`, read live.
    public func status() -> ContainerState.Status { sandbox.status() }

    /// Starts the container's process; returns once it has exec'd the image's program.
    /// - Throws: `SandboxError` if it is not `created` or the exec failed (e.g. no such program in the image).
    public func start() async throws {
        try await sandbox.start()
        logger.debug("started container")
    }

    /// Waits for the container's process to end.
    /// - Returns: how it ended; `TerminationStatus.unknown` if another process collected it.
    public func wait() async throws -> TerminationStatus {
        try await sandbox.wait()
    }

    /// Sends a signal to the container's first process, or to all its processes.
    /// - Parameters:
    ///   - signal: the signal.
    ///   - all: send it to every process in the container's cgroup.
    /// - Throws: `SandboxError` `invalidState` if the container is not running.
    public func kill(_ signal: Signal, all: Bool = false) throws {
        try sandbox.kill(signal, all: all)
    }

    /// Stops the container as `docker stop` does: its stop signal to the first process,
    /// then, if it is still running after the grace period, SIGKILL to every process.
    /// - Parameter timeout: the grace period; ``stopTimeout`` by default.
    /// - Returns: how the container ended (what ``wait()`` returns).
    /// - Throws: `SandboxError` if signalling fails for another reason than the
    ///   container being gone already.
    @discardableResult
    public func stop(timeout: Duration? = nil) async throws -> TerminationStatus {
        let grace = timeout ?? stopTimeout
        let signal = stopSignal
        if status() == .stopped { return try await wait() }
        logger.debug("stopping container", metadata: ["signal": "\(signal.name)", "grace": "\(grace)"])
        if status() == .created {
            // Never started: there is no program to ask nicely, only the runtime's init waiting.
            try? sandbox.kill(.kill, all: true)
            return try await wait()
        }
        try? sandbox.kill(signal)
        let sandbox = self.sandbox
        let logger = self.logger
        return try await withThrowingTaskGroup(of: TerminationStatus?.self) { group in
            group.addTask { try await sandbox.wait() }
            group.addTask {
                try await Task.sleep(for: grace)
                return nil
            }
            if let first = try await group.next(), let status = first {
                group.cancelAll()
                return status
            }
            logger.info("container ignored its stop signal; killing it", metadata: ["signal": "\(signal.name)"])
            try? sandbox.kill(.kill, all: true)
            while let next = try await group.next() {
                if let status = next { return status }
            }
            return .unknown
        }
    }

    /// Starts a process inside the running container (`docker exec`). It gets the
    /// container's environment, user, working directory, capabilities, seccomp profile,
    /// namespaces and cgroup, with the overrides given here.
    /// - Parameters:
    ///   - arguments: the program and its arguments.
    ///   - environment: `NAME=value` entries added to the container's environment.
    ///   - user: `uid[:gid]` or names from the image's account files; the container's user by default.
    ///   - workingDirectory: the working directory; the container's by default.
    ///   - stdio: where the process's streams go.
    /// - Returns: the running process.
    /// - Throws: ``EngineError`` for a malformed option; `SandboxError` if the
    ///   container is not running or the process cannot start.
    public func exec(
        _ arguments: [String], environment: [String] = [], user: String? = nil, workingDirectory: String? = nil,
        stdio: Stdio = Stdio()
    ) async throws -> ExecProcess {
        guard !arguments.isEmpty else { throw EngineError(.invalidConfiguration, "exec into \"\(id)\": no command given") }
        guard var process = sandbox.spec.process else {
            throw EngineError(.invalidState, "container \"\(id)\" has no process in its spec")
        }
        process.args = arguments
        process.terminal = nil
        var env = process.env ?? []
        for entry in environment {
            let name = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? entry
            env.removeAll { $0 == name || $0.hasPrefix(name + "=") }
            env.append(entry)
        }
        process.env = env
        if let user {
            // A rootless container's overlay is mounted only in its own mount namespace:
            // read its files through the running process's root.
            let root = Runtime.isRootless ? "/proc/\(pid)/root" : rootfs
            let resolved = try engine.resolveUser(user) { try RootfsAccess.readFile(root: root, path: $0) }
            process.user = .init(uid: resolved.uid, gid: resolved.gid, additionalGids: resolved.additionalGids.isEmpty ? nil : resolved.additionalGids)
        }
        if let workingDirectory {
            guard workingDirectory.hasPrefix("/") else {
                throw EngineError(.invalidConfiguration, "exec into \"\(id)\": working directory \"\(workingDirectory)\" is not absolute")
            }
            process.cwd = workingDirectory
        }
        logger.debug("exec", metadata: ["args": "\(arguments)"])
        return try await sandbox.exec(process, stdio: stdio)
    }

    /// Runs a command inside the running container to the end and captures its output.
    /// - Parameters:
    ///   - arguments: the program and its arguments.
    ///   - environment: `NAME=value` entries added to the container's environment.
    ///   - user: `uid[:gid]` or names; the container's user by default.
    ///   - workingDirectory: the working directory; the container's by default.
    ///   - timeout: how long it may run before it is killed.
    ///   - outputLimit: the most bytes kept of each stream.
    /// - Returns: its exit status and output.
    /// - Throws: what ``exec(_:environment:user:workingDirectory:stdio:)`` throws.
    public func run(
        _ arguments: [String], environment: [String] = [], user: String? = nil, workingDirectory: String? = nil,
        timeout: Duration? = nil, outputLimit: Int = 16 << 20
    ) async throws -> ProcessOutput {
        let process = try await exec(arguments, environment: environment, user: user, workingDirectory: workingDirectory, stdio: .pipes)
        return try await withTaskCancellationHandler {
            try await capture(
                io: process.io, timeout: timeout, limit: outputLimit,
                wait: { try await process.wait() }, kill: { try process.kill(.kill) })
        } onCancel: {
            try? process.kill(.kill)
        }
    }

    /// Removes the container: its processes (with `force`), cgroup, state and root filesystem.
    /// - Parameter force: kill it first if it is running.
    /// - Throws: `SandboxError` `invalidState` if it is running and `force` is false.
    public func remove(force: Bool = false) async throws {
        try await engine.removeContainer(id, sandbox: sandbox, force: force)
    }
}
