import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import OCISpec
import Synchronization

/// A client of the OCI distribution API: resolves references to manifests, pulls
/// images into an `ImageStore`, pushes them back, and authenticates (anonymous, basic,
/// bearer token) with credentials from a ``CredentialStore``.
///
/// Every manifest and blob is verified against its digest before it is used or
/// committed, and every response is size-bounded. Plain HTTP is used only for loopback
/// registries and those listed in ``RegistryConfiguration/insecureRegistries``; TLS
/// trusts the system's CAs plus those configured per registry
/// (``RegistryHostConfiguration``), and pulls try a registry's mirrors first.
///
/// ```swift
/// try await RegistryClient.withClient { client in
///     let image = try await client.pull(try Reference(parsing: "busybox"), into: store)
/// }
/// ```
///
/// A client owns an HTTP connection pool: call ``shutdown()`` when done, or use
/// ``withClient(configuration:credentials:logger:isolation:_:)``.
public final class RegistryClient: Sendable {
    /// The client's settings.
    public let configuration: RegistryConfiguration
    /// Where credentials come from.
    public let credentials: CredentialStore
    let http: HTTPClient
    let logger: Logger
    let auth = Mutex(AuthCache())
    /// What the client derived from the configuration per host, computed once.
    let hostCache = Mutex(HostCache())

    /// Creates a client. Call ``shutdown()`` before it is released.
    /// - Parameters:
    ///   - configuration: bounds, parallelism, retries, timeouts and insecure registries.
    ///   - credentials: where credentials come from; anonymous by default.
    ///   - logger: where to log (never secrets); a no-op logger by default.
    public init(
        configuration: RegistryConfiguration = RegistryConfiguration(),
        credentials: CredentialStore = .anonymous,
        logger: Logger = Logger(label: "caisson.registry", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.configuration = configuration
        self.credentials = credentials
        self.logger = logger
        var httpConfiguration = HTTPClient.Configuration()
        // Redirects are followed by hand so Authorization never leaves the registry host.
        httpConfiguration.redirectConfiguration = .disallow
        httpConfiguration.timeout = HTTPClient.Configuration.Timeout(
            connect: Self.timeAmount(configuration.connectTimeout), read: Self.timeAmount(configuration.readTimeout))
        httpConfiguration.decompression = .disabled
        // A failed connection fails its request at once: the client's RetryPolicy decides
        // about retries (with backoff), a dead mirror falls back to the registry without
        // waiting out the connect timeout, and a TLS handshake that cannot succeed (an
        // untrusted certificate) is reported at once instead of retried until the timeout.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
    }

    /// Closes the client's connections. The client must not be used afterwards.
    /// - Throws: what the HTTP client's shutdown throws.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Runs `body` with a new client and shuts the client down when `body` returns or throws.
    /// - Parameters:
    ///   - configuration: the client's settings.
    ///   - credentials: where credentials come from.
    ///   - logger: where to log.
    ///   - isolation: the caller's isolation, inherited by `body`.
    ///   - body: receives the client.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws, or a shutdown failure.
    public static func withClient<R>(
        configuration: RegistryConfiguration = RegistryConfiguration(),
        credentials: CredentialStore = .anonymous,
        logger: Logger = Logger(label: "caisson.registry", factory: { _ in SwiftLogNoOpLogHandler() }),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (RegistryClient) async throws -> sending R
    ) async throws -> sending R {
        let client = RegistryClient(configuration: configuration, credentials: credentials, logger: logger)
        let result: R
        do {
            result = try await body(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return result
    }

    // MARK: - Sending

    /// Sends a request with authentication, redirects and retries; returns the final
    /// response (any status) with its body still to be read.
    func send(_ request: RegistryRequest) async throws -> HTTPClientResponse {
        var attempt = 1
        while true {
            do {
                let response = try await sendAuthorized(request)
                let status = response.status.code
                if request.retryable, status == 429 || (500...599).contains(status),
                    attempt < configuration.retry.maxAttempts
                {
                    let retryAfter = Self.retryAfter(response.headers)
                    await Self.discard(response)
                    let delay = configuration.retry.delay(beforeRetry: attempt, retryAfter: retryAfter)
                    logger.debug("retrying after HTTP status", metadata: ["url": "\(request.url)", "status": "\(status)", "delay": "\(delay)"])
                    attempt += 1
                    try await Task.sleep(for: delay)
                    continue
                }
                return response
            } catch let error as RegistryError where error.code == .transport && request.retryable
                && attempt < configuration.retry.maxAttempts
            {
                let delay = configuration.retry.delay(beforeRetry: attempt)
                logger.debug("retrying after transport error", metadata: ["url": "\(request.url)", "error": "\(error)"])
                attempt += 1
                try await Task.sleep(for: delay)
            }
        }
    }

    /// One attempt: authorization header from the cache, the request (following
    /// redirects), and on 401 one new authorization from the challenge and one retry.
    private func sendAuthorized(_ request: RegistryRequest) async throws -> HTTPClientResponse {
        let endpointHost = Self.hostOf(request.url)
        var authorization = try await cachedAuthorization(host: endpointHost, scopes: request.scopes, url: request.url)
        var response = try await execute(request, authorization: authorization)
        guard response.status == .unauthorized else { return response }
        let header = response.headers.first(name: "WWW-Authenticate")
        await Self.discard(response)
        guard let header, !header.isEmpty else {
            throw RegistryError(.unauthorized, "\(request.subject): HTTP 401 without a WWW-Authenticate challenge from \(request.url)")
        }
        let challenges = try AuthChallenge.parse(header)
        authorization = try await authorize(
            challenges: challenges, host: endpointHost, scopes: request.scopes, failed: authorization,
            subject: request.subject)
        response = try await execute(request, authorization: authorization)
        return response
    }

    /// Executes a request, following redirects for GET/HEAD when allowed. The
    /// Authorization header goes only to the origin of the first URL.
    private func execute(_ request: RegistryRequest, authorization: String?) async throws -> HTTPClientResponse {
        var url = request.url
        let origin = RegistryEndpoint.authority(of: request.url)
        for _ in 0..<10 {
            var outgoing = HTTPClientRequest(url: url)
            outgoing.method = request.method
            outgoing.headers = request.headers
            outgoing.headers.replaceOrAdd(name: "User-Agent", value: configuration.userAgent)
            outgoing.tlsConfiguration = try tlsConfiguration(forURL: url)
            if let authorization, RegistryEndpoint.authority(of: url) == origin {
                outgoing.headers.replaceOrAdd(name: "Authorization", value: authorization)
            }
            if let body = request.body {
                outgoing.body = .bytes(body)
            } else if request.method == .PUT || request.method == .POST || request.method == .PATCH {
                outgoing.headers.replaceOrAdd(name: "Content-Length", value: "0")
            }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(outgoing, timeout: Self.timeAmount(request.timeout), logger: logger)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw Self.transportError(error, subject: request.subject, what: "\(request.method) \(url)", url: url)
            }
            let status = response.status.code
            guard request.followsRedirects, [301, 302, 303, 307, 308].contains(status),
                let location = response.headers.first(name: "Location"),
                let next = RegistryEndpoint.resolve(location, against: url)
            else { return response }
            await Self.discard(response)
            logger.debug("following redirect", metadata: ["from": "\(url)", "status": "\(status)"])
            url = next
        }
        throw RegistryError(.protocolError, "\(request.subject): more than 10 redirects from \(request.url)")
    }

    // MARK: - Responses

    /// Reads a whole body, refusing more than `limit` bytes.
    func collect(_ response: HTTPClientResponse, limit: Int, subject: String) async throws -> Data {
        if let length = response.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
            await Self.discard(response)
            throw RegistryError(.tooLarge, "\(subject): response of \(length) bytes exceeds the bound of \(limit) bytes")
        }
        do {
            var data = Data()
            for try await buffer in response.body {
                guard data.count + buffer.readableBytes <= limit else {
                    throw RegistryError(.tooLarge, "\(subject): response exceeds the bound of \(limit) bytes")
                }
                data.append(contentsOf: buffer.readableBytesView)
            }
            return data
        } catch let error as RegistryError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw RegistryError(.transport, "\(subject): reading the response failed", underlying: error)
        }
    }

    /// The error for an unexpected status, with the registry's error codes and messages.
    func failure(_ response: HTTPClientResponse, subject: String, url: String) async -> RegistryError {
        let status = response.status.code
        let body = (try? await collect(response, limit: 64 << 10, subject: subject)) ?? Data()
        let parsed = DistributionErrorBody.parse(body)
        let codes = parsed?.codes ?? []
        let detail = parsed.map { $0.summary }.flatMap { $0.isEmpty ? nil : ": \($0)" } ?? ""
        let code: RegistryError.Code
        switch status {
        case 401: code = .unauthorized
        case 403: code = .denied
        case 404: code = .notFound
        case 413: code = .tooLarge
        case 429, 500...599: code = .transport
        default: code = codes.contains("DENIED") ? .denied : .protocolError
        }
        return RegistryError(code, "\(subject): HTTP \(status) from \(url)\(detail)", registryCodes: codes)
    }

    /// Drops a response body, closing the connection if it is large.
    static func discard(_ response: HTTPClientResponse) async {
        var remaining = 1 << 20
        do {
            for try await buffer in response.body {
                remaining -= buffer.readableBytes
                if remaining < 0 { break }
            }
        } catch {}
    }

    /// `Retry-After` in seconds (the HTTP-date form is not used by registries).
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let value = headers.first(name: "Retry-After"), let seconds = Int(value.trimmingCharacters(in: .whitespaces)),
            seconds >= 0
        else { return nil }
        return .seconds(seconds)
    }

    static func hostOf(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return url }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return components.port.map { "\(bracketed):\($0)" } ?? bracketed
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Token scope for pulling from a repository.
    static func pullScope(_ reference: Reference) -> String { "repository:\(reference.path):pull" }
    /// Token scope for pushing to a repository.
    static func pushScope(_ reference: Reference) -> String { "repository:\(reference.path):pull,push" }

    /// The registry itself (never a mirror) for a reference.
    func endpoint(_ reference: Reference) -> RegistryEndpoint {
        endpoint(host: reference.registryHost)
    }
}
