import OCISpec

/// A container's connection: what was set up for it, and the spec changes that make the
/// container use it.
public struct NetworkAttachment: Hashable, Sendable, Codable {
    /// The container id.
    public var containerID: String
    /// How it is connected.
    public var mode: NetworkMode
    /// The network namespace file the container joins; nil in `host` mode.
    public var namespacePath: String?
    /// True when this attachment created (and so owns) the namespace.
    public var ownsNamespace: Bool
    /// The host side of the veth pair (bridge mode).
    public var hostInterface: String?
    /// The interface name inside the container (bridge mode).
    public var containerInterface: String?
    /// The container's addresses (bridge mode: IPv4, then IPv6 if the network has it).
    public var addresses: [IPAddress]
    /// The default gateways (bridge mode).
    public var gateways: [IPAddress]
    /// Published ports (bridge mode).
    public var ports: [PortMapping]
    /// The hostname written to /etc/hostname.
    public var hostname: String
    /// The directory holding the generated hosts, hostname and resolv.conf.
    public var etcDirectory: String
    /// CNI mode: the network and the result of its ADD.
    public var cni: CNIDetails?
    /// slirp4netns mode: its process and API socket once ``Networking/connect(containerID:pid:networkNamespace:)`` started it.
    public var slirp: SlirpDetails?

    /// What a CNI attachment ran and got.
    public struct CNIDetails: Hashable, Sendable, Codable {
        /// The network's name (from its configuration list).
        public var network: String
        /// The interface name inside the container (`CNI_IFNAME`).
        public var interfaceName: String
        /// The ADD result; nil while ADD runs.
        public var result: CNIResult?
    }

    /// What a slirp4netns attachment started.
    public struct SlirpDetails: Hashable, Sendable, Codable {
        /// The API socket (published ports are added through it).
        public var apiSocket: String
        /// Where slirp4netns's messages go (read into the error when it fails to start).
        public var logFile: String
        /// The container process slirp4netns serves; nil until connected.
        public var containerPID: Int32?
        /// The slirp4netns process; nil until connected.
        public var pid: Int32?
        /// Its start time (field 22 of /proc/PID/stat), which tells it from a later
        /// process that got the same pid.
        public var startTime: UInt64?
    }

    /// The bind mounts of the generated /etc/hosts, /etc/hostname and /etc/resolv.conf.
    public var mounts: [RuntimeSpec.Mount] {
        ["hosts", "hostname", "resolv.conf"].map { name in
            RuntimeSpec.Mount(destination: "/etc/" + name, type: "bind", source: etcDirectory + "/" + name,
                              options: ["rbind", "rprivate", "nosuid", "nodev", "noexec"])
        }
    }

    /// The `linux.namespaces` entry for the network namespace; nil in `host` mode. In
    /// slirp4netns mode a new namespace (no path): it must belong to the container's user
    /// namespace, which exists only once the container is created.
    public var namespace: RuntimeSpec.Linux.Namespace? {
        if case .slirp4netns = mode { return RuntimeSpec.Linux.Namespace(type: .network) }
        return namespacePath.map { RuntimeSpec.Linux.Namespace(type: .network, path: $0) }
    }

    /// Changes `spec` to use this attachment: its network namespace entry (removed in
    /// `host` mode), the /etc mounts (replacing mounts at the same destinations) and the
    /// hostname when the container has its own UTS namespace.
    /// - Parameter spec: the spec to change.
    public func apply(to spec: inout RuntimeSpec) {
        var linux = spec.linux ?? RuntimeSpec.Linux()
        var namespaces = (linux.namespaces ?? []).filter { $0.type != .network }
        if let namespace { namespaces.append(namespace) }
        linux.namespaces = namespaces
        spec.linux = linux
        let destinations = Set(mounts.map(\.destination))
        spec.mounts = (spec.mounts ?? []).filter { !destinations.contains($0.destination) } + mounts
        if namespaces.contains(where: { $0.type == .uts }) {
            spec.hostname = hostname
        }
    }
}
