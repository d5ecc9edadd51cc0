import Foundation
import OCISpec

/// Where one registry is reached: scheme and authority, and the URLs of the
/// distribution API under it.
struct RegistryEndpoint: Hashable, Sendable {
    /// `http` or `https`.
    let scheme: String
    /// `host` or `host:port`.
    let host: String

    init(host: String, configuration: RegistryConfiguration) {
        self.host = host
        self.scheme = configuration.usesPlainHTTP(host) ? "http" : "https"
    }

    init(reference: Reference, configuration: RegistryConfiguration) {
        self.init(host: reference.registryHost, configuration: configuration)
    }

    /// `scheme://host`.
    var base: String { "\(scheme)://\(host)" }

    /// `scheme://host/v2/` followed by `path`.
    func url(_ path: String) -> String { "\(base)/v2/\(path)" }

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
