import Foundation
import NIOSSL
import OCISpec

// Mirrors: Docker's registry-mirrors and containerd's hosts.toml (pull only, tried in
// order, falling back to the registry). TLS files: Docker's certs.d layout.
extension RegistryClient {
    /// The endpoints a pull of `reference` tries, in order: the mirrors configured for
    /// its domain (``RegistryHostConfiguration/mirrors``), then the registry itself.
    /// Docker Hub references (`docker.io/…`) go to `registry-1.docker.io`, and mirrors
    /// filed under `docker.io` apply to them.
    /// - Parameter reference: the image.
    /// - Returns: mirrors first, the registry last; never empty.
    /// - Throws: ``RegistryError`` `invalidConfiguration` for a malformed mirror setting or
    ///   an incomplete client certificate in a certificates directory.
    public func pullEndpoints(for reference: Reference) throws -> [RegistryEndpoint] {
        let host = reference.registryHost
        if let cached = hostCache.withLock({ $0.pullEndpoints[host] }) { return cached }
        let settings = try configuration.hostConfiguration(for: host)
        var endpoints = try settings.mirrors.map {
            try RegistryEndpoint.mirror($0, of: reference.domain, configuration: configuration)
        }
        endpoints.removeAll { $0.host == host }
        endpoints.append(endpoint(host: host))
        hostCache.withLock { $0.pullEndpoints[host] = endpoints }
        return endpoints
    }

    /// Runs `body` against each pull endpoint of `reference` until one succeeds: a
    /// mirror's failure (of any kind) moves on to the next endpoint; the registry's own
    /// failure is thrown. Requests to mirrors are not retried: the fallback is the retry.
    func fromPullEndpoints<T>(
        _ reference: Reference, subject: String, _ body: (RegistryEndpoint) async throws -> T
    ) async throws -> T {
        let endpoints = try pullEndpoints(for: reference)
        for endpoint in endpoints.dropLast() {
            do {
                return try await body(endpoint)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.debug(
                    "mirror failed; trying the next endpoint",
                    metadata: ["mirror": "\(endpoint.host)", "subject": "\(subject)", "error": "\(error)"])
            }
        }
        return try await body(endpoints[endpoints.count - 1])
    }

    /// The endpoint of a registry host (the scheme decided once per host: deciding reads
    /// the certificate directories).
    func endpoint(host: String) -> RegistryEndpoint {
        if let cached = hostCache.withLock({ $0.endpoints[host] }) { return cached }
        let endpoint = RegistryEndpoint(host: host, configuration: configuration)
        hostCache.withLock { $0.endpoints[host] = endpoint }
        return endpoint
    }

    /// The TLS configuration for requests to `url`'s host: nil (the client's default,
    /// system CAs) unless the host has TLS settings, built once per host.
    /// - Throws: ``RegistryError`` `invalidConfiguration` naming an unreadable certificate
    ///   or key file.
    func tlsConfiguration(forURL url: String) throws -> TLSConfiguration? {
        guard url.lowercased().hasPrefix("https://") else { return nil }
        let host = Self.hostOf(url)
        if let cached = hostCache.withLock({ $0.tls[host] }) { return cached }
        let settings = try configuration.hostConfiguration(for: host)
        var built: TLSConfiguration?
        if settings.hasTLSSettings {
            var tls = TLSConfiguration.makeClientConfiguration()
            if !settings.caCertificateFiles.isEmpty {
                var certificates: [NIOSSLCertificate] = []
                for path in settings.caCertificateFiles {
                    do {
                        certificates += try NIOSSLCertificate.fromPEMFile(path)
                    } catch {
                        throw RegistryError(
                            .invalidConfiguration, "CA certificate file \(path) for \(host) is not readable PEM", underlying: error)
                    }
                }
                tls.additionalTrustRoots = [.certificates(certificates)]
            }
            if let certificatePath = settings.clientCertificateFile {
                guard let keyPath = settings.clientKeyFile else {
                    throw RegistryError(.invalidConfiguration, "client certificate \(certificatePath) for \(host) has no key file")
                }
                do {
                    tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
                } catch {
                    throw RegistryError(
                        .invalidConfiguration, "client certificate \(certificatePath) for \(host) is not readable PEM")
                }
                do {
                    tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
                } catch {
                    // The error of a key parser is not quoted: it may echo key material.
                    throw RegistryError(.invalidConfiguration, "client key \(keyPath) for \(host) is not a readable PEM key")
                }
            }
            if settings.skipTLSVerify { tls.certificateVerification = .none }
            built = tls
        }
        hostCache.withLock { $0.tls[host] = .some(built) }
        return built
    }

    /// The error for a request that got no response: `tls` for a failed TLS handshake
    /// (with what to do about it), `transport` otherwise (retried).
    static func transportError(_ error: any Error, subject: String, what: String, url: String) -> RegistryError {
        guard let reason = tlsFailureReason(error) else {
            return RegistryError(.transport, "\(subject): \(what) failed", underlying: error)
        }
        let host = hostOf(url)
        return RegistryError(
            .tls,
            "\(subject): TLS handshake with \(host) failed: \(reason); to trust a private CA put it in certs.d/\(host)/ca.crt or RegistryHostConfiguration.caCertificateFiles",
            underlying: error)
    }

    /// Why a connection error is a TLS failure, or nil if it is not one.
    static func tlsFailureReason(_ error: any Error) -> String? {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") { return "the server's certificate is not signed by a trusted CA" }
        if error is NIOSSLExtraError { return "the server's certificate is not valid for this host name" }
        if text.contains("WRONG_VERSION_NUMBER") { return "the server does not speak TLS (a plain HTTP registry?)" }
        if error is NIOSSLError || error is BoringSSLError { return "\(error)" }
        return nil
    }
}

/// What a ``RegistryClient`` derived from its configuration per registry host: the
/// registry's endpoint (scheme), its pull endpoints (mirrors first) and its TLS
/// configuration (nil: the system's CAs). Held in a `Mutex`.
struct HostCache: Sendable {
    var endpoints: [String: RegistryEndpoint] = [:]
    var pullEndpoints: [String: [RegistryEndpoint]] = [:]
    var tls: [String: TLSConfiguration?] = [:]
}
