import Foundation
import ImageStore
import OCISpec
import Registry
import Synchronization
import Testing
import TestSupport

/// SECURITY.md item 9: every blob and manifest is verified against its digest before it
/// is used or committed; sizes are bounded; a mismatch is an error and nothing is
/// committed. The registry is real; the attacks tamper with its storage on disk.
@Suite("Registry input is verified", .enabled(if: registryToolsAvailable))
struct VerificationTests {
    /// Overwrites a file's bytes in place, keeping or changing its size.
    private func tamper(_ path: String, _ change: (inout Data) -> Void) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        change(&data)
        try data.write(to: URL(fileURLWithPath: path))
    }

    @Test("a layer whose bytes were swapped (same size) fails its digest and nothing is committed")
    func tamperedLayer() async throws {
        try await withRegistryFixture { fixture in
            let target = try fixture.reference("evil/busybox:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            let layer = fixture.busybox.manifest.layers[0]
            try tamper(fixture.registry.blobDataPath(layer.digest)) { $0[$0.count / 2] ^= 0xff }

            let store = try fixture.newStore("victim")
            let error = await registryError { try await fixture.client.pull(target, into: store) }
            #expect(error?.code == .digestMismatch)
            #expect(error?.message.contains(layer.digest.description) == true)
            #expect(!store.contains(layer.digest))
            #expect(try store.images().isEmpty)
            // The layer's partial is deleted. The config downloads alongside it: if the
            // failure cancelled it mid-way, its partial stays for the next pull to resume.
            let left = try FileManager.default.contentsOfDirectory(atPath: "\(store.root)/ingest").filter { !$0.hasSuffix(".lock") }
            #expect(!left.contains("sha256-\(layer.digest.encoded)"))
            #expect(left.allSatisfy { $0 == "sha256-\(fixture.busybox.manifest.config.digest.encoded)" }, "left in ingest: \(left)")

            // The stand-alone stream refuses to finish too.
            let streamError = await registryError {
                for try await _ in fixture.client.blob(layer, in: target) {}
            }
            #expect(streamError?.code == .digestMismatch)
        }
    }

    @Test("a blob longer than its descriptor is refused before a byte past the size is stored")
    func oversizedBlob() async throws {
        try await withRegistryFixture { fixture in
            let target = try fixture.reference("evil/long:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            let config = fixture.busybox.manifest.config
            try tamper(fixture.registry.blobDataPath(config.digest)) { $0.append(contentsOf: [UInt8](repeating: 0x20, count: 4096)) }

            let store = try fixture.newStore("victim")
            let error = await registryError { try await fixture.client.pull(target, into: store) }
            #expect(error?.code == .tooLarge)
            #expect(error?.message.contains(config.digest.description) == true)
            #expect(!store.contains(config.digest))
            #expect(try store.images().isEmpty)
        }
    }

    @Test("a manifest whose stored bytes changed fails by digest and by tag")
    func tamperedManifest() async throws {
        try await withRegistryFixture { fixture in
            let target = try fixture.reference("evil/manifest:1")
            let pushed = try await fixture.client.push("busybox", from: fixture.source, to: target)
            // Same JSON meaning, different bytes: append a space.
            try tamper(fixture.registry.blobDataPath(pushed.descriptor.digest)) { $0.append(UInt8(ascii: " ")) }

            let byDigest = await registryError { _ = try await fixture.client.fetchManifest(target.withDigest(pushed.descriptor.digest)) }
            #expect(byDigest?.code == .digestMismatch)
            #expect(byDigest?.message.contains(pushed.descriptor.digest.description) == true)
            let byTag = await registryError { _ = try await fixture.client.resolve(target) }
            #expect(byTag?.code == .digestMismatch)

            let store = try fixture.newStore("victim")
            let pull = await registryError { try await fixture.client.pull(target, into: store) }
            #expect(pull?.code == .digestMismatch)
            #expect(!store.contains(pushed.descriptor.digest))
            #expect(!store.contains(fixture.busybox.manifest.layers[0].digest))
        }
    }

    @Test("manifests over the size bound are refused")
    func manifestSizeBound() async throws {
        try await withRegistryFixture(configuration: RegistryConfiguration(maxManifestSize: 128)) { fixture in
            let target = try fixture.reference("big/manifest:1")
            // Pushing is bounded as well: the busybox manifest is larger than 128 bytes.
            let pushError = await registryError { try await fixture.client.push("busybox", from: fixture.source, to: target) }
            #expect(pushError?.code == .tooLarge)
        }
        try await withRegistryFixture { fixture in
            let target = try fixture.reference("big/manifest:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            try await RegistryClient.withClient(configuration: RegistryConfiguration(maxManifestSize: 128)) { small in
                let error = await registryError { _ = try await small.resolve(target) }
                #expect(error?.code == .tooLarge)
                #expect(error?.message.contains("big/manifest:1") == true)
            }
        }
    }

    @Test("a partial download left in the store is resumed with Range from its offset")
    func resumesPartialDownload() async throws {
        try await withRegistryFixture { fixture in
            let target = try fixture.reference("resume/busybox:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            let layer = fixture.busybox.manifest.layers[0]
            let bytes = try fixture.source.readBlob(layer.digest)
            let store = try fixture.newStore("resume")
            let half = Int64(bytes.count / 2)
            let writer = try await store.openIngest(digest: layer.digest, size: layer.size)
            try writer.write(bytes.prefix(Int(half)))
            writer.close()

            let starts = Mutex<[Digest: Int64]>([:])
            let pulled = try await fixture.client.pull(target, into: store) { report in
                if case .started(let offset) = report.event, let digest = report.descriptor?.digest {
                    starts.withLock { $0[digest] = offset }
                }
            }
            #expect(starts.withLock { $0[layer.digest] } == half)
            #expect(pulled.downloadedBytes == layer.size - half + fixture.busybox.manifest.config.size)
            #expect(try store.readBlob(layer.digest) == bytes)
            #expect(fixture.registry.log.contains("206"))
        }
    }

    @Test("a corrupt partial download is detected at commit, discarded, and the next pull succeeds")
    func corruptPartialDownload() async throws {
        try await withRegistryFixture { fixture in
            let target = try fixture.reference("resume/corrupt:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            let layer = fixture.busybox.manifest.layers[0]
            let store = try fixture.newStore("corrupt")
            let writer = try await store.openIngest(digest: layer.digest, size: layer.size)
            try writer.write(Data(repeating: 0x41, count: 1000))
            writer.close()

            let error = await registryError { try await fixture.client.pull(target, into: store) }
            #expect(error?.code == .digestMismatch)
            #expect(!store.contains(layer.digest))
            let pulled = try await fixture.client.pull(target, into: store)
            #expect(store.contains(layer.digest))
            #expect(pulled.image.manifest.layers == [layer])
        }
    }

    @Test("a registry that cannot be reached is a transport error naming the URL, after the retries")
    func unreachableRegistry() async throws {
        let port: Int
        do {
            // A port with a registry that was just stopped: nothing listens there.
            let registry = try await LocalRegistry.start()
            port = registry.port
            registry.stop()
        }
        let configuration = RegistryConfiguration(
            retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(100)), connectTimeout: .seconds(1))
        try await RegistryClient.withClient(configuration: configuration) { client in
            let clock = ContinuousClock()
            let started = clock.now
            let error = await registryError { _ = try await client.resolve(try Reference(parsing: "127.0.0.1:\(port)/x/y:1")) }
            #expect(error?.code == .transport)
            #expect(error?.message.contains("http://127.0.0.1:\(port)/v2/x/y/manifests/1") == true)
            // Two backoffs: 100 ms and 200 ms.
            #expect(clock.now - started >= .milliseconds(300))
        }
    }
}
