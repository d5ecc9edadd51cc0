import Foundation
import ImageStore
import OCIHashing
import OCISpec
import Synchronization
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `ImageStore.unpack(_:config:options:ingests:)`: a layer extracted from its ingest while
/// the writer still writes it, its snapshot committed only once the writer committed the
/// blob. The tests play the download themselves, so every step is in their hands.
@Suite("Unpack while ingesting", .enabled(if: isRoot))
struct StreamingUnpackTests {
    /// A one-layer image: the layer's bytes, the manifest and config that name it.
    struct OneLayer {
        let bytes: Data
        let layer: Descriptor
        let manifest: ImageManifest
        let config: ImageConfiguration
        var chainID: Digest { config.rootfs.diffIDs[0] }
    }

    /// A layer of a 6 MiB random file (past the unpack's 4 MiB progress step), a 256 KiB
    /// one after it (past the 64 KiB the decompressor holds back until its input
    /// continues) and a small one.
    private func oneLayer(in directory: String) throws -> OneLayer {
        var generator = SystemRandomNumberGenerator()
        let random = Data((0..<(6 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let path = directory + "/layer.tar.gz"
        let result = try makeLayer(path) { w in
            try w.addDirectory("data", .init(mode: 0o755, mtime: 1_700_000_000))
            try w.addFile("data/random", contents: random.prefix(6 << 20), .init(mode: 0o600, mtime: 1_700_000_001))
            try w.addFile("data/tail", contents: random.suffix(256 << 10), .init(mode: 0o600, mtime: 1_700_000_001))
            try w.addFile("data/small", contents: Data("small\n".utf8), .init(mode: 0o644, mtime: 1_700_000_002))
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let config = ImageConfiguration(platform: .current, rootfs: .init(diffIDs: [result.diffID]))
        let configDescriptor = Descriptor.of(try OCIJSON.encode(config), mediaType: .imageConfig)
        return OneLayer(
            bytes: bytes, layer: result.descriptor, manifest: ImageManifest(config: configDescriptor, layers: [result.descriptor]),
            config: config)
    }

    /// Writes `bytes` to the writer in 64 KiB pieces.
    private func write(_ bytes: Data, to writer: BlobWriter) throws {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let end = min(bytes.endIndex, offset + (64 << 10))
            try writer.write(bytes[offset..<end])
            offset = end
        }
    }

    /// Waits up to 10 s for `condition`.
    private func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    /// Temporary snapshot directories (`.tmp-*`) in the store.
    private func temporarySnapshots(_ store: ImageStore) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: store.root + "/snapshots").filter { $0.hasPrefix(".") }
    }

    @Test("the layer is extracted before its blob is complete, and its snapshot appears only after the commit")
    func extractsAsTheIngestGrows() async throws {
        try await withStore { store, directory in
            let image = try oneLayer(in: directory)
            let writer = try await store.openIngest(digest: image.layer.digest, size: image.layer.size)
            let reports = Mutex<[UnpackProgress]>([])
            let options = UnpackOptions(progress: { report in reports.withLock { $0.append(report) } })
            let unpack = Task { try await store.unpack(image.manifest, config: image.config, options: options) { _ in writer } }

            // All but the last 16 bytes (the end of the gzip stream): the file is extracted…
            try write(image.bytes.prefix(image.bytes.count - 16), to: writer)
            #expect(try await eventually { reports.withLock { $0.contains { $0.uncompressedBytes >= 6 << 20 } } })
            // …but nothing is committed while the blob is unverified.
            #expect(lstatPath(store.snapshotPath(image.chainID)) == nil)
            #expect(try temporarySnapshots(store).count == 1)
            try write(image.bytes.suffix(16), to: writer)
            try await Task.sleep(for: .milliseconds(50))
            #expect(lstatPath(store.snapshotPath(image.chainID)) == nil)
            #expect(reports.withLock { !$0.contains(where: \.finished) })

            try writer.commit(mediaType: image.layer.mediaType)
            let paths = try await unpack.value
            #expect(paths == [store.snapshotPath(image.chainID)])
            #expect(readString(paths[0] + "/data/small") == "small\n")
            #expect(lstatPath(paths[0] + "/data/random")?.st_size == 6 << 20)
            #expect(reports.withLock { $0.last?.finished == true && $0.last?.compressedBytes == image.layer.size })
            #expect(try temporarySnapshots(store).isEmpty)
            #expect(store.contains(image.layer.digest))
        }
    }

    @Test("a blob that fails its digest at commit takes its unpacked snapshot with it")
    func digestMismatchDiscardsTheSnapshot() async throws {
        try await withStore { store, directory in
            let image = try oneLayer(in: directory)
            // The gzip header's mtime (byte 4) is ignored by decompressors: the content
            // extracts perfectly, only the digest is wrong.
            var wrong = image.bytes
            wrong[4] ^= 0x5a
            let writer = try await store.openIngest(digest: image.layer.digest, size: image.layer.size)
            let unpack = Task { try await store.unpack(image.manifest, config: image.config) { _ in writer } }
            try write(wrong, to: writer)
            #expect(throws: ImageStoreError.self) { try writer.commit(mediaType: image.layer.mediaType) }

            let error = await #expect(throws: ImageStoreError.self) { try await unpack.value }
            #expect(error?.code == .incomplete)
            #expect(error?.message.contains(image.layer.digest.description) == true)
            #expect((error?.underlying as? ImageStoreError)?.code == .digestMismatch)
            #expect(lstatPath(store.snapshotPath(image.chainID)) == nil)
            #expect(try temporarySnapshots(store).isEmpty)
            #expect(!store.contains(image.layer.digest))
        }
    }

    @Test("an ingest closed half-way (interrupted download) leaves no snapshot and keeps the partial for a resume")
    func closedIngestLeavesNoSnapshot() async throws {
        try await withStore { store, directory in
            let image = try oneLayer(in: directory)
            let writer = try await store.openIngest(digest: image.layer.digest, size: image.layer.size)
            let unpack = Task { try await store.unpack(image.manifest, config: image.config) { _ in writer } }
            try write(image.bytes.prefix(image.bytes.count / 2), to: writer)
            writer.close()
            let error = await #expect(throws: ImageStoreError.self) { try await unpack.value }
            #expect(error?.code == .incomplete)
            #expect(error?.message.contains("interrupted") == true)
            #expect(lstatPath(store.snapshotPath(image.chainID)) == nil)
            #expect(try temporarySnapshots(store).isEmpty)

            // The resumed ingest is followed from its first byte, the partial prefix included.
            let resumed = try await store.openIngest(digest: image.layer.digest, size: image.layer.size)
            #expect(resumed.offset == Int64(image.bytes.count / 2))
            let again = Task { try await store.unpack(image.manifest, config: image.config) { _ in resumed } }
            try write(image.bytes.suffix(from: image.bytes.count / 2), to: resumed)
            try resumed.commit(mediaType: image.layer.mediaType)
            let paths = try await again.value
            #expect(readString(paths[0] + "/data/small") == "small\n")
        }
    }

    @Test("cancelling the task stops an unpack that waits for bytes")
    func cancellationStopsTheWait() async throws {
        try await withStore { store, directory in
            let image = try oneLayer(in: directory)
            let writer = try await store.openIngest(digest: image.layer.digest, size: image.layer.size)
            defer { writer.abort() }
            let unpack = Task { try await store.unpack(image.manifest, config: image.config) { _ in writer } }
            try write(image.bytes.prefix(image.bytes.count * 3 / 4), to: writer)
            // Mid-file: the random file is being written in the temporary snapshot.
            #expect(try await eventually {
                let partial = (try? temporarySnapshots(store))?.first.map { "\(store.root)/snapshots/\($0)/fs/data/random" }
                return partial.flatMap(lstatPath).map { $0.st_size >= 3 << 20 } ?? false
            })
            unpack.cancel()
            await #expect(throws: CancellationError.self) { try await unpack.value }
            #expect(lstatPath(store.snapshotPath(image.chainID)) == nil)
            #expect(try temporarySnapshots(store).isEmpty)
        }
    }

    @Test("a blob already in the store is unpacked from it (and re-hashed); existing snapshots are not asked for")
    func storedBlobAndExistingSnapshot() async throws {
        try await withStore { store, directory in
            let image = try oneLayer(in: directory)
            try await store.ingest(data: image.bytes, digest: image.layer.digest, mediaType: image.layer.mediaType)
            let writer = try await store.openIngest(digest: image.layer.digest, size: image.layer.size)
            #expect(writer.alreadyExists)
            let paths = try await store.unpack(image.manifest, config: image.config) { _ in writer }
            #expect(readString(paths[0] + "/data/small") == "small\n")

            let asked = Mutex(0)
            let again = try await store.unpack(image.manifest, config: image.config) { _ in
                asked.withLock { $0 += 1 }
                return writer
            }
            #expect(again == paths)
            #expect(asked.withLock { $0 } == 0)
        }
    }

    @Test("a config whose diff IDs do not match the manifest's layers is refused before anything is asked")
    func mismatchedConfigRefused() async throws {
        try await withStore { store, directory in
            let image = try oneLayer(in: directory)
            let config = ImageConfiguration(platform: .current, rootfs: .init(diffIDs: []))
            let error = await #expect(throws: ImageStoreError.self) {
                try await store.unpack(image.manifest, config: config) { _ in
                    Issue.record("asked for an ingest")
                    throw CancellationError()
                }
            }
            #expect(error?.code == .corrupt)
            #expect(error?.message.contains("1 layers but the config lists 0 diff_ids") == true)
        }
    }
}
