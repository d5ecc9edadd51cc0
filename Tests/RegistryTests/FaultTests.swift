import Foundation
import ImageStore
import OCISpec
import Registry
import Synchronization
import Testing
import TestSupport

/// Retries, backoff, resumption and redirects, through a misbehaving proxy in front of
/// the real registry.
@Suite("Faults between the client and a real registry", .enabled(if: registryToolsAvailable))
struct FaultTests {
    /// Pushes busybox straight to the registry, then runs `body` with a proxy in front of it.
    private func withProxy(
        basicAuth: (username: String, password: String)? = nil,
        credentials: @escaping (LocalRegistry) throws -> CredentialStore = { _ in .anonymous },
        _ body: (RegistryFixture, FaultProxy, Reference) async throws -> Void
    ) async throws {
        try await withRegistryFixture(basicAuth: basicAuth, credentials: credentials) { fixture in
            try await fixture.client.push("busybox", from: fixture.source, to: fixture.reference("faults/busybox:1"))
            let proxy = try FaultProxy(upstreamPort: fixture.registry.port)
            defer { proxy.stop() }
            try await body(fixture, proxy, try Reference(parsing: "\(proxy.host)/faults/busybox:1"))
        }
    }

    @Test("HTTP 500 twice, then success: the manifest request is retried")
    func serverErrorsAreRetried() async throws {
        try await withProxy { fixture, proxy, target in
            proxy.inject(.status(500, retryAfter: nil, times: 2, pathContains: "/manifests/"))
            let resolved = try await fixture.client.resolve(target)
            #expect(resolved.manifestDocument.descriptor.digest == fixture.busybox.manifestDescriptor.digest)
            #expect(proxy.requests.filter { $0.path.contains("/manifests/") }.count == 3)
        }
    }

    @Test("HTTP 429 with Retry-After: the client waits as told, then pulls")
    func retryAfterIsHonoured() async throws {
        try await withProxy { fixture, proxy, target in
            let layer = fixture.busybox.manifest.layers[0]
            proxy.inject(.status(429, retryAfter: 1, times: 1, pathContains: "/blobs/\(layer.digest)"))
            let store = try fixture.newStore("429")
            let clock = ContinuousClock()
            let started = clock.now
            try await fixture.client.pull(target, into: store)
            // The fixture's backoff starts at 50 ms; only Retry-After explains a second.
            #expect(clock.now - started >= .seconds(1))
            #expect(store.contains(layer.digest))
        }
    }

    @Test("a body cut short is resumed with Range from the last byte received")
    func truncatedBodyIsResumed() async throws {
        try await withProxy { fixture, proxy, target in
            let layer = fixture.busybox.manifest.layers[0]
            proxy.inject(.truncate(afterBytes: 100_000, times: 1, pathContains: "/blobs/\(layer.digest)"))
            let store = try fixture.newStore("truncated")
            let pulled = try await fixture.client.pull(target, into: store)
            #expect(try store.readBlob(layer.digest) == fixture.source.readBlob(layer.digest))
            let ranges = proxy.requests.filter { $0.path.contains("/blobs/\(layer.digest)") }.compactMap(\.range)
            #expect(ranges.count == 1)
            #expect(ranges.first.flatMap { Int64($0.dropFirst("bytes=".count).dropLast()) }.map { $0 > 0 && $0 <= 100_000 } == true)
            #expect(pulled.downloadedBytes == layer.size + fixture.busybox.manifest.config.size)
        }
    }

    @Test("errors that persist past the retries are a transport error with the registry's code")
    func persistentErrorsFail() async throws {
        try await withProxy { fixture, proxy, target in
            proxy.inject(.status(503, retryAfter: nil, times: 100, pathContains: "/manifests/"))
            let error = await registryError { _ = try await fixture.client.resolve(target) }
            #expect(error?.code == .transport)
            #expect(error?.registryCodes == ["UNAVAILABLE"])
            #expect(error?.message.contains("HTTP 503") == true)
            #expect(error?.message.contains("faults/busybox:1") == true)
            #expect(proxy.requests.count == 3)
        }
    }

    @Test("a redirect to another origin is followed without the Authorization header")
    func redirectDropsAuthorization() async throws {
        let user = (username: "carol", password: "redirect-secret")
        try await withProxy(basicAuth: user, credentials: { registry in
            CredentialStore(explicit: [registry.host: .basic(username: user.username, password: user.password)])
        }) { fixture, proxy, target in
            let presigned = "Basic " + Data("\(user.username):\(user.password)".utf8).base64EncodedString()
            proxy.inject(.redirectToOtherOrigin(pathContains: "/blobs/sha256:", authorization: presigned))
            let credentials = CredentialStore(explicit: [proxy.host: .basic(username: user.username, password: user.password)])
            try await RegistryClient.withClient(credentials: credentials) { client in
                let store = try fixture.newStore("redirected")
                let pulled = try await client.pull(target, into: store)
                #expect(pulled.image.manifest == fixture.busybox.manifest)
            }
            let redirected = proxy.requests.filter { $0.host.hasPrefix("localhost:") }
            #expect(redirected.count == 2)
            #expect(redirected.allSatisfy { !$0.hadAuthorization })
            let direct = proxy.requests.filter { $0.host == proxy.host && $0.method == "GET" && $0.path.contains("/blobs/") }
            #expect(direct.count == 2)
            #expect(direct.allSatisfy { $0.hadAuthorization })
        }
    }
}

@Suite("Docker schema 1 manifests are refused", .enabled(if: registryToolsAvailable))
struct SchemaOneTests {
    static let schema1 = #"{"schemaVersion": 1, "name": "faults/busybox", "tag": "1", "architecture": "amd64", "fsLayers": [], "history": []}"#

    @Test("by Content-Type and by content, with an error naming the reference")
    func schemaOneRefused() async throws {
        try await withRegistryFixture { fixture in
            let proxy = try FaultProxy(upstreamPort: fixture.registry.port)
            defer { proxy.stop() }
            let target = try Reference(parsing: "\(proxy.host)/old/image:1")
            proxy.inject(.respond(
                200, contentType: MediaType.dockerSchema1SignedManifest.rawValue, body: Self.schema1, times: 1,
                pathContains: "/manifests/"))
            let byType = await registryError { _ = try await fixture.client.resolve(target) }
            #expect(byType?.code == .unsupported)
            #expect(byType?.message.contains("old/image:1") == true)

            proxy.inject(.respond(200, contentType: "application/json", body: Self.schema1, times: 1, pathContains: "/manifests/"))
            let byContent = await registryError { _ = try await fixture.client.resolve(target) }
            #expect(byContent?.code == .unsupported)
            #expect(byContent?.message.contains("schema 1") == true)
        }
    }
}
