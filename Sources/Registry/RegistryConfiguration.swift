/// Settings of a ``RegistryClient``: which registries speak plain HTTP, size bounds,
/// parallelism, upload chunking, retries and timeouts.
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
    public init(
        insecureRegistries: Set<String> = [], maxManifestSize: Int = 4 << 20, maxConfigSize: Int64 = 16 << 20,
        maxBlobSize: Int64 = 64 << 30, maxConcurrentDownloads: Int = 3, uploadChunkSize: Int = 16 << 20,
        retry: RetryPolicy = RetryPolicy(), connectTimeout: Duration = .seconds(15),
        readTimeout: Duration = .seconds(60), requestTimeout: Duration = .seconds(120),
        blobTimeout: Duration = .seconds(3600), userAgent: String = "caisson/0.1"
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
    }

    /// Whether a registry host is reached over plain HTTP: loopback hosts and those
    /// listed in ``insecureRegistries``.
    /// - Parameter host: `host` or `host:port`, as in a reference's domain.
    /// - Returns: `true` for plain HTTP, `false` for HTTPS.
    public func usesPlainHTTP(_ host: String) -> Bool {
        if insecureRegistries.contains(host) { return true }
        return Self.isLoopback(host)
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
