import NIOCore
import NIOHTTP1

/// One distribution API request as ``RegistryClient`` sends it: replayable (for auth
/// retries, redirects and backoff), with the token scopes it needs and a readable
/// subject for errors.
struct RegistryRequest: Sendable {
    var method: HTTPMethod
    var url: String
    var headers: HTTPHeaders
    var body: ByteBuffer?
    /// Token scopes: `repository:NAME:pull` or `repository:NAME:pull,push`.
    var scopes: [String]
    /// What the request is about, for error messages: a reference, digest or URL.
    var subject: String
    /// Whether 5xx/429 and connection failures are retried.
    var retryable: Bool
    /// Whether redirects are followed (blob GETs: storage back ends redirect).
    var followsRedirects: Bool
    /// The deadline of the request, from when it is sent.
    var timeout: Duration

    init(
        _ method: HTTPMethod, _ url: String, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer? = nil,
        scopes: [String], subject: String, retryable: Bool = true, followsRedirects: Bool = false,
        timeout: Duration
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.scopes = scopes
        self.subject = subject
        self.retryable = retryable
        self.followsRedirects = followsRedirects
        self.timeout = timeout
    }
}
