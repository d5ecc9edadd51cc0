/// An IPv4 or IPv6 subnet in CIDR form (`10.213.0.0/24`, `fd00:caf::/64`).
public struct Subnet: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The network address (host bits zero).
    public let network: IPAddress
    /// The prefix length in bits.
    public let prefixLength: Int

    /// Parses CIDR text.
    /// - Parameter text: `address/prefix`; host bits must be zero.
    /// - Throws: ``NetworkError/Code/invalidArgument`` naming the text.
    public init(_ text: String) throws(NetworkError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(String(parts[0])), let prefix = Int(parts[1]) else {
            throw NetworkError(.invalidArgument, "subnet \"\(text)\": expected ADDRESS/PREFIX")
        }
        let bits = address.isIPv6 ? 128 : 32
        // At least 4 addresses: network, gateway, one container, and (IPv4) broadcast.
        guard prefix >= 1, prefix <= bits - 2 else {
            throw NetworkError(.invalidArgument, "subnet \"\(text)\": prefix must be 1...\(bits - 2)")
        }
        guard Self.masked(address, prefix) == address else {
            throw NetworkError(.invalidArgument, "subnet \"\(text)\": host bits are set (network is \(Self.masked(address, prefix)))")
        }
        network = address
        prefixLength = prefix
    }

    private static func masked(_ address: IPAddress, _ prefix: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            return .v4(prefix == 0 ? 0 : value & (UInt32.max << (32 - prefix)))
        case .v6(let high, let low):
            let highMask: UInt64 = prefix >= 64 ? .max : (prefix == 0 ? 0 : UInt64.max << (64 - prefix))
            let lowMask: UInt64 = prefix <= 64 ? 0 : (prefix == 128 ? .max : UInt64.max << (128 - prefix))
            return .v6(high & highMask, low & lowMask)
        }
    }

    /// True when `address` lies in this subnet.
    /// - Parameter address: the address to test.
    /// - Returns: whether the network bits match.
    public func contains(_ address: IPAddress) -> Bool {
        address.isIPv6 == network.isIPv6 && Self.masked(address, prefixLength) == network
    }

    /// The gateway address: the first host of the subnet (`.1`), as podman and docker choose it.
    public var gateway: IPAddress { network.advanced(by: 1) }

    /// How many host addresses after the gateway can be handed out (capped for IPv6).
    var assignableCount: UInt64 {
        let hostBits = (network.isIPv6 ? 128 : 32) - prefixLength
        // IPv4 keeps the network, gateway and broadcast addresses; IPv6 the network
        // (subnet-router anycast) and gateway. Large IPv6 subnets are capped: a per-host
        // bridge never holds 2^20 containers, and the scan stays bounded.
        if hostBits >= 20 { return 1 << 20 }
        return (UInt64(1) << UInt64(hostBits)) - (network.isIPv6 ? 2 : 3)
    }

    /// Whether two subnets share any address.
    func overlaps(_ other: Subnet) -> Bool {
        contains(other.network) || other.contains(network)
    }

    public var description: String { "\(network)/\(prefixLength)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try Subnet(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
