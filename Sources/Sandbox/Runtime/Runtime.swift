#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import _CSandbox
import Glibc
import Logging
import OCISpec
import SystemPackage

/// Runs OCI containers from inside this process.
///
/// A runtime owns a state root (``defaultStateRoot``: `/run/caisson` for root, under
/// `$XDG_RUNTIME_DIR` for anyone else): one directory per container, so
/// that another process using the same root (the `caisson` CLI, or this program after a
/// restart) can find, signal and delete its containers.
///
/// ```swift
/// let runtime = Runtime(stateRoot: "/run/caisson")
/// let status = try await runtime.run(id: "hello", bundle: "/srv/bundles/hello")
/// ```
public final class Runtime: Sendable {
    /// The directory holding one state directory per container.
    public let stateRoot: String
    let logger: Logger

    /// The state root of ``init(stateRoot:logger:)`` by default: `/run/caisson` for root;
    /// for anyone else `$XDG_RUNTIME_DIR/caisson` (as runc uses `$XDG_RUNTIME_DIR/runc`),
    /// or `/tmp/caisson-<uid>` without XDG_RUNTIME_DIR.
    public static var defaultStateRoot: String { Rootless.defaultStateRoot }

    /// Whether this process runs containers rootless (runc's term): it is not root, or is
    /// root of a user namespace only. A rootless container needs a user namespace in its
    /// spec, gets a cgroup only where one is delegated to the user, and its overlay rootfs
    /// is mounted inside its own user namespace (``CreateOptions/rootfsOverlay``).
    public static var isRootless: Bool { Rootless.active }

    /// Options for creating a container, beyond its spec.
    public struct CreateOptions: Sendable {
        /// Where the container's streams go.
        public var stdio: Stdio
        /// Use chroot instead of pivot_root (runc's `--no-pivot`, for ramfs roots).
        public var noPivot: Bool
        /// An overlay the container's setup mounts on `root.path` inside the container's
        /// own mount namespace, or nil when the rootfs is ready as it is. This is how an
        /// unprivileged user gets an overlay rootfs (it may mount one only in a user
        /// namespace it owns, kernel 5.11 or later), e.g. from
        /// `ImageStore.prepare(key:image:mode: .userNamespaceOverlay)`.
        public var rootfsOverlay: OverlayRootfs?
        /// Called during create, before it returns, with the container's process id and its
        /// new network namespace (an fd open only for the call), e.g. to start slirp4netns
        /// there. A rootless runtime needs this: its user may not open
        /// `/proc/<pid>/ns/net` of the container's process before that process execs (it
        /// is not dumpable until then). The spec must create a network namespace. If the
        /// handler throws, the create fails and leaves nothing behind.
        public var networkNamespaceHandler: (@Sendable (_ pid: Int32, _ namespace: Int32) async throws -> Void)?

        /// Creates options.
        /// - Parameters:
        ///   - stdio: where the container's streams go.
        ///   - noPivot: use chroot instead of pivot_root.
        ///   - rootfsOverlay: an overlay to mount on the rootfs inside the container, or nil.
        ///   - networkNamespaceHandler: receives the new network namespace during create, or nil.
        public init(
            stdio: Stdio = Stdio(), noPivot: Bool = false, rootfsOverlay: OverlayRootfs? = nil,
            networkNamespaceHandler: (@Sendable (_ pid: Int32, _ namespace: Int32) async throws -> Void)? = nil
        ) {
            self.stdio = stdio
            self.noPivot = noPivot
            self.rootfsOverlay = rootfsOverlay
            self.networkNamespaceHandler = networkNamespaceHandler
        }
    }

    /// Creates a runtime over a state root.
    /// - Parameters:
    ///   - stateRoot: the state directory (created on first use, mode 0700).
    ///   - logger: where the runtime logs; defaults to a no-op logger.
    public init(stateRoot: String = Runtime.defaultStateRoot, logger: Logger = Logger(label: "caisson.sandbox", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.stateRoot = stateRoot
        self.logger = logger
    }

    /// Creates a container from an OCI bundle (a directory with `config.json` and a rootfs).
    /// - Parameters:
    ///   - id: the container id, unique under the state root.
    ///   - bundle: the bundle directory.
    ///   - options: stdio and pivot options.
    /// - Returns: the container, in the `created` state.
    /// - Throws: ``SandboxError`` naming the step, path and errno that failed; nothing is
    ///   left behind (no process, cgroup or state directory).
    public func create(id: String, bundle: String, options: CreateOptions = CreateOptions()) async throws -> Container {
        let bundlePath = Self.absolute(bundle)
        let configPath = bundlePath + "/config.json"
        let spec: RuntimeSpec
        let json: [UInt8]
        do {
            json = try readFile(configPath)
            spec = try OCIJSON.decode(RuntimeSpec.self, from: Data(json))
        } catch let error as Errno {
            throw SandboxError(.invalidSpec, "bundle \(bundlePath): cannot read config.json", errno: error)
        } catch {
            throw SandboxError(.invalidSpec, "\(configPath): \(error)")
        }
        return try await create(id: id, spec: spec, specJSON: json, bundle: bundlePath, options: options)
    }

    /// Creates a container from a runtime spec.
    /// - Parameters:
    ///   - id: the container id, unique under the state root.
    ///   - spec: the runtime spec; `root.path` is resolved against `bundle` when relative.
    ///   - bundle: the bundle directory (reported in the state; base of relative paths).
    ///   - options: stdio and pivot options.
    /// - Returns: the container, in the `created` state.
    /// - Throws: ``SandboxError``; nothing is left behind on failure.
    public func create(id: String, spec: RuntimeSpec, bundle: String, options: CreateOptions = CreateOptions()) async throws -> Container {
        try await create(id: id, spec: spec, specJSON: nil, bundle: bundle, options: options)
    }

    /// `specJSON`: the bytes `spec` was decoded from, kept as the container's spec.json.
    private func create(id: String, spec: RuntimeSpec, specJSON: [UInt8]?, bundle: String, options: CreateOptions) async throws -> Container {
        try ContainerRecord.validate(id: id)
        let bundlePath = Self.absolute(bundle)
        guard let process = spec.process else { throw SandboxError(.invalidSpec, "process: missing") }
        guard let rootPath = spec.root?.path, !rootPath.isEmpty else { throw SandboxError(.invalidSpec, "root.path: missing") }
        let rootfs = rootPath.hasPrefix("/") ? rootPath : bundlePath + "/" + rootPath
        guard let st = fileStatus(rootfs), st.st_mode & S_IFMT == S_IFDIR else {
            throw SandboxError(.invalidSpec, "root.path: \(rootfs) is not a directory", errno: Errno(rawValue: Glibc.errno))
        }
        if options.networkNamespaceHandler != nil,
           !(spec.linux?.namespaces ?? []).contains(where: { $0.type == .network && ($0.path ?? "").isEmpty }) {
            throw SandboxError(.invalidSpec, "linux.namespaces: a network namespace handler needs a new network namespace "
                + "(a \"network\" entry without a path)")
        }

        let paths = ContainerRecord.paths(stateRoot: stateRoot, id: id)
        try makeStateRoot()
        guard mkdir(paths.directory, 0o700) == 0 else {
            if Glibc.errno == EEXIST { throw SandboxError(.alreadyExists, "container \"\(id)\" already exists under \(stateRoot)") }
            throw SandboxError(.system, "creating \(paths.directory)", errno: Errno(rawValue: Glibc.errno))
        }
        var cleanup = Cleanup()
        cleanup.add { _ = try? FileManager.default.removeItem(atPath: paths.directory) }
        defer { cleanup.run() }

        guard mkfifo(paths.fifo, 0o600) == 0 else {
            throw SandboxError(.system, "creating \(paths.fifo)", errno: Errno(rawValue: Glibc.errno))
        }
        // Held O_RDWR by the child: its read blocks until `start` writes a byte.
        let fifo = open(paths.fifo, O_RDWR | O_CLOEXEC)
        guard fifo >= 0 else { throw SandboxError(.system, "opening \(paths.fifo)", errno: Errno(rawValue: Glibc.errno)) }
        cleanup.add { close(fifo) }

        let linux = spec.linux ?? RuntimeSpec.Linux()
        let rootless = Rootless.active
        let cgroups: Cgroups?
        if rootless {
            try Rootless.requireUserNamespace(linux)
            // The user's own cgroup is the only place it may have been delegated one.
            let (delegated, skipped) = try Rootless.cgroups(cgroupsPath: linux.cgroupsPath ?? "caisson-\(id)")
            if let delegated { cleanup.add { delegated.remove() } }
            try Rootless.refuseUndelegated(linux.resources, cgroups: delegated, skipped: skipped)
            var resources = linux.resources
            resources?.devices = nil  // see Rootless.cgroups: no devices cgroup without root
            try delegated?.apply(resources, devices: [])
            cgroups = delegated
        } else {
            // Without a cgroupsPath, a cgroup of its own right under each hierarchy's root (as
            // runc uses "/<id>"): no shared parent to create, race for and clean up.
            let created = try Cgroups.create(cgroupsPath: linux.cgroupsPath ?? "/caisson-\(id)")
            // Parents made on the way are listed, so that whichever container leaves them
            // last removes them (CgroupParents).
            let parents = CgroupParents(stateRoot: stateRoot)
            parents.record(created.directories.flatMap { $0.created.dropFirst() })
            cleanup.add {
                created.remove()
                parents.removeEmptyAncestors(of: created.directories.map(\.path))
            }
            try created.apply(linux.resources, devices: linux.devices ?? [])
            cgroups = created
        }

        let prepared = try options.stdio.prepare()
        cleanup.add { for fd in prepared.ownedChildFDs { close(fd) } }
        let newUserNamespace = (linux.namespaces ?? []).contains { $0.type == .user && ($0.path ?? "").isEmpty }
        let idMaps = newUserNamespace
            ? try IDMaps.plan(uidMappings: linux.uidMappings ?? [], gidMappings: linux.gidMappings ?? []) : nil
        let setup = Spawner.ParentSetup(
            idMaps: idMaps,
            cgroups: cgroups,
            oomScoreAdj: process.oomScoreAdj,
            spec: spec, bundle: bundlePath)
        var builder = PlanBuilder(
            spec: spec, process: process,
            mode: .create(rootfs: rootfs, bundle: bundlePath, noPivot: options.noPivot, cgroups: cgroups))
        builder.rootless = rootless
        builder.idMaps = idMaps
        builder.rootfsOverlay = options.rootfsOverlay
        builder.seccompCache = SeccompCache(stateRoot: stateRoot)
        builder.sendNetworkNamespace = options.networkNamespaceHandler != nil
        let spawned: SpawnedProcess
        do {
            spawned = try await Spawner.spawn(
                containerID: id, builder: builder, stdio: prepared.childFDs, extraFiles: options.stdio.extraFiles,
                fifo: fifo, setup: setup)
        } catch let error as SandboxError where error.code == .hookFailed {
            // A failed prestart/createRuntime/createContainer hook stops the container and
            // the lifecycle continues with delete and the poststop hooks.
            cleanup.run()
            await Hooks.runLogging(.poststop, spec: spec, id: id, status: .stopped, pid: nil, bundle: bundlePath, runtime: self)
            throw error
        }
        var io = prepared.io
        if let master = spawned.ptyMaster {
            io.terminal = Terminal(fd: master)  // the Terminal owns it now
            spawned.ptyMaster = nil
        }

        if let listener = spawned.seccompListener {
            // runtime-spec seccomp notify: the listener fd goes to listenerPath with the
            // container's process state; the runtime keeps no copy.
            spawned.seccompListener = nil
            defer { close(listener) }
            do {
                try Self.sendSeccompListener(listener, spec: spec, id: id, pid: spawned.pid, bundle: bundlePath)
            } catch {
                _ = killAndReap(spawned)
                throw error
            }
        }

        if let handler = options.networkNamespaceHandler {
            guard let namespace = spawned.networkNamespace else {
                _ = killAndReap(spawned)
                throw SandboxError(.setupFailed, "container \"\(id)\": its setup process did not send its network namespace")
            }
            spawned.networkNamespace = nil
            defer { close(namespace) }
            do {
                try await handler(spawned.pid, namespace)
            } catch {
                _ = killAndReap(spawned)
                throw error
            }
        }

        var record = ContainerRecord(
            id: id, bundle: bundlePath, rootfs: rootfs, pid: spawned.pid,
            pidStartTime: ProcStat.stat(spawned.pid)?.startTime ?? 0,
            created: rfc3339Now(), cgroups: cgroups, spec: spec, specJSON: specJSON)
        do {
            try record.save(stateRoot: stateRoot)
        } catch {
            _ = killAndReap(spawned)
            throw error
        }
        record.keepSpecOnDiskOnly(stateRoot: stateRoot)
        cleanup.cancel()
        close(fifo)
        for fd in prepared.ownedChildFDs { close(fd) }
        logger.debug("created container", metadata: ["id": "\(id)", "pid": "\(spawned.pid)"])
        return Container(runtime: self, record: record, spawned: spawned, io: io)
    }

    /// Opens a container that exists under the state root (created by any process).
    /// - Parameter id: the container id.
    /// - Returns: a handle to it.
    /// - Throws: ``SandboxError`` `notFound` if there is no such container.
    public func container(id: String) throws -> Container {
        let record = try ContainerRecord.load(stateRoot: stateRoot, id: id)
        return Container(runtime: self, record: record, spawned: nil, io: ContainerIO())
    }

    /// The states of every container under the state root, sorted by id.
    public func list() throws -> [ContainerState] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: stateRoot) else { return [] }
        // "@cache" and the like are the runtime's own, never a container id.
        return names.sorted().compactMap { name in
            guard (try? ContainerRecord.validate(id: name)) != nil, let record = try? ContainerRecord.load(stateRoot: stateRoot, id: name) else { return nil }
            return Container(runtime: self, record: record, spawned: nil, io: ContainerIO()).state()
        }
    }

    /// Creates, starts and waits for a container, then deletes it.
    /// - Parameters:
    ///   - id: the container id.
    ///   - bundle: the bundle directory.
    ///   - options: stdio and pivot options.
    /// - Returns: how the container's process ended.
    /// - Throws: ``SandboxError`` if it could not be created or started.
    public func run(id: String, bundle: String, options: CreateOptions = CreateOptions()) async throws -> TerminationStatus {
        try await withContainer(id: id, bundle: bundle, options: options) { container in
            try await container.start()
            return try await container.wait()
        }
    }

    /// Creates a container from a spec, hands it to `body`, and deletes it (killing it if
    /// needed) when `body` returns or throws.
    /// - Parameters:
    ///   - id: the container id.
    ///   - spec: the runtime spec.
    ///   - bundle: the bundle directory (base of relative paths).
    ///   - options: stdio and pivot options.
    ///   - isolation: the caller's actor, inherited by `body`.
    ///   - body: works with the created container.
    /// - Returns: what `body` returns.
    public func withContainer<R: Sendable>(
        id: String, spec: RuntimeSpec, bundle: String, options: CreateOptions = CreateOptions(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Container) async throws -> R
    ) async throws -> R {
        let container = try await create(id: id, spec: spec, bundle: bundle, options: options)
        return try await Self.scoped(container, body)
    }

    private static func scoped<R: Sendable>(
        _ container: Container, isolation: isolated (any Actor)? = #isolation, _ body: (Container) async throws -> R
    ) async throws -> R {
        do {
            let result = try await body(container)
            try await container.delete(force: true)
            return result
        } catch {
            try? await container.delete(force: true)
            throw error
        }
    }

    /// Creates a container, hands it to `body`, and deletes it (killing it if needed)
    /// when `body` returns or throws.
    /// - Parameters:
    ///   - id: the container id.
    ///   - bundle: the bundle directory.
    ///   - options: stdio and pivot options.
    ///   - isolation: the caller's actor, inherited by `body`.
    ///   - body: works with the created container.
    /// - Returns: what `body` returns.
    public func withContainer<R: Sendable>(
        id: String, bundle: String, options: CreateOptions = CreateOptions(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Container) async throws -> R
    ) async throws -> R {
        let container = try await create(id: id, bundle: bundle, options: options)
        return try await Self.scoped(container, body)
    }

    /// The `ContainerProcessState` document of runtime-spec config-linux.md#seccomp.
    struct SeccompProcessState: Codable {
        var ociVersion: String
        var fds: [String]
        var pid: Int32
        var metadata: String?
        var state: ContainerState
    }

    private static func sendSeccompListener(_ fd: Int32, spec: RuntimeSpec, id: String, pid: Int32, bundle: String) throws(SandboxError) {
        guard let path = spec.linux?.seccomp?.listenerPath, !path.isEmpty else {
            throw SandboxError(.invalidSpec, "linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs a listener socket")
        }
        let state = SeccompProcessState(
            ociVersion: spec.ociVersion, fds: ["seccompFd"], pid: pid, metadata: spec.linux?.seccomp?.listenerMetadata,
            state: ContainerState(ociVersion: spec.ociVersion, id: id, status: .creating, pid: pid, bundle: bundle,
                                  annotations: spec.annotations))
        let data: Data
        do { data = try OCIJSON.encode(state) } catch {
            throw SandboxError(.system, "seccomp: encoding the process state for \(path): \(error)")
        }
        let r = data.withUnsafeBytes { csb_send_fd_to_path(path, $0.baseAddress!, $0.count, fd) }
        if r < 0 {
            throw SandboxError(.setupFailed, "container \"\(id)\": sending the seccomp listener to linux.seccomp.listenerPath \(path)",
                               errno: Errno(rawValue: -r))
        }
    }

    private func makeStateRoot() throws(SandboxError) {
        var path = ""
        for component in stateRoot.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o700) != 0 && Glibc.errno != EEXIST {
                throw SandboxError(.system, "creating state root \(stateRoot)", errno: Errno(rawValue: Glibc.errno))
            }
        }
        // A rootless runtime keeps its containers' state where only its user can change
        // it: another user who could write there could point it at their processes.
        if Rootless.active, let st = fileStatus(stateRoot), st.st_uid != geteuid() || st.st_mode & 0o022 != 0 {
            throw SandboxError(.invalidSpec, "state root \(stateRoot) must belong to uid \(geteuid()) and not be group- or world-writable "
                + "(it belongs to uid \(st.st_uid), mode \(String(st.st_mode & 0o7777, radix: 8)))")
        }
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// Undo actions run in reverse order unless cancelled (a failed create leaves nothing).
struct Cleanup {
    private var actions: [() -> Void] = []
    mutating func add(_ action: @escaping () -> Void) { actions.append(action) }
    mutating func cancel() { actions = [] }
    mutating func run() {
        for action in actions.reversed() { action() }
        actions = []
    }
}

/// Kills a spawned process that never made it to "created" and frees what it holds.
func killAndReap(_ spawned: SpawnedProcess) -> Bool {
    _ = csb_pidfd_send_signal(spawned.pidfd, SIGKILL)
    var code: Int32 = 0, signal: Int32 = 0
    let reaped = csb_pidfd_reap(spawned.pidfd, 0, &code, &signal)
    close(spawned.pidfd)
    spawned.pidfd = -1
    spawned.releasePlan()
    return reaped == 1
}

/// The current UTC time as RFC 3339 ("2026-11-26T23:40:01.123456789Z"), without a
/// formatter object per call.
func rfc3339Now() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var parts = tm()
    var seconds = now.tv_sec
    gmtime_r(&seconds, &parts)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let nanos = String(now.tv_nsec)
    let padded = String(repeating: "0", count: 9 - nanos.count) + nanos
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(padded)Z"
}
