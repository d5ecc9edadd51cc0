import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

// Spec: distribution token auth (docker/distribution docs/spec/auth/token.md, oauth.md)
extension RegistryClient {
    /// The credential for a host, looked up once per client.
    func credential(for host: String) async throws -> RegistryCredential? {
        if let cached = auth.withLock({ $0.credentials[host] }) { return cached }
        let found = try await credentials.credential(for: host)
        auth.withLock { $0.credentials[host] = .some(found) }
        return found
    }

    /// The Authorization header to send up front, from what earlier challenges taught:
    /// basic credentials, or a cached (or freshly fetched) token for these scopes.
    func cachedAuthorization(host: String, scopes: [String], url: String) async throws -> String? {
        guard let scheme = auth.withLock({ $0.schemes[host] }) else { return nil }
        switch scheme {
        case .basic:
            guard case .basic(let username, let password)? = try await credential(for: host) else { return nil }
            return Self.basicHeader(username: username, password: password)
        case .bearer(let realm, let service):
            let key = AuthCache.tokenKey(host: host, scopes: scopes)
            let now = ContinuousClock.now
            if let token = auth.withLock({ $0.tokens[key] }), token.expires > now {
                return "Bearer \(token.value)"
            }
            let token = try await fetchToken(realm: realm, service: service, scopes: scopes, host: host, subject: url)
            return "Bearer \(token)"
        }
    }

    /// Answers a 401 challenge: remembers the scheme for the host and returns the header
    /// for one retry.
    /// - Throws: ``RegistryError`` `unauthorized` if no credential fits the challenge or
    ///   the same authorization already failed.
    func authorize(
        challenges: [AuthChallenge], host: String, scopes: [String], failed: String?, subject: String
    ) async throws -> String {
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
            guard let realm = bearer.parameters["realm"], !realm.isEmpty else {
                throw RegistryError(.invalidChallenge, "\(subject): bearer challenge from \(host) has no realm")
            }
            let service = bearer.parameters["service"]
            var wanted = scopes
            if let scope = bearer.parameters["scope"] {
                for item in scope.split(separator: " ").map(String.init) where !wanted.contains(item) { wanted.append(item) }
            }
            auth.withLock {
                $0.schemes[host] = .bearer(realm: realm, service: service)
                $0.tokens[AuthCache.tokenKey(host: host, scopes: scopes)] = nil
            }
            let token = try await fetchToken(realm: realm, service: service, scopes: wanted, host: host, subject: subject)
            if wanted != scopes {
                auth.withLock {
                    $0.tokens[AuthCache.tokenKey(host: host, scopes: scopes)] = $0.tokens[AuthCache.tokenKey(host: host, scopes: wanted)]
                }
            }
            let header = "Bearer \(token)"
            if header == failed {
                throw RegistryError(.unauthorized, "\(subject): \(host) refused the token it issued")
            }
            return header
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            guard case .basic(let username, let password)? = try await credential(for: host) else {
                throw RegistryError(.unauthorized, "\(subject): \(host) requires basic authentication and no credentials are configured for it")
            }
            auth.withLock { $0.schemes[host] = .basic }
            let header = Self.basicHeader(username: username, password: password)
            if header == failed {
                throw RegistryError(.unauthorized, "\(subject): \(host) refused the credentials for \(username)")
            }
            return header
        }
        let schemes = challenges.map(\.scheme).joined(separator: ", ")
        throw RegistryError(.unauthorized, "\(subject): \(host) asks for unsupported auth scheme(s) \(schemes)")
    }

    /// Fetches a token from the realm for some scopes and caches it until it expires.
    func fetchToken(realm: String, service: String?, scopes: [String], host: String, subject: String) async throws -> String {
        guard var components = URLComponents(string: realm), let scheme = components.scheme,
            scheme == "https" || scheme == "http"
        else {
            throw RegistryError(.invalidChallenge, "\(subject): token realm \"\(realm)\" of \(host) is not an http(s) URL")
        }
        let realmHost = Self.hostOf(realm)
        if scheme == "http", !configuration.usesPlainHTTP(realmHost), !configuration.usesPlainHTTP(host) {
            throw RegistryError(
                .invalidConfiguration, "\(subject): token realm \(realm) of \(host) is plain HTTP and \(realmHost) is not marked insecure")
        }
        let credential = try await credential(for: host)
        var request: RegistryRequest
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: "application/json")
        if case .identityToken(let refreshToken) = credential {
            var form = URLComponents()
            var items = [
                URLQueryItem(name: "grant_type", value: "refresh_token"),
                URLQueryItem(name: "refresh_token", value: refreshToken),
                URLQueryItem(name: "client_id", value: "caisson"),
            ]
            if let service { items.append(URLQueryItem(name: "service", value: service)) }
            if !scopes.isEmpty { items.append(URLQueryItem(name: "scope", value: scopes.joined(separator: " "))) }
            form.queryItems = items
            headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            let body = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            request = RegistryRequest(
                .POST, realm, headers: headers, body: ByteBuffer(string: body), scopes: [], subject: subject,
                timeout: configuration.requestTimeout)
        } else {
            var items = components.queryItems ?? []
            if let service { items.append(URLQueryItem(name: "service", value: service)) }
            for scope in scopes { items.append(URLQueryItem(name: "scope", value: scope)) }
            components.queryItems = items
            if case .basic(let username, let password)? = credential {
                headers.add(name: "Authorization", value: Self.basicHeader(username: username, password: password))
            }
            request = RegistryRequest(
                .GET, components.string ?? realm, headers: headers, scopes: [], subject: subject,
                timeout: configuration.requestTimeout)
        }
        request.retryable = true
        let response = try await sendTokenRequest(request)
        guard response.status == .ok else {
            var error = await failure(response, subject: "\(subject): token from \(realmHost)", url: realm)
            if error.code == .protocolError || error.code == .notFound { error.code = .unauthorized }
            throw error
        }
        let data = try await collect(response, limit: 1 << 20, subject: "\(subject): token from \(realmHost)")
        guard let reply = try? JSONDecoder().decode(TokenReply.self, from: data),
            let token = reply.token ?? reply.access_token, !token.isEmpty
        else {
            throw RegistryError(.protocolError, "\(subject): token server \(realmHost) answered no token")
        }
        // The lifetime the server states (60 s when it states none, as the spec says) is
        // honoured even when short; renewal comes a little early (a fifth of the lifetime,
        // at most 10 s) so a token does not expire in flight.
        let lifetime = Double(max(reply.expires_in ?? 60, 1))
        let expires = ContinuousClock.now + .seconds(lifetime - min(10, lifetime / 5))
        auth.withLock {
            $0.tokens[AuthCache.tokenKey(host: host, scopes: scopes)] = AuthCache.Token(value: token, expires: expires)
        }
        return token
    }

    /// Sends a token request: retried, never re-authenticated, redirects not followed.
    private func sendTokenRequest(_ request: RegistryRequest) async throws -> HTTPClientResponse {
        var attempt = 1
        while true {
            var outgoing = HTTPClientRequest(url: request.url)
            outgoing.method = request.method
            outgoing.headers = request.headers
            outgoing.headers.replaceOrAdd(name: "User-Agent", value: configuration.userAgent)
            outgoing.tlsConfiguration = try tlsConfiguration(forURL: request.url)
            if let body = request.body { outgoing.body = .bytes(body) }
            do {
                let response = try await http.execute(outgoing, timeout: Self.timeAmount(request.timeout), logger: logger)
                let status = response.status.code
                if status == 429 || (500...599).contains(status), attempt < configuration.retry.maxAttempts {
                    let retryAfter = Self.retryAfter(response.headers)
                    await Self.discard(response)
                    try await Task.sleep(for: configuration.retry.delay(beforeRetry: attempt, retryAfter: retryAfter))
                    attempt += 1
                    continue
                }
                return response
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let failure = Self.transportError(
                    error, subject: request.subject, what: "token request to \(Self.hostOf(request.url))", url: request.url)
                guard failure.code == .transport, attempt < configuration.retry.maxAttempts else { throw failure }
                try await Task.sleep(for: configuration.retry.delay(beforeRetry: attempt))
                attempt += 1
            }
        }
    }

    static func basicHeader(username: String, password: String) -> String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// The token server's JSON answer (`token` or OAuth2 `access_token`).
    private struct TokenReply: Decodable {
        var token: String?
        var access_token: String?
        var expires_in: Int?
    }
}
