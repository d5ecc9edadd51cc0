import Foundation
import ImageStore
import OCISpec
import Registry
import Testing
import TestSupport

@Suite("Bearer token auth against a registry delegating to a token server", .enabled(if: registryToolsAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
struct TokenAuthTests {
    static let user = (username: "bob", password: "token-pass-123")

    @Test("credentials go to the realm; tokens are scoped, cached, and anonymous tokens only pull")
    func tokenFlow() async throws {
        try await withRegistryFixture(tokenUser: Self.user, credentials: { registry in
            CredentialStore(explicit: [registry.host: .basic(username: Self.user.username, password: Self.user.password)])
        }) { fixture in
            let server = try #require(fixture.tokenServer)
            let target = try fixture.reference("tok/busybox:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            #expect(server.requests.contains("bob repository:tok/busybox:pull,push"))

            let store = try fixture.newStore("token")
            try await fixture.client.pull(target, into: store)
            let afterPull = server.requests.count
            _ = try await fixture.client.resolve(target)
            _ = try await fixture.client.manifestDescriptor(target)
            #expect(server.requests.count == afterPull, "tokens are cached per scope")

            // Anonymous: pull allowed by the token server, push refused by the registry.
            try await RegistryClient.withClient { anonymous in
                let resolved = try await anonymous.resolve(target)
                #expect(resolved.manifestDocument.descriptor.digest == fixture.busybox.manifestDescriptor.digest)
                let other = try fixture.reference("tok/other:1")
                let error = await registryError { try await anonymous.push("busybox", from: fixture.source, to: other) }
                #expect(error?.code == .unauthorized)
            }
            #expect(server.requests.contains("anonymous repository:tok/busybox:pull"))

            // A wrong password is refused by the token server.
            let wrong = CredentialStore(explicit: [fixture.registry.host: .basic(username: "bob", password: "nope")])
            try await RegistryClient.withClient(credentials: wrong) { client in
                let error = await registryError { _ = try await client.resolve(target) }
                #expect(error?.code == .unauthorized)
                #expect(error.map { !"\($0)".contains("nope") } == true)
            }
        }
    }
}
