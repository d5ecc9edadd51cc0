import Foundation
import OCISpec
import Registry
import Testing
import TestSupport

@Suite("Client settings and credential sources")
struct ConfigurationTests {
    @Test("plain HTTP only for loopback and registries marked insecure")
    func plainHTTP() {
        let configuration = RegistryConfiguration(insecureRegistries: ["registry.lan:5000"])
        for host in ["localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:443", "[::1]:5000", "registry.lan:5000"] {
            #expect(configuration.usesPlainHTTP(host), "\(host)")
        }
        for host in ["registry-1.docker.io", "ghcr.io", "128.0.0.1:5000", "registry.lan", "localhost.evil.com", "127.0.0.1.nip.io"] {
            #expect(!configuration.usesPlainHTTP(host), "\(host)")
        }
    }

    @Test("backoff doubles up to the cap; Retry-After wins but is capped")
    func backoff() {
        let policy = RetryPolicy(maxAttempts: 6, initialDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(policy.delay(beforeRetry: 1) == .milliseconds(100))
        #expect(policy.delay(beforeRetry: 2) == .milliseconds(200))
        #expect(policy.delay(beforeRetry: 3) == .milliseconds(400))
        #expect(policy.delay(beforeRetry: 5) == .seconds(1))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .milliseconds(700)) == .milliseconds(700))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(30)) == .seconds(1))
        #expect(RetryPolicy(maxAttempts: 0).maxAttempts == 1)
    }

    @Test("credential lookup order: explicit, then config files; Docker Hub aliases; identity tokens")
    func credentialLookup() async throws {
        try await withTemporaryDirectory(prefix: "caisson-credentials") { directory in
            let first = "\(directory)/auth.json"
            let second = "\(directory)/config.json"
            try Data(#"{"auths": {"ghcr.io": {"username": "u1", "password": "p1"}}}"#.utf8).write(to: URL(fileURLWithPath: first))
            let hub = Data("hubuser:hubpass".utf8).base64EncodedString()
            try Data(#"""
                {"auths": {"https://index.docker.io/v1/": {"auth": "\#(hub)"},
                           "ghcr.io": {"auth": "\#(Data("u2:p2".utf8).base64EncodedString())"},
                           "quay.io": {"identitytoken": "refresh-me"}}}
                """#.utf8).write(to: URL(fileURLWithPath: second))
            let store = CredentialStore(
                explicit: ["explicit.example": .basic(username: "e", password: "x")], configFiles: ["\(directory)/absent.json", first, second])
            #expect(try await store.credential(for: "explicit.example") == .basic(username: "e", password: "x"))
            #expect(try await store.credential(for: "ghcr.io") == .basic(username: "u1", password: "p1"))
            #expect(try await store.credential(for: "registry-1.docker.io") == .basic(username: "hubuser", password: "hubpass"))
            #expect(try await store.credential(for: "quay.io") == .identityToken("refresh-me"))
            #expect(try await store.credential(for: "nowhere.example") == nil)
            #expect(!"\(RegistryCredential.basic(username: "u", password: "secret"))".contains("secret"))

            let environment = CredentialStore.fromEnvironment(["REGISTRY_AUTH_FILE": first, "HOME": "/home/x"])
            #expect(environment.configFiles == [first, "/home/x/.docker/config.json"])
        }
    }

    @Test("a credential helper that is missing is a configuration error naming it")
    func missingHelper() async throws {
        try await withTemporaryDirectory(prefix: "caisson-credentials") { directory in
            let path = "\(directory)/config.json"
            try Data(#"{"credsStore": "nonexistent-helper"}"#.utf8).write(to: URL(fileURLWithPath: path))
            let store = CredentialStore(configFiles: [path], helperSearchPath: [directory])
            let error = await registryError { _ = try await store.credential(for: "ghcr.io") }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains("docker-credential-nonexistent-helper") == true)
        }
    }
}
