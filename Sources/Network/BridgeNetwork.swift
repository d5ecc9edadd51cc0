/// A bridge network's settings, persisted under the state root.
public struct BridgeNetwork: Hashable, Sendable, Codable {
    /// The network's name (letters, digits, `-`, `_`, `.`; at most 64).
    public var name: String
    /// The Linux bridge device (at most 15 bytes).
    public var bridge: String
    /// The IPv4 subnet; the gateway (the bridge's address) is its first host.
    public var subnet: Subnet
    /// An optional IPv6 subnet (dual stack); its first host is the IPv6 gateway.
    public var subnet6: Subnet?
    /// The MTU of the bridge and of every veth; nil keeps the kernel's 1500.
    public var mtu: Int?
    /// Drop traffic between this network and Caisson's other bridge networks.
    public var isolated: Bool
    /// Masquerade traffic leaving the subnet (outbound connectivity).
    public var masquerade: Bool

    /// Creates network settings.
    /// - Parameters:
    ///   - name: the network's name.
    ///   - bridge: the bridge device name.
    ///   - subnet: the IPv4 subnet.
    ///   - subnet6: the IPv6 subnet, if dual stack.
    ///   - mtu: the MTU, nil for the kernel default.
    ///   - isolated: drop traffic to and from other Caisson networks.
    ///   - masquerade: NAT traffic leaving the subnet.
    public init(name: String, bridge: String, subnet: Subnet, subnet6: Subnet? = nil, mtu: Int? = nil,
                isolated: Bool = true, masquerade: Bool = true) {
        self.name = name
        self.bridge = bridge
        self.subnet = subnet
        self.subnet6 = subnet6
        self.mtu = mtu
        self.isolated = isolated
        self.masquerade = masquerade
    }

    /// Checks names, families and ranges.
    func validate() throws(NetworkError) {
        try Names.check(name, what: "network name", max: 64)
        try Names.check(bridge, what: "network \"\(name)\": bridge name", max: 15)
        guard !subnet.network.isIPv6 else {
            throw NetworkError(.invalidArgument, "network \"\(name)\": subnet \(subnet) must be IPv4 (use subnet6 for IPv6)")
        }
        if let subnet6, !subnet6.network.isIPv6 {
            throw NetworkError(.invalidArgument, "network \"\(name)\": subnet6 \(subnet6) must be IPv6")
        }
        if let mtu, !(68...65535).contains(mtu) {
            throw NetworkError(.invalidArgument, "network \"\(name)\": mtu \(mtu) is not 68...65535")
        }
    }
}

/// Name rules shared by networks, bridges and container ids: they become file names,
/// interface names and nftables comments, so only a safe alphabet passes.
enum Names {
    static func check(_ value: String, what: String, max: Int) throws(NetworkError) {
        let allowed = value.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e
        }
        guard !value.isEmpty, value.utf8.count <= max, allowed, value != ".", value != ".." else {
            throw NetworkError(.invalidArgument, "\(what) \"\(value)\": use 1...\(max) letters, digits, '-', '_' or '.'")
        }
    }
}
