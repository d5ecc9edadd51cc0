import Glibc

/// An IPv4 or IPv6 address.
public enum IPAddress: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// An IPv4 address, as a host-order integer.
    case v4(UInt32)
    /// An IPv6 address, as two host-order halves (high, low).
    case v6(UInt64, UInt64)

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text; nil if it is neither.
    /// - Parameter text: e.g. `10.213.0.2` or `fd00:caf::2`.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, text, &bytes) == 1 else { return nil }
        self = IPAddress(bytes: bytes)!
    }

    /// The address of 4 (IPv4) or 16 (IPv6) network-order bytes; nil for another length.
    /// - Parameter bytes: the address bytes.
    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            self = .v4(bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self = .v6(high, low)
        default:
            return nil
        }
    }

    /// The network-order bytes (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value):
            return (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
        case .v6(let high, let low):
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
    }

    /// True for IPv6.
    public var isIPv6: Bool { if case .v6 = self { return true } else { return false } }

    /// The socket family (`AF_INET` or `AF_INET6`).
    var family: Int32 { isIPv6 ? AF_INET6 : AF_INET }

    /// True for 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let value): return value >> 24 == 127
        case .v6(let high, let low): return high == 0 && low == 1
        }
    }

    /// The address `offset` places after this one (wrapping within the family).
    func advanced(by offset: UInt64) -> IPAddress {
        switch self {
        case .v4(let value): return .v4(value &+ UInt32(truncatingIfNeeded: offset))
        case .v6(let high, let low):
            let (sum, carry) = low.addingReportingOverflow(offset)
            return .v6(high &+ (carry ? 1 : 0), sum)
        }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let bytes = self.bytes
        _ = inet_ntop(family, bytes, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v6(let a1, let a2), .v6(let b1, let b2)): return (a1, a2) < (b1, b2)
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
