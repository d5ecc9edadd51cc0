import Foundation

/// Per-registry settings: mirrors tried before the registry on pulls, and how the
/// registry is reached (plain HTTP or TLS, with which CA and client certificate).
///
/// Set them in ``RegistryConfiguration/hosts`` under the reference's domain
/// (`docker.io`, `ghcr.io`, `127.0.0.1:5000`), or drop files in a certificates directory
/// (``RegistryConfiguration/certificateDirectories``) laid out as Docker's and Podman's
/// `certs.d`: `DIR/HOST/*.crt` are CA certificates, `DIR/HOST/NAME.cert` with
/// `DIR/HOST/NAME.key` a client certificate and key.
public struct RegistryHostConfiguration: Hashable, Sendable {
    /// Mirrors tried in order before the registry itself when pulling (manifests and
    /// blobs, never pushes): `host[:port]`, or `http://host[:port]` / `https://host[:port]`
    /// to force a scheme. Any failure at a mirror (missing content, refusal, connection,
    /// bad content) falls back to the next mirror and finally to the registry.
    public var mirrors: [String]
    /// Whether the registry speaks plain HTTP; when nil, loopback hosts and
    /// ``RegistryConfiguration/insecureRegistries`` do unless TLS settings are given here.
    public var plainHTTP: Bool?
    /// PEM files of CA certificates trusted for this registry, on top of the system's.
    public var caCertificateFiles: [String]
    /// A PEM client certificate (chain) presented to the registry.
    public var clientCertificateFile: String?
    /// The PEM private key of ``clientCertificateFile``.
    public var clientKeyFile: String?
    /// Accept any server certificate. Only for tests and throwaway registries: content is
    /// still verified by digest, but credentials and tags are exposed to anyone in the path.
    public var skipTLSVerify: Bool

    /// Creates host settings.
    /// - Parameters:
    ///   - mirrors: pull mirrors, tried in order before the registry.
    ///   - plainHTTP: force plain HTTP (`true`) or TLS (`false`); the default rule when nil.
    ///   - caCertificateFiles: PEM CA certificates trusted for this registry.
    ///   - clientCertificateFile: a PEM client certificate.
    ///   - clientKeyFile: its PEM private key.
    ///   - skipTLSVerify: accept any server certificate.
    public init(
        mirrors: [String] = [], plainHTTP: Bool? = nil, caCertificateFiles: [String] = [],
        clientCertificateFile: String? = nil, clientKeyFile: String? = nil, skipTLSVerify: Bool = false
    ) {
        self.mirrors = mirrors
        self.plainHTTP = plainHTTP
        self.caCertificateFiles = caCertificateFiles
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.skipTLSVerify = skipTLSVerify
    }

    /// Whether any TLS setting is given (a CA, a client certificate, or no verification):
    /// asking for TLS settings means the registry speaks TLS, even on loopback.
    public var hasTLSSettings: Bool {
        !caCertificateFiles.isEmpty || clientCertificateFile != nil || skipTLSVerify
    }

    /// Adds the files of one `certs.d/HOST` directory: `*.crt` as CAs, `*.cert` with the
    /// `*.key` of the same name as the client certificate (Docker's rules).
    /// - Throws: ``RegistryError`` `invalidConfiguration` for a `.cert` without its `.key`
    ///   or the other way round.
    mutating func addCertificates(fromDirectory directory: String) throws {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for entry in entries.sorted() {
            let path = "\(directory)/\(entry)"
            if entry.hasSuffix(".crt") {
                if !caCertificateFiles.contains(path) { caCertificateFiles.append(path) }
            } else if entry.hasSuffix(".cert") {
                let key = "\(directory)/\(entry.dropLast(".cert".count)).key"
                guard FileManager.default.fileExists(atPath: key) else {
                    throw RegistryError(.invalidConfiguration, "client certificate \(path) has no key \(key)")
                }
                if clientCertificateFile == nil {
                    clientCertificateFile = path
                    clientKeyFile = key
                }
            } else if entry.hasSuffix(".key") {
                let certificate = "\(directory)/\(entry.dropLast(".key".count)).cert"
                guard FileManager.default.fileExists(atPath: certificate) else {
                    throw RegistryError(.invalidConfiguration, "client key \(path) has no certificate \(certificate)")
                }
            }
        }
    }
}
