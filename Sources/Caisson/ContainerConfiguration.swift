/// How to run an image: what the image config says, overridden where set here, on top of
/// the secure defaults of SECURITY.md.
///
/// Every field starts at the safe value: a new network namespace with only loopback,
/// Docker's 14 capabilities, `no_new_privileges`, Docker's masked and read-only paths and
/// Docker's seccomp profile. Each can be tightened (``readOnlyRootfs``, ``limits``,
/// ``dropCapabilities``) or loosened (``network``, ``seccomp``, ``addCapabilities``).
///
/// ```swift
/// var configuration = ContainerConfiguration(command: ["sh", "-c", "echo $GREETING"])
/// configuration.environment = ["GREETING=hello"]
/// configuration.readOnlyRootfs = true
/// configuration.limits = ResourceLimits(memoryBytes: 64 << 20, pids: 64, cpus: 0.5)
/// ```
public struct ContainerConfiguration: Sendable {
    /// Arguments replacing the image `Cmd` (`docker run IMAGE args…`).
    public var command: [String]?
    /// A command replacing the image `Entrypoint`; the image `Cmd` is then dropped
    /// (`docker run --entrypoint`).
    public var entrypoint: [String]?
    /// `NAME=value` entries applied after the image `Env`, replacing same-named ones.
    public var environment: [String]
    /// The user, replacing the image `User`: `uid`, `uid:gid`, `name` or `name:group`;
    /// names are looked up in the image's `/etc/passwd` and `/etc/group`.
    public var user: String?
    /// The working directory, replacing the image `WorkingDir`; created in the
    /// container's root filesystem if missing.
    public var workingDirectory: String?
    /// The hostname; the first 12 characters of the container id by default.
    public var hostname: String?
    /// The network the container sees; `NetworkMode.none` (loopback only) by default.
    /// `.bridge(name)` attaches it to a bridge network of ``Engine/networking`` (the
    /// network "caisson" is created on first use), `.container(id)` joins another
    /// container's namespace, `.namespacePath(path)` joins a namespace file, `.cni(name)`
    /// runs a CNI configuration list (by name from CaissonNetwork's `Networking.cniConfigDirectory`, or
    /// a `.conflist` path) and runs its DEL when the container is removed.
    public var network: NetworkMode
    /// Host ports published to the container (`-p 8080:80`); bridge networks, and CNI
    /// networks with a `portMappings` plugin (portmap).
    public var ports: [PortMapping] = []
    /// Whether the root filesystem is mounted read-only (`--read-only`).
    public var readOnlyRootfs: Bool
    /// Extra mounts (bind mounts from ``volume(_:)`` or `RuntimeSpec.Mount.bind(_:at:readOnly:)`,
    /// tmpfs from `RuntimeSpec.Mount.tmpfs(at:sizeBytes:)`), after the default ones.
    public var mounts: [RuntimeSpec.Mount]
    /// Memory, process and CPU limits; unlimited by default.
    public var limits: ResourceLimits
    /// Capabilities to add to Docker's 14 (`--cap-add`), e.g. `CAP_NET_ADMIN`.
    public var addCapabilities: [String]
    /// Capabilities to remove (`--cap-drop`); `ALL` removes every one.
    public var dropCapabilities: [String]
    /// The system call filter; Docker's default profile by default.
    public var seccomp: SeccompPolicy
    /// Whether `no_new_privileges` is set (setuid binaries gain nothing); on by default.
    public var noNewPrivileges: Bool
    /// Whether Docker's masked and read-only paths of /proc and /sys apply; on by default.
    public var maskKernelPaths: Bool
    /// Where the container's streams go; stdin from /dev/null and output inherited by
    /// default. ``Engine/run(_:_:configuration:timeout:outputLimit:)`` always captures.
    public var stdio: Stdio
    /// Whether the process gets a pseudo-terminal (`ContainerIO.terminal`) instead of pipes.
    public var terminal: Bool
    /// The signal ``ManagedContainer/stop(timeout:)`` sends first; the image `StopSignal`,
    /// else SIGTERM, by default.
    public var stopSignal: Signal?
    /// How long ``ManagedContainer/stop(timeout:)`` waits after the stop signal before SIGKILL.
    public var stopTimeout: Duration
    /// Annotations recorded in the container's state (visible in ``Engine/containers()``).
    public var annotations: [String: String]
    /// A last change to the runtime spec, for anything the fields above do not cover.
    public var customize: (@Sendable (inout RuntimeSpec) throws -> Void)?

    /// Creates a configuration with the secure defaults.
    /// - Parameters:
    ///   - command: arguments replacing the image `Cmd`.
    ///   - environment: `NAME=value` entries added after the image's.
    public init(command: [String]? = nil, environment: [String] = []) {
        self.command = command
        self.entrypoint = nil
        self.environment = environment
        self.user = nil
        self.workingDirectory = nil
        self.hostname = nil
        self.network = .none
        self.readOnlyRootfs = false
        self.mounts = []
        self.limits = ResourceLimits()
        self.addCapabilities = []
        self.dropCapabilities = []
        self.seccomp = .dockerDefault
        self.noNewPrivileges = true
        self.maskKernelPaths = true
        self.stdio = Stdio()
        self.terminal = false
        self.stopSignal = nil
        self.stopTimeout = .seconds(10)
        self.annotations = [:]
        self.customize = nil
    }

    /// Adds a mount written as `docker run -v` takes it: `HOST:CONTAINER[:ro|rw]`.
    /// - Parameter specification: the host path (absolute), the container path
    ///   (absolute) and optionally `ro` or `rw`.
    /// - Throws: ``EngineError`` `invalidConfiguration` naming the malformed part.
    public mutating func volume(_ specification: String) throws {
        let parts = specification.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw EngineError(.invalidConfiguration, "volume \"\(specification)\": expected HOST:CONTAINER[:ro|rw]")
        }
        guard parts[0].hasPrefix("/") else {
            throw EngineError(.invalidConfiguration, "volume \"\(specification)\": host path \"\(parts[0])\" is not absolute")
        }
        guard parts[1].hasPrefix("/") else {
            throw EngineError(.invalidConfiguration, "volume \"\(specification)\": container path \"\(parts[1])\" is not absolute")
        }
        var readOnly = false
        if parts.count == 3 {
            switch parts[2] {
            case "ro": readOnly = true
            case "rw": readOnly = false
            default:
                throw EngineError(.invalidConfiguration, "volume \"\(specification)\": mode \"\(parts[2])\" is neither ro nor rw")
            }
        }
        mounts.append(.bind(parts[0], at: parts[1], readOnly: readOnly))
    }
}

extension RuntimeSpec.Mount {
    /// A recursive bind mount of a host path, without setuid or device files.
    /// - Parameters:
    ///   - source: the host path.
    ///   - destination: the path in the container.
    ///   - readOnly: whether the container may write to it.
    /// - Returns: the mount.
    public static func bind(_ source: String, at destination: String, readOnly: Bool = false) -> RuntimeSpec.Mount {
        RuntimeSpec.Mount(
            destination: destination, type: "bind", source: source,
            options: ["rbind", readOnly ? "ro" : "rw", "nosuid", "nodev"])
    }

    /// A private tmpfs, e.g. a writable /tmp in a read-only container.
    /// - Parameters:
    ///   - destination: the path in the container.
    ///   - sizeBytes: the tmpfs size bound; 64 MiB by default.
    /// - Returns: the mount.
    public static func tmpfs(at destination: String, sizeBytes: Int64 = 64 << 20) -> RuntimeSpec.Mount {
        RuntimeSpec.Mount(
            destination: destination, type: "tmpfs", source: "tmpfs",
            options: ["nosuid", "nodev", "mode=1777", "size=\(sizeBytes)"])
    }
}
