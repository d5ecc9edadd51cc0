import Foundation
import ImageStore
import OCIHashing
import OCISpec
import Registry
import Synchronization
import Testing
import TestSupport

@Suite("Push and pull against a real registry", .enabled(if: registryToolsAvailable))
struct PullPushTests {
    @Test("push busybox, skopeo sees it, pull it back into a new store")
    func pushThenPull() async throws {
        try await withRegistryFixture { fixture in
            let target = try fixture.reference("caisson/busybox:1.0")
            let pushed = try await fixture.client.push("busybox", from: fixture.source, to: target)
            #expect(pushed.descriptor.digest == fixture.busybox.descriptor.digest)
            #expect(pushed.blobs.count == 2)
            #expect(pushed.blobs.values.allSatisfy { $0 == .uploaded })

            // An independent client sees the same manifest.
            let inspect = try run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "docker://\(target)"])
            #expect(inspect.status == 0)
            #expect(inspect.output.contains(pushed.descriptor.digest.description))

            // HEAD reports the same descriptor.
            let head = try await fixture.client.manifestDescriptor(target)
            #expect(head?.digest == pushed.descriptor.digest)
            #expect(head?.mediaType == .imageManifest)
            #expect(try await fixture.client.manifestDescriptor(fixture.reference("caisson/busybox:absent")) == nil)

            // Pull into a fresh store; the image is complete and named.
            let store = try fixture.newStore("pulled")
            let pulled = try await fixture.client.pull(target, into: store)
            #expect(pulled.reference.digest == pushed.descriptor.digest)
            #expect(pulled.image.name == target.description)
            #expect(pulled.image.config == fixture.busybox.config)
            #expect(pulled.image.manifest == fixture.busybox.manifest)
            #expect(pulled.downloadedBytes == fixture.busybox.manifest.layers[0].size + fixture.busybox.manifest.config.size)
            for layer in pulled.image.manifest.layers { #expect(store.contains(layer.digest)) }

            // Pulling again downloads nothing; by digest works too.
            let again = try await fixture.client.pull(target.withDigest(pushed.descriptor.digest), into: store, name: "pinned")
            #expect(again.downloadedBytes == 0)
            #expect(again.reusedBlobs == 2)
            #expect(try store.image(named: "pinned").manifestDescriptor.digest == pushed.descriptor.digest)

            // Pushing again uploads nothing.
            let repeated = try await fixture.client.push("busybox", from: fixture.source, to: target)
            #expect(repeated.blobs.values.allSatisfy { $0 == .existed })
        }
    }

    @Test("chunked upload, cross-repository mount, and a pull of the mounted copy")
    func chunkedAndMounted() async throws {
        let configuration = RegistryConfiguration(uploadChunkSize: 64 << 10, retry: RetryPolicy(maxAttempts: 2))
        try await withRegistryFixture(configuration: configuration) { fixture in
            let first = try fixture.reference("team/a:v1")
            let pushed = try await fixture.client.push("busybox", from: fixture.source, to: first)
            let layer = fixture.busybox.manifest.layers[0]
            #expect(layer.size > 64 << 10)
            #expect(pushed.blobs[layer.digest] == .uploadedInChunks)
            #expect(pushed.blobs[fixture.busybox.manifest.config.digest] == .uploaded)

            let second = try fixture.reference("team/b:v1")
            let mounted = try await fixture.client.push("busybox", from: fixture.source, to: second, mountFrom: first)
            #expect(mounted.blobs.values.allSatisfy { $0 == .mounted })

            let store = try fixture.newStore("mounted")
            let pulled = try await fixture.client.pull(second, into: store, name: "b")
            #expect(pulled.image.manifest.layers == fixture.busybox.manifest.layers)
            let skopeo = try run("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://\(second)"])
            #expect(skopeo.status == 0)
            #expect(Digest.sha256(of: Data(skopeo.output.utf8)) == pushed.descriptor.digest)
        }
    }

    @Test("an index selects the host platform; a platform it lacks is a clear error")
    func indexPlatformSelection() async throws {
        try await withRegistryFixture { fixture in
            let repository = try fixture.reference("multi/busybox:tmp")
            let pushed = try await fixture.client.push("busybox", from: fixture.source, to: repository)
            // A second, foreign-platform manifest sharing the layer, with its own config.
            let foreign = Platform(os: "linux", architecture: Platform.current.architecture == "arm64" ? "amd64" : "arm64")
            var foreignConfig = fixture.busybox.config
            foreignConfig.architecture = foreign.architecture
            let foreignConfigData = try OCIJSON.encode(foreignConfig)
            let foreignConfigDescriptor = try await fixture.client.pushBlob(
                foreignConfigData, to: repository, mediaType: .imageConfig)
            let foreignManifest = ImageManifest(config: foreignConfigDescriptor, layers: fixture.busybox.manifest.layers)
            let foreignData = try OCIJSON.encode(foreignManifest)
            var foreignDescriptor = try await fixture.client.pushManifest(
                foreignData, mediaType: .imageManifest, to: repository.repository)
            foreignDescriptor.platform = foreign
            var hostDescriptor = pushed.descriptor
            hostDescriptor.platform = Platform.current
            let index = ImageIndex(manifests: [foreignDescriptor, hostDescriptor])
            let indexData = try OCIJSON.encode(index)
            let tagged = try fixture.reference("multi/busybox:latest")
            let indexDescriptor = try await fixture.client.pushManifest(indexData, mediaType: .imageIndex, to: tagged)

            let resolved = try await fixture.client.resolve(tagged)
            #expect(resolved.chain.count == 2)
            #expect(resolved.root.descriptor == indexDescriptor)
            #expect(resolved.manifestDocument.descriptor.digest == pushed.descriptor.digest)
            let other = try await fixture.client.resolve(tagged, platform: foreign)
            #expect(other.manifestDocument.descriptor.digest == foreignDescriptor.digest)

            let error = await registryError {
                _ = try await fixture.client.resolve(tagged, platform: Platform(os: "windows", architecture: "amd64"))
            }
            #expect(error?.code == .notFound)
            #expect(error?.message.contains("windows") == true)

            // Pulling the index stores index and manifest and names the index.
            let store = try fixture.newStore("multi")
            let pulled = try await fixture.client.pull(tagged, into: store, name: "multi")
            #expect(pulled.image.descriptor.digest == indexDescriptor.digest)
            #expect(pulled.image.manifestDescriptor.digest == pushed.descriptor.digest)
            #expect(store.contains(indexDescriptor.digest))
            #expect(!store.contains(foreignConfigDescriptor.digest))
        }
    }

    @Test("progress as an async sequence: resolved, per-blob start and commit, then the image")
    func progressEvents() async throws {
        try await withRegistryFixture { fixture in
            let target = try fixture.reference("progress/busybox:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            let store = try fixture.newStore("progress")
            var reports: [PullProgress] = []
            var result: PulledImage?
            for try await event in fixture.client.pullEvents(target, into: store) {
                switch event {
                case .progress(let report): reports.append(report)
                case .pulled(let image): result = image
                }
            }
            let total = fixture.busybox.manifest.layers[0].size + fixture.busybox.manifest.config.size
            #expect(reports.first?.event == .resolved)
            #expect(reports.first?.totalBytes == total)
            #expect(reports.filter { $0.event == .started(resumedAt: 0) }.count == 2)
            #expect(reports.filter { $0.event == .committed }.count == 2)
            #expect(reports.last?.completedBytes == total)
            #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.completedBytes <= $1.completedBytes })
            #expect(result?.image.name == target.description)
        }
    }

    @Test("blob stream: verified bytes into ImageStore.ingest; missing things are notFound with the registry's code")
    func blobStreamAndNotFound() async throws {
        try await withRegistryFixture { fixture in
            let target = try fixture.reference("stream/busybox:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            let layer = fixture.busybox.manifest.layers[0]
            #expect(try await fixture.client.blobExists(layer.digest, in: target))
            let store = try fixture.newStore("stream")
            try await store.ingest(fixture.client.blob(layer, in: target), digest: layer.digest, size: layer.size)
            #expect(try store.readBlob(layer.digest) == fixture.source.readBlob(layer.digest))

            let missingTag = await registryError { _ = try await fixture.client.resolve(fixture.reference("stream/busybox:nope")) }
            #expect(missingTag?.code == .notFound)
            #expect(missingTag?.registryCodes == ["MANIFEST_UNKNOWN"])
            #expect(missingTag?.message.contains("stream/busybox:nope") == true)

            let absent = Descriptor.of(Data("absent".utf8), mediaType: .imageLayer)
            #expect(try await !fixture.client.blobExists(absent.digest, in: target))
            let missingBlob = await registryError { _ = try await fixture.client.fetchBlob(absent, in: target) }
            #expect(missingBlob?.code == .notFound)
            #expect(missingBlob?.message.contains(absent.digest.description) == true)
        }
    }
}

@Suite("Tags and deletion", .enabled(if: registryToolsAvailable))
struct TagListTests {
    @Test("tag list follows Link pagination (first page from a proxy); a deleted manifest is gone")
    func tagsAndDelete() async throws {
        try await withRegistryFixture { fixture in
            var pushed: PushedImage?
            for tag in ["a", "b", "c", "d", "e"] {
                pushed = try await fixture.client.push("busybox", from: fixture.source, to: fixture.reference("tags/busybox:\(tag)"))
            }
            let repository = try fixture.reference("tags/busybox")
            let whole = try await fixture.client.tags(of: repository)
            #expect(whole.sorted() == ["a", "b", "c", "d", "e"])
            // distribution 2.8 ignores `n` for tags; a proxy serves a first page with a Link.
            let proxy = try FaultProxy(upstreamPort: fixture.registry.port)
            defer { proxy.stop() }
            proxy.inject(.respond(
                200, contentType: "application/json", body: #"{"name":"tags/busybox","tags":["p1","p2"]}"#,
                headers: [#"Link: </v2/tags/busybox/tags/list?last=p2&n=2>; rel="next""#], times: 1, pathContains: "/tags/list?n=2"))
            let paged = try await fixture.client.tags(of: try Reference(parsing: "\(proxy.host)/tags/busybox"), pageSize: 2)
            #expect(Array(paged.prefix(2)) == ["p1", "p2"])
            #expect(paged.dropFirst(2).sorted() == ["a", "b", "c", "d", "e"])
            #expect(proxy.requests.map(\.path) == ["/v2/tags/busybox/tags/list?n=2", "/v2/tags/busybox/tags/list?last=p2&n=2"])
            let unknown = await registryError { _ = try await fixture.client.tags(of: fixture.reference("tags/none")) }
            #expect(unknown?.code == .notFound)
            #expect(unknown?.registryCodes == ["NAME_UNKNOWN"])

            let digest = try #require(pushed?.descriptor.digest)
            try await fixture.client.deleteManifest(repository.withDigest(digest))
            #expect(try await fixture.client.manifestDescriptor(repository.withDigest(digest)) == nil)
            let byTag = await registryError { _ = try await fixture.client.deleteManifest(fixture.reference("tags/busybox:a")) }
            #expect(byTag?.code == .invalidConfiguration)
        }
    }
}
