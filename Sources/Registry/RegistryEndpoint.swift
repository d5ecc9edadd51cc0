import Foundation
import OCISpec

/// Where one registry (or one of its mirrors) is reached: scheme and authority, and the
/// URLs of the distribution API under it.
public struct RegistryEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// `host` or `host:port`.
    public let host: String
    /// Whether this endpoint is a pull mirror of the registry rather than the registry.
    public let isMirror: Bool

    /// An endpoint with an explicit scheme.
    /// - Parameters:
    ///   - scheme: `http` or `https`.
    ///   - host: `host` or `host:port`.
    ///   - isMirror: whether it is a pull mirror.
    public init(scheme: String, host: String, isMirror: Bool = false) {
        self.scheme = scheme
        self.host = host
        self.isMirror = isMirror
    }

    /// The endpoint of a registry host, with the scheme the configuration gives it.
    /// - Parameters:
    ///   - host: `host` or `host:port`.
    ///   - configuration: decides plain HTTP or HTTPS.
    public init(host: String, configuration: RegistryConfiguration) {
        self.init(scheme: configuration.usesPlainHTTP(host) ? "http" : "https", host: host)
    }

    /// Parses a mirror setting: `host[:port]` (scheme from the configuration) or
    /// `http(s)://host[:port]` with at most a trailing `/`.
    /// - Throws: ``RegistryError`` `invalidConfiguration` naming the mirror.
    static func mirror(_ setting: String, of registry: String, configuration: RegistryConfiguration) throws -> RegistryEndpoint {
        var rest = Substring(setting.trimmingCharacters(in: .whitespaces))
        var scheme: String?
        for candidate in ["http", "https"] where rest.lowercased().hasPrefix("\(candidate)://") {
            scheme = candidate
            rest = rest.dropFirst(candidate.count + 3)
        }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?"), !rest.contains(" ") else {
            throw RegistryError(
                .invalidConfiguration, "mirror \"\(setting)\" of \(registry) is not host[:port] or http(s)://host[:port]")
        }
        let host = String(rest)
        return RegistryEndpoint(
            scheme: scheme ?? (configuration.usesPlainHTTP(host) ? "http" : "https"), host: host, isMirror: true)
    }

    /// `scheme://host`.
    public var base: String { "\(scheme)://\(host)" }

    /// `scheme://host/v2/` followed by `path`.
    /// - Parameter path: the API path after `/v2/`.
    /// - Returns: the absolute URL.
    public func url(_ path: String) -> String { "\(base)/v2/\(path)" }

    /// `scheme://host` (and ` (mirror)` for mirrors).
    public var description: String { isMirror ? "\(base) (mirror)" : base }

    /// Resolves a `Location` header against a request URL.
    static func resolve(_ location: String, against requestURL: String) -> String? {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        guard let base = URL(string: requestURL), let url = URL(string: location, relativeTo: base) else { return nil }
        return url.absoluteString
    }

    /// The `host[:port]` of an absolute URL, lowercased, for same-origin checks.
    static func authority(of url: String) -> String? {
        guard let components = URLComponents(string: url), let host = components.host?.lowercased() else { return nil }
        if let port = components.port { return "\(components.scheme ?? ""):\(host):\(port)" }
        return "\(components.scheme ?? ""):\(host)"
    }
}
