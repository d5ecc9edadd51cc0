import Foundation
import NIOHTTP1

// Spec: distribution docs/spec/api.md#api-version-check (`GET /v2/`), which `docker login`
// uses to check credentials.
extension RegistryClient {
    /// Checks that the client's credentials for a registry are accepted, as `docker login`
    /// does: `GET /v2/` answering the challenge with them (basic auth, or a token fetched
    /// from the realm with them).
    /// - Parameter host: the registry host (`127.0.0.1:5000`, `registry-1.docker.io`).
    /// - Throws: ``RegistryError`` `unauthorized` when the registry or its token server
    ///   refuses the credentials (the message names the host and user, never the secret),
    ///   `transport`/`tls` when it cannot be reached.
    public func checkCredentials(for host: String) async throws {
        let url = endpoint(host: host).url("")
        let subject = "login to \(host)"
        let response = try await send(RegistryRequest(
            .GET, url, scopes: [], subject: subject, timeout: configuration.requestTimeout))
        guard response.status == .ok else { throw await failure(response, subject: subject, url: url) }
        await Self.discard(response)
        // A registry without any auth answers 200 to anyone: nothing was verified, and
        // that is fine (Docker accepts such a login too).
    }
}
