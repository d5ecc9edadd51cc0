import Foundation

/// Settings of a ``RegistryClient``: which registries speak plain HTTP, per-registry
/// mirrors and TLS settings, size bounds, parallelism, upload chunking, retries and timeouts.
public struct RegistryConfiguration: Sendable {
    /// Registry hosts (`host` or `host:port`) reached over plain HTTP. Loopback hosts
    /// (`localhost`, `127.0.0.0/8`, `[::1]`) always are, as Docker treats them.
    public var insecureRegistries: Set<String>
    /// The largest manifest or index accepted, in bytes (4 MiB, as containerd).
    public var maxManifestSize: Int
    /// The largest image configuration blob accepted, in bytes.
    public var maxConfigSize: Int64
    /// The largest blob accepted, whatever its descriptor says.
    public var maxBlobSize: Int64
    /// How many blobs a pull downloads at once (at least 1).
    public var maxConcurrentDownloads: Int
    /// Blobs larger than this are pushed in `PATCH` chunks of this size; smaller ones in
    /// one monolithic `PUT`.
    public var uploadChunkSize: Int
    /// Retries of failed requests and interrupted downloads.
    public var retry: RetryPolicy
    /// How long establishing a connection may take.
    public var connectTimeout: Duration
    /// How long a response may stall without a byte arriving.
    public var readTimeout: Duration
    /// The deadline of one request other than a blob transfer.
    public var requestTimeout: Duration
    /// The deadline of one blob download or upload request.
    public var blobTimeout: Duration
    /// The `User-Agent` header.
    public var userAgent: String
    /// Per-registry settings (mirrors, plain HTTP or TLS, CA and client certificates),
    /// keyed by reference domain or registry host (`docker.io`, `127.0.0.1:5000`).
    public var hosts: [String: RegistryHostConfiguration]
    /// `certs.d`-style directories searched for `HOST/*.crt` (CAs) and
    /// `HOST/NAME.cert` + `HOST/NAME.key` (client certificates), in order. Empty by
    /// default; ``standardCertificateDirectories`` are Docker's and Podman's.
    public var certificateDirectories: [String]

    /// Podman's and Docker's per-registry certificate directories.
    public static let standardCertificateDirectories = ["/etc/containers/certs.d", "/etc/docker/certs.d"]

    /// Creates a configuration.
    /// - Parameters:
    ///   - insecureRegistries: hosts to reach over plain HTTP besides loopback.
    ///   - maxManifestSize: manifest size bound in bytes.
    ///   - maxConfigSize: configuration blob size bound in bytes.
    ///   - maxBlobSize: blob size bound in bytes.
    ///   - maxConcurrentDownloads: parallel blob downloads of a pull.
    ///   - uploadChunkSize: chunk size of chunked uploads.
    ///   - retry: the retry policy.
    ///   - connectTimeout: connection timeout.
    ///   - readTimeout: timeout between two received bytes.
    ///   - requestTimeout: deadline of non-blob requests.
    ///   - blobTimeout: deadline of blob requests.
    ///   - userAgent: the `User-Agent` header.
    ///   - hosts: per-registry settings keyed by domain or host.
    ///   - certificateDirectories: `certs.d`-style directories.
    public init(
        insecureRegistries: Set<String> = [], maxManifestSize: Int = 4 << 20, maxConfigSize: Int64 = 16 << 20,
        maxBlobSize: Int64 = 64 << 30, maxConcurrentDownloads: Int = 3, uploadChunkSize: Int = 16 << 20,
        retry: RetryPolicy = RetryPolicy(), connectTimeout: Duration = .seconds(15),
        readTimeout: Duration = .seconds(60), requestTimeout: Duration = .seconds(120),
        blobTimeout: Duration = .seconds(3600), userAgent: String = "caisson/0.1",
        hosts: [String: RegistryHostConfiguration] = [:], certificateDirectories: [String] = []
    ) {
        self.insecureRegistries = insecureRegistries
        self.maxManifestSize = maxManifestSize
        self.maxConfigSize = maxConfigSize
        self.maxBlobSize = maxBlobSize
        self.maxConcurrentDownloads = max(1, maxConcurrentDownloads)
        self.uploadChunkSize = max(1, uploadChunkSize)
        self.retry = retry
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.requestTimeout = requestTimeout
        self.blobTimeout = blobTimeout
        self.userAgent = userAgent
        self.hosts = hosts
        self.certificateDirectories = certificateDirectories
    }

    /// Whether a registry host is reached over plain HTTP: what its host settings say,
    /// else HTTPS if they carry TLS settings (a CA, a client certificate), else plain HTTP
    /// for loopback hosts and those listed in ``insecureRegistries``.
    /// - Parameter host: `host` or `host:port`, as in a reference's domain.
    /// - Returns: `true` for plain HTTP, `false` for HTTPS.
    public func usesPlainHTTP(_ host: String) -> Bool {
        if let settings = try? hostConfiguration(for: host) {
            if let plainHTTP = settings.plainHTTP { return plainHTTP }
            if settings.hasTLSSettings { return false }
        }
        if insecureRegistries.contains(host) { return true }
        return Self.isLoopback(host)
    }

    /// The settings of one registry: the entry of ``hosts`` for the host (or for its
    /// Docker Hub alias: `docker.io` also covers `registry-1.docker.io`), plus the
    /// certificates found for it in ``certificateDirectories``.
    /// - Parameter host: `host` or `host:port`.
    /// - Returns: the merged settings (empty if nothing is configured).
    /// - Throws: ``RegistryError`` `invalidConfiguration` for a client certificate
    ///   without its key (or a key without its certificate).
    public func hostConfiguration(for host: String) throws -> RegistryHostConfiguration {
        let names = Self.lookupNames(host)
        var settings = names.lazy.compactMap { hosts[$0] }.first
            ?? hosts.first(where: { names.contains(CredentialStore.normalizedHost($0.key)) })?.value
            ?? RegistryHostConfiguration()
        for directory in certificateDirectories {
            for name in names {
                try settings.addCertificates(fromDirectory: "\(directory)/\(name)")
            }
        }
        return settings
    }

    /// The names a host's settings may be filed under: itself, then its normalised form
    /// (`registry-1.docker.io` → `docker.io`).
    static func lookupNames(_ host: String) -> [String] {
        let normalized = CredentialStore.normalizedHost(host)
        return normalized == host ? [host] : [host, normalized]
    }

    /// Whether `host` (with or without port) names the loopback interface.
    static func isLoopback(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasPrefix("[") {
            guard let end = name.firstIndex(of: "]") else { return false }
            return name[name.index(after: name.startIndex)..<end] == "::1"
        }
        if let colon = name.lastIndex(of: ":") { name = name[..<colon] }
        if name == "localhost" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) else { return false }
        return octets[0] == "127"
    }
}
