import Foundation
import ImageStore
import OCIHashing
import OCISpec
import Registry
import Testing
import TestSupport

/// An artifact manifest referring to `subject`: an empty config and one layer of `content`.
private func pushArtifact(
    _ fixture: RegistryFixture, to repository: Reference, subject: Descriptor, artifactType: MediaType, content: String,
    annotations: [String: String]? = nil
) async throws -> Descriptor {
    let emptyConfig = try await fixture.client.pushBlob(Data("{}".utf8), to: repository, mediaType: .empty)
    let layer = try await fixture.client.pushBlob(Data(content.utf8), to: repository, mediaType: "application/vnd.example.data")
    let manifest = ImageManifest(
        artifactType: artifactType, config: emptyConfig, layers: [layer], subject: subject, annotations: annotations)
    return try await fixture.client.pushManifest(try OCIJSON.encode(manifest), mediaType: .imageManifest, to: repository.repository)
}

@Suite("Referrers and catalog against a real registry", .enabled(if: registryToolsAvailable))
struct ReferrersTests {
    static let sbom: MediaType = "application/vnd.example.sbom.v1+json"
    static let signature: MediaType = "application/vnd.example.signature.v1+json"

    @Test("a registry without the referrers API: pushes keep the sha256-<hex> tag index, queries fall back to it")
    func tagSchemaFallback() async throws {
        try await withRegistryFixture { fixture in
            let image = try fixture.reference("ref/busybox:1")
            let pushed = try await fixture.client.push("busybox", from: fixture.source, to: image)
            let subject = pushed.descriptor
            let pinned = image.repository.withDigest(subject.digest)
            #expect(try await fixture.client.referrers(of: pinned).isEmpty)

            let sbom = try await pushArtifact(
                fixture, to: image, subject: subject, artifactType: Self.sbom, content: "sbom", annotations: ["org.example.kind": "sbom"])
            let signature = try await pushArtifact(fixture, to: image, subject: subject, artifactType: Self.signature, content: "sig")
            // Pushing the same referrer again does not list it twice.
            _ = try await pushArtifact(
                fixture, to: image, subject: subject, artifactType: Self.sbom, content: "sbom", annotations: ["org.example.kind": "sbom"])

            let tag = RegistryClient.referrersTag(for: subject.digest)
            #expect(tag == "sha256-\(subject.digest.encoded)")
            #expect(try await fixture.client.tags(of: image).contains(tag))

            let all = try await fixture.client.referrers(of: pinned)
            #expect(all.map(\.digest) == [sbom.digest, signature.digest])
            #expect(all.map(\.artifactType) == [Self.sbom, Self.signature])
            #expect(all.first?.annotations == ["org.example.kind": "sbom"])
            #expect(all.allSatisfy { $0.mediaType == .imageManifest })
            #expect(all.first?.size == sbom.size)

            // By tag, and filtered by artifact type.
            #expect(try await fixture.client.referrers(of: image).map(\.digest) == [sbom.digest, signature.digest])
            #expect(try await fixture.client.referrers(of: pinned, artifactType: Self.signature).map(\.digest) == [signature.digest])
            #expect(try await fixture.client.referrers(of: pinned, artifactType: "application/other").isEmpty)

            let missing = await registryError { _ = try await fixture.client.referrers(of: fixture.reference("ref/busybox:nope")) }
            #expect(missing?.code == .notFound)
            #expect(missing?.message.contains("ref/busybox:nope") == true)
        }
    }

    @Test("a registry with the referrers API: its index is used, and filtered here unless it says it filtered")
    func referrersAPI() async throws {
        try await withRegistryFixture { fixture in
            let image = try fixture.reference("api/busybox:1")
            let pushed = try await fixture.client.push("busybox", from: fixture.source, to: image)
            let proxy = try FaultProxy(upstreamPort: fixture.registry.port)
            defer { proxy.stop() }
            let one = Descriptor.of(Data("one".utf8), mediaType: .imageManifest)
            let two = Descriptor.of(Data("two".utf8), mediaType: .imageManifest)
            let body = #"""
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
                {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(one.digest)","size":3,"artifactType":"\#(Self.sbom)"},
                {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(two.digest)","size":3,"artifactType":"\#(Self.signature)"}]}
                """#
            proxy.inject(.respond(
                200, contentType: MediaType.imageIndex.rawValue, body: body, times: 2, pathContains: "/referrers/"))
            let subject = try Reference(parsing: "\(proxy.host)/api/busybox@\(pushed.descriptor.digest)")
            let all = try await fixture.client.referrers(of: subject)
            #expect(all.map(\.digest) == [one.digest, two.digest])
            let filtered = try await fixture.client.referrers(of: subject, artifactType: Self.sbom)
            #expect(filtered.map(\.digest) == [one.digest])
            let paths = proxy.requests.map(\.path)
            #expect(paths.first == "/v2/api/busybox/referrers/\(pushed.descriptor.digest)")
            #expect(paths.last?.hasSuffix("?artifactType=application/vnd.example.sbom.v1%2Bjson") == true, "\(paths)")
            #expect(!paths.contains { $0.contains("sha256-") }, "no fallback when the API answers")

            // A registry that filtered is believed.
            proxy.inject(.respond(
                200, contentType: MediaType.imageIndex.rawValue, body: body, headers: ["OCI-Filters-Applied: artifactType"],
                times: 1, pathContains: "/referrers/"))
            #expect(try await fixture.client.referrers(of: subject, artifactType: Self.sbom).count == 2)
        }
    }

    @Test("catalog lists repositories, following Link pagination")
    func catalog() async throws {
        try await withRegistryFixture { fixture in
            for name in ["cat/a", "cat/b", "cat/c"] {
                try await fixture.client.push("busybox", from: fixture.source, to: fixture.reference("\(name):1"))
            }
            let whole = try await fixture.client.catalog(of: fixture.registry.host)
            #expect(whole == ["cat/a", "cat/b", "cat/c"])
            let proxy = try FaultProxy(upstreamPort: fixture.registry.port)
            defer { proxy.stop() }
            let paged = try await fixture.client.catalog(of: proxy.host, pageSize: 1)
            #expect(paged == ["cat/a", "cat/b", "cat/c"])
            #expect(proxy.requests.filter { $0.path.hasPrefix("/v2/_catalog") }.count >= 3)
        }
    }
}

@Suite("Short-lived tokens", .enabled(if: registryToolsAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
struct TokenExpiryTests {
    static let user = (username: "carol", password: "short-lived-pass")

    @Test("an expired token is renewed before use; a token the registry refuses is fetched again")
    func expiryAndRefetch() async throws {
        try await withRegistryFixture(tokenUser: Self.user, tokenLifetime: 6, credentials: { registry in
            CredentialStore(explicit: [registry.host: .basic(username: Self.user.username, password: Self.user.password)])
        }) { fixture in
            let server = try #require(fixture.tokenServer)
            let target = try fixture.reference("short/busybox:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            _ = try await fixture.client.resolve(target)
            let cached = server.requests.count
            _ = try await fixture.client.resolve(target)
            #expect(server.requests.count == cached, "a live token is reused")

            // Six-second tokens are renewed after 4.8 s (a fifth early).
            try await Task.sleep(for: .milliseconds(6_100))
            _ = try await fixture.client.resolve(target)
            #expect(server.requests.count == cached + 1, "an expired token is renewed")

            // The registry refuses a token (revoked, clock skew): one new token, one retry.
            let proxy = try FaultProxy(upstreamPort: fixture.registry.port)
            defer { proxy.stop() }
            let credentials = CredentialStore(explicit: [proxy.host: .basic(username: Self.user.username, password: Self.user.password)])
            try await RegistryClient.withClient(credentials: credentials) { client in
                let viaProxy = try Reference(parsing: "\(proxy.host)/short/busybox:1")
                _ = try await client.resolve(viaProxy)
                let before = server.requests.count
                let challenge = #"WWW-Authenticate: Bearer realm="\#(server.realm)",service="\#(LocalTokenServer.service)",scope="repository:short/busybox:pull""#
                proxy.inject(.respond(
                    401, contentType: "application/json", body: #"{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}"#,
                    headers: [challenge], times: 1, pathContains: "/manifests/"))
                let resolved = try await client.resolve(viaProxy)
                #expect(resolved.manifestDocument.descriptor.digest == fixture.busybox.manifestDescriptor.digest)
                #expect(server.requests.count == before + 1)
                // Unauthenticated + authorised for the first resolve; refused + retried for the second.
                #expect(proxy.requests.filter { $0.path == "/v2/short/busybox/manifests/1" }.count == 4)
            }
        }
    }
}
