import Foundation

// Format: docker/cli cli/config/configfile/file.go (ConfigFile, AuthConfig);
// containers-auth.json(5) uses the same `auths` shape.
/// The credential parts of a Docker `config.json` or a containers `auth.json`.
struct DockerConfigFile: Decodable, Sendable {
    /// One `auths` entry.
    struct AuthEntry: Decodable, Sendable {
        /// base64 of `username:password`.
        var auth: String?
        var username: String?
        var password: String?
        /// An OAuth2 refresh token.
        var identitytoken: String?
    }

    var auths: [String: AuthEntry]?
    /// The default credential helper (`docker-credential-<credsStore>`).
    var credsStore: String?
    /// Per-registry credential helpers.
    var credHelpers: [String: String]?

    /// Reads and decodes a config file; `nil` if it does not exist.
    static func load(_ path: String) throws -> DockerConfigFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RegistryError(.invalidConfiguration, "cannot read credentials file \(path)", underlying: error)
        }
        do {
            return try JSONDecoder().decode(DockerConfigFile.self, from: data)
        } catch {
            // The decoding error may quote file content; keep secrets out of the message.
            throw RegistryError(.invalidConfiguration, "credentials file \(path) is not valid JSON of the config.json format")
        }
    }

    /// The entry for a registry host, matching keys written with a scheme or path
    /// (`https://index.docker.io/v1/`) and Docker Hub's aliases.
    func authEntry(for host: String) -> AuthEntry? {
        guard let auths else { return nil }
        let wanted = CredentialStore.normalizedHost(host)
        if let exact = auths[host] { return exact }
        return auths.first { CredentialStore.normalizedHost($0.key) == wanted }?.value
    }

    /// The helper named for a registry host in `credHelpers`.
    func helper(for host: String) -> String? {
        guard let credHelpers else { return nil }
        let wanted = CredentialStore.normalizedHost(host)
        return credHelpers[host] ?? credHelpers.first { CredentialStore.normalizedHost($0.key) == wanted }?.value
    }

    /// Turns an `auths` entry into a credential.
    static func credential(from entry: AuthEntry, host: String, path: String) throws -> RegistryCredential? {
        if let token = entry.identitytoken, !token.isEmpty { return .identityToken(token) }
        if let auth = entry.auth, !auth.isEmpty {
            guard let data = Data(base64Encoded: auth), let decoded = String(data: data, encoding: .utf8),
                let colon = decoded.firstIndex(of: ":")
            else {
                throw RegistryError(
                    .invalidConfiguration, "\(path): auths entry for \(host) is not base64 of username:password")
            }
            return .basic(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
        }
        if let username = entry.username, let password = entry.password {
            return .basic(username: username, password: password)
        }
        return nil
    }
}
