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

    /// The bind mounts of the generated /etc/hosts, /etc/hostname and /etc/resolv.conf.
    public var mounts: [RuntimeSpec.Mount] {
        ["hosts", "hostname", "resolv.conf"].map { name in
            RuntimeSpec.Mount(destination: "/etc/" + name, type: "bind", source: etcDirectory + "/" + name,
                              options: ["rbind", "rprivate", "nosuid", "nodev", "noexec"])
        }
    }

    /// The `linux.namespaces` entry for the network namespace; nil in `host` mode.
    public var namespace: RuntimeSpec.Linux.Namespace? {
        namespacePath.map { RuntimeSpec.Linux.Namespace(type: .network, path: $0) }
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
