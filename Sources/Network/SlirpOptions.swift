/// How a ``NetworkMode/slirp4netns(_:)`` container's user-mode network is set up: the
/// options podman's `--network slirp4netns:OPTION=VALUE,…` takes, where they apply.
///
/// slirp4netns gives a namespace that only an unprivileged user owns a tap device whose
/// traffic it carries through ordinary sockets of the host: no root, no veth, no firewall.
public struct SlirpOptions: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Whether the container may reach the host's 127.0.0.1 through the gateway
    /// (`allow_host_loopback`); off by default, as in podman: a loopback-only service of
    /// the host is not meant for containers.
    public var allowHostLoopback: Bool
    /// The tap device's MTU (`mtu`); 65520 by default, which slirp4netns's documentation
    /// recommends for throughput.
    public var mtu: Int
    /// The virtual IPv4 network (`cidr`); the gateway is its address + 2, the DNS server
    /// + 3, the container + 100.
    public var cidr: Subnet
    /// Whether the container also gets IPv6 (`enable_ipv6`, fd00::/64).
    public var enableIPv6: Bool
    /// The host address outbound connections are made from (`outbound_addr`).
    public var outboundAddress: IPAddress?
    /// Whether slirp4netns confines itself after setup (`--enable-sandbox --enable-seccomp`:
    /// a mount namespace with only /etc and /run of the host, and a syscall filter). A
    /// non-root caller that passes the container's network namespace as a descriptor
    /// (`Networking.connect(containerID:pid:networkNamespace:)`) gets the syscall filter
    /// only: slirp4netns 1.2 cannot build its mount namespace from namespace paths.
    public var sandbox: Bool

    /// slirp4netns's default network.
    public static let defaultCIDR = try! Subnet("10.0.2.0/24")

    /// Creates options.
    /// - Parameters:
    ///   - allowHostLoopback: let the container reach the host's 127.0.0.1 through the gateway.
    ///   - mtu: the tap device's MTU (1280...65521).
    ///   - cidr: the virtual IPv4 network (prefix 1...25).
    ///   - enableIPv6: give the container IPv6 too.
    ///   - outboundAddress: the host address to connect from.
    ///   - sandbox: confine slirp4netns after setup.
    public init(allowHostLoopback: Bool = false, mtu: Int = 65520, cidr: Subnet = SlirpOptions.defaultCIDR,
                enableIPv6: Bool = false, outboundAddress: IPAddress? = nil, sandbox: Bool = true) {
        self.allowHostLoopback = allowHostLoopback
        self.mtu = mtu
        self.cidr = cidr
        self.enableIPv6 = enableIPv6
        self.outboundAddress = outboundAddress
        self.sandbox = sandbox
    }

    /// Parses podman's option list: `allow_host_loopback=true|false`, `mtu=N`,
    /// `cidr=A.B.C.D/N`, `enable_ipv6=true|false`, `outbound_addr=IPv4`,
    /// `port_handler=slirp4netns` (rootlesskit's port handler is not offered), and
    /// Caisson's `sandbox=true|false`.
    /// - Parameter text: the options after `slirp4netns:`, comma-separated.
    /// - Throws: ``NetworkError/Code/invalidArgument`` naming the option at fault.
    public init(parsing text: String) throws(NetworkError) {
        self.init()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw NetworkError(.invalidArgument, "slirp4netns option \"\(item)\": expected NAME=VALUE")
            }
            let name = String(parts[0])
            let value = String(parts[1])
            func flag() throws(NetworkError) -> Bool {
                switch value {
                case "true": return true
                case "false": return false
                default: throw NetworkError(.invalidArgument, "slirp4netns option \(name): \"\(value)\" is not true or false")
                }
            }
            switch name {
            case "allow_host_loopback": allowHostLoopback = try flag()
            case "enable_ipv6": enableIPv6 = try flag()
            case "sandbox": sandbox = try flag()
            case "mtu":
                guard let number = Int(value) else {
                    throw NetworkError(.invalidArgument, "slirp4netns option mtu: \"\(value)\" is not a number")
                }
                mtu = number
            case "cidr": cidr = try Subnet(value)
            case "outbound_addr":
                guard let address = IPAddress(value) else {
                    throw NetworkError(.invalidArgument, "slirp4netns option outbound_addr: \"\(value)\" is not an IP address")
                }
                outboundAddress = address
            case "port_handler":
                guard value == "slirp4netns" else {
                    throw NetworkError(.invalidArgument,
                                       "slirp4netns option port_handler: \"\(value)\" is not offered (only slirp4netns, through its API socket)")
                }
            default:
                throw NetworkError(.invalidArgument, "slirp4netns option \"\(name)\" is unknown "
                    + "(allow_host_loopback, mtu, cidr, enable_ipv6, outbound_addr, port_handler, sandbox)")
            }
        }
        try validate()
    }

    /// Refuses settings slirp4netns would reject later, less clearly.
    func validate() throws(NetworkError) {
        guard (1280...65521).contains(mtu) else {
            throw NetworkError(.invalidArgument, "slirp4netns mtu \(mtu) is not 1280...65521")
        }
        // The container's address is the network's + 100, so the network must hold it.
        guard !cidr.network.isIPv6, cidr.prefixLength <= 25 else {
            throw NetworkError(.invalidArgument, "slirp4netns cidr \(cidr): must be IPv4 with a prefix of at most 25")
        }
        if let outboundAddress, outboundAddress.isIPv6 {
            throw NetworkError(.invalidArgument, "slirp4netns outbound_addr \(outboundAddress): must be IPv4")
        }
    }

    /// The gateway, which is also the host's loopback when ``allowHostLoopback``.
    public var gateway: IPAddress { cidr.network.advanced(by: 2) }
    /// The built-in DNS forwarder.
    public var nameserver: IPAddress { cidr.network.advanced(by: 3) }
    /// The container's address on tap0.
    public var containerAddress: IPAddress { cidr.network.advanced(by: 100) }

    /// The options that differ from the defaults, as ``init(parsing:)`` reads them.
    public var description: String {
        let defaults = SlirpOptions()
        var items: [String] = []
        if allowHostLoopback != defaults.allowHostLoopback { items.append("allow_host_loopback=\(allowHostLoopback)") }
        if mtu != defaults.mtu { items.append("mtu=\(mtu)") }
        if cidr != defaults.cidr { items.append("cidr=\(cidr)") }
        if enableIPv6 != defaults.enableIPv6 { items.append("enable_ipv6=\(enableIPv6)") }
        if let outboundAddress { items.append("outbound_addr=\(outboundAddress)") }
        if sandbox != defaults.sandbox { items.append("sandbox=\(sandbox)") }
        return items.joined(separator: ",")
    }
}
