import Foundation

/// What a client has learned about authenticating to each registry host: the scheme
/// its challenge asked for, bearer tokens per scope set until they expire, and the
/// credential found for the host. Held in a `Mutex` by ``RegistryClient``.
struct AuthCache: Sendable {
    /// How a host wants to be authenticated.
    enum Scheme: Hashable, Sendable {
        /// Basic auth with the host's credential.
        case basic
        /// Tokens from `realm` for `service`.
        case bearer(realm: String, service: String?)
    }

    /// A token and when it stops being usable.
    struct Token: Sendable {
        var value: String
        var expires: ContinuousClock.Instant
    }

    var schemes: [String: Scheme] = [:]
    var tokens: [String: Token] = [:]
    var credentials: [String: RegistryCredential?] = [:]

    static func tokenKey(host: String, scopes: [String]) -> String {
        host + " " + scopes.sorted().joined(separator: " ")
    }
}
