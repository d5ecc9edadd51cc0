/// A published port: traffic to `hostPort` on the host reaches `containerPort` in the container.
///
/// Published with DNAT, as netavark does: reachable on the host's addresses, on 127.0.0.1
/// (the bridge allows `route_localnet`, and such traffic is masqueraded), and from other
/// hosts; not on ::1, which the kernel never routes off the loopback device.
public struct PortMapping: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The transport protocol of a published port.
    public enum TransportProtocol: String, Hashable, Sendable, Codable {
        /// TCP.
        case tcp
        /// UDP.
        case udp
    }

    /// The host address to match; nil matches every local address (as `-p 8080:80` does).
    public var hostIP: IPAddress?
    /// The port on the host.
    public var hostPort: UInt16
    /// The port in the container.
    public var containerPort: UInt16
    /// TCP or UDP.
    public var transport: TransportProtocol

    /// Creates a mapping.
    /// - Parameters:
    ///   - hostIP: host address to match, nil for all local addresses.
    ///   - hostPort: the port on the host.
    ///   - containerPort: the port in the container.
    ///   - transport: TCP or UDP.
    public init(hostIP: IPAddress? = nil, hostPort: UInt16, containerPort: UInt16, transport: TransportProtocol = .tcp) {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.transport = transport
    }

    /// Parses docker/podman `-p` syntax: `[hostIP:]hostPort:containerPort[/tcp|udp]`
    /// (an IPv6 host address in brackets: `[::1]:8080:80`).
    /// - Parameter text: the specification.
    /// - Throws: ``NetworkError/Code/invalidArgument`` naming the specification and the part at fault.
    public init(parsing text: String) throws(NetworkError) {
        var rest = Substring(text)
        var transport = TransportProtocol.tcp
        if let slash = rest.lastIndex(of: "/") {
            guard let parsed = TransportProtocol(rawValue: String(rest[rest.index(after: slash)...])) else {
                throw NetworkError(.invalidArgument, "port \"\(text)\": protocol must be tcp or udp")
            }
            transport = parsed
            rest = rest[..<slash]
        }
        var hostIP: IPAddress?
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            guard let address = IPAddress(String(rest[rest.index(after: rest.startIndex)..<close])), address.isIPv6 else {
                throw NetworkError(.invalidArgument, "port \"\(text)\": bad IPv6 host address")
            }
            hostIP = address
            rest = rest[rest.index(after: close)...]
            guard rest.hasPrefix(":") else { throw NetworkError(.invalidArgument, "port \"\(text)\": expected ':' after ']'") }
            rest = rest.dropFirst()
        }
        var parts = rest.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if hostIP == nil, parts.count == 3 {
            guard let address = IPAddress(parts[0]), !address.isIPv6 else {
                throw NetworkError(.invalidArgument, "port \"\(text)\": bad host address \"\(parts[0])\"")
            }
            hostIP = address
            parts.removeFirst()
        }
        guard parts.count == 2 else {
            throw NetworkError(.invalidArgument, "port \"\(text)\": expected [hostIP:]hostPort:containerPort[/tcp|udp]")
        }
        func port(_ string: String, _ what: String) throws(NetworkError) -> UInt16 {
            guard let value = UInt16(string), value > 0 else {
                throw NetworkError(.invalidArgument, "port \"\(text)\": \(what) \"\(string)\" is not 1...65535")
            }
            return value
        }
        self.init(hostIP: hostIP, hostPort: try port(parts[0], "host port"),
                  containerPort: try port(parts[1], "container port"), transport: transport)
    }

    /// Whether two mappings claim the same host port (same protocol and overlapping address).
    public func conflicts(with other: PortMapping) -> Bool {
        guard transport == other.transport, hostPort == other.hostPort else { return false }
        guard let mine = hostIP, let theirs = other.hostIP else { return true }
        return mine == theirs
    }

    public var description: String {
        let host = hostIP.map { $0.isIPv6 ? "[\($0)]:" : "\($0):" } ?? ""
        return "\(host)\(hostPort):\(containerPort)/\(transport.rawValue)"
    }
}
