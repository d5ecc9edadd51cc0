import Foundation

/// Where a ``RegistryClient`` finds credentials for a registry host: explicit entries
/// first, then each credentials file in order (`credHelpers`, then `credsStore`, then
/// `auths`), as the Docker CLI reads `config.json`.
public struct CredentialStore: Sendable {
    /// Credentials given directly, keyed by registry host (`ghcr.io`, `localhost:5000`).
    public var explicit: [String: RegistryCredential]
    /// Docker `config.json` or containers `auth.json` files, searched in order.
    public var configFiles: [String]
    /// Directories searched for `docker-credential-NAME`; the `PATH` when nil.
    public var helperSearchPath: [String]?

    /// Creates a store.
    /// - Parameters:
    ///   - explicit: credentials keyed by registry host.
    ///   - configFiles: credentials files to search, in order.
    ///   - helperSearchPath: where credential helpers are looked up; `PATH` when nil.
    public init(
        explicit: [String: RegistryCredential] = [:], configFiles: [String] = [], helperSearchPath: [String]? = nil
    ) {
        self.explicit = explicit
        self.configFiles = configFiles
        self.helperSearchPath = helperSearchPath
    }

    /// No credentials: every registry is accessed anonymously.
    public static let anonymous = CredentialStore()

    /// The credentials files a Docker or Podman user has: `$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, then `$DOCKER_CONFIG/config.json` or
    /// `~/.docker/config.json`.
    /// - Parameter environment: the environment to read; the process's by default.
    /// - Returns: a store searching those files.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> CredentialStore {
        var files: [String] = []
        if let authFile = environment["REGISTRY_AUTH_FILE"], !authFile.isEmpty { files.append(authFile) }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { files.append("\(runtime)/containers/auth.json") }
        if let dockerConfig = environment["DOCKER_CONFIG"], !dockerConfig.isEmpty {
            files.append("\(dockerConfig)/config.json")
        } else if let home = environment["HOME"], !home.isEmpty {
            files.append("\(home)/.docker/config.json")
        }
        return CredentialStore(configFiles: files)
    }

    /// Finds the credential for a registry host.
    /// - Parameter host: the registry host (`registry-1.docker.io`, `127.0.0.1:5000`).
    /// - Returns: the credential, or `nil` for anonymous access.
    /// - Throws: ``RegistryError`` `invalidConfiguration` naming the file or helper at
    ///   fault; never the secret.
    public func credential(for host: String) async throws -> RegistryCredential? {
        let wanted = Self.normalizedHost(host)
        if let credential = explicit[host] ?? explicit.first(where: { Self.normalizedHost($0.key) == wanted })?.value {
            return credential
        }
        for path in configFiles {
            guard let file = try DockerConfigFile.load(path) else { continue }
            if let helper = file.helper(for: host) {
                if let credential = try await CredentialHelper(name: helper, searchPath: helperSearchPath)
                    .get(host: Self.helperServerName(host)) {
                    return credential
                }
            } else if let store = file.credsStore, !store.isEmpty {
                if let credential = try await CredentialHelper(name: store, searchPath: helperSearchPath)
                    .get(host: Self.helperServerName(host)) {
                    return credential
                }
            }
            if let entry = file.authEntry(for: host),
                let credential = try DockerConfigFile.credential(from: entry, host: host, path: path)
            {
                return credential
            }
        }
        return nil
    }

    /// A registry key without scheme and path, with Docker Hub's names folded to `docker.io`.
    static func normalizedHost(_ key: String) -> String {
        var host = Substring(key.lowercased())
        if let scheme = host.range(of: "://") { host = host[scheme.upperBound...] }
        if let slash = host.firstIndex(of: "/") { host = host[..<slash] }
        switch host {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return "docker.io"
        default: return String(host)
        }
    }

    /// The server name Docker passes to helpers: the v1 index URL for Docker Hub.
    static func helperServerName(_ host: String) -> String {
        normalizedHost(host) == "docker.io" ? "https://index.docker.io/v1/" : host
    }
}
