import Foundation
import ImageStore
import OCIHashing
import OCISpec
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Content store")
struct ContentStoreTests {
    @Test("the root is an OCI image layout")
    func layout() async throws {
        try await withStore { store, _ in
            let header = try OCIJSON.decode(ImageLayout.self, from: Data(contentsOf: URL(fileURLWithPath: store.root + "/oci-layout")))
            #expect(header.imageLayoutVersion == "1.0.0")
            let index = try OCIJSON.decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: store.indexPath)))
            #expect(index.manifests.isEmpty)
            #expect(FileManager.default.fileExists(atPath: store.root + "/blobs/sha256"))
            // Reopening keeps it; a foreign layout version is refused.
            _ = try ImageStore(root: store.root)
            try Data(#"{"imageLayoutVersion":"9.9.9"}"#.utf8).write(to: URL(fileURLWithPath: store.root + "/oci-layout"))
            let error = #expect(throws: ImageStoreError.self) { try ImageStore(root: store.root) }
            #expect(error?.code == .invalidLayout)
        }
    }

    @Test("ingest from a buffer, a file and an async sequence")
    func ingestSources() async throws {
        try await withStore { store, directory in
            let data = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let digest = Digest.sha256(of: data)
            let descriptor = try await store.ingest(data: data, digest: digest, size: Int64(data.count))
            #expect(descriptor.digest == digest)
            #expect(store.contains(digest))
            #expect(try store.readBlob(digest) == data)

            let other = Data("file contents".utf8)
            try other.write(to: URL(fileURLWithPath: directory + "/f"))
            try await store.ingest(contentsOf: directory + "/f", digest: .sha256(of: other))
            #expect(try store.readBlob(.sha256(of: other)) == other)

            let chunks = (0..<10).map { Data(repeating: UInt8($0), count: 1000) }
            let whole = chunks.reduce(Data(), +)
            let stream = AsyncStream<Data> { continuation in
                for chunk in chunks { continuation.yield(chunk) }
                continuation.finish()
            }
            try await store.ingest(stream, digest: .sha256(of: whole), size: Int64(whole.count))
            #expect(try store.readBlob(.sha256(of: whole)) == whole)
            let partials = try Sys.partials(store)
            #expect(partials.isEmpty)
        }
    }

    @Test("a wrong digest or size names both values and commits nothing")
    func mismatch() async throws {
        try await withStore { store, _ in
            let data = Data("hello".utf8)
            let wrong = Digest.sha256(of: Data("other".utf8))
            let error = await #expect(throws: ImageStoreError.self) {
                try await store.ingest(data: data, digest: wrong, size: 5)
            }
            #expect(error?.code == .digestMismatch)
            #expect(error?.message.contains(wrong.description) == true)
            #expect(error?.message.contains(Digest.sha256(of: data).description) == true)
            #expect(!store.contains(wrong))
            #expect(!store.contains(.sha256(of: data)))
            let partials = try Sys.partials(store)
            #expect(partials.isEmpty)

            let short = await #expect(throws: ImageStoreError.self) {
                try await store.ingest(data: data, digest: .sha256(of: data), size: 6)
            }
            #expect(short?.code == .sizeMismatch)
            let long = await #expect(throws: ImageStoreError.self) {
                try await store.ingest(data: data, digest: .sha256(of: data), size: 4)
            }
            #expect(long?.code == .sizeMismatch)
            #expect(!store.contains(.sha256(of: data)))
        }
    }

    @Test("a partial ingest resumes from its offset")
    func resume() async throws {
        try await withStore { store, _ in
            let data = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 / 3) })
            let digest = Digest.sha256(of: data)
            let first = try await store.openIngest(digest: digest, size: Int64(data.count))
            #expect(first.offset == 0)
            try first.write(data.prefix(40_000))
            first.close()  // e.g. the connection dropped
            #expect(!store.contains(digest))

            let second = try await store.openIngest(digest: digest, size: Int64(data.count))
            #expect(second.offset == 40_000)
            try second.write(data.dropFirst(40_000))
            try second.commit()
            #expect(try store.readBlob(digest) == data)

            // An async-sequence ingest skips what is already there.
            let other = Data(repeating: 9, count: 5000)
            let partial = try await store.openIngest(digest: .sha256(of: other), size: 5000)
            try partial.write(other.prefix(1234))
            partial.close()
            let stream = AsyncStream<Data> { c in
                c.yield(other.prefix(3000))
                c.yield(other.dropFirst(3000))
                c.finish()
            }
            try await store.ingest(stream, digest: .sha256(of: other), size: 5000)
            #expect(try store.readBlob(.sha256(of: other)) == other)

            // Closed before its first byte, there is nothing to resume: no partial stays.
            let empty = try await store.openIngest(digest: .sha256(of: Data("never".utf8)), size: 5)
            #expect(try Sys.partials(store).count == 1)
            empty.close()
            #expect(try Sys.partials(store).isEmpty)
        }
    }

    @Test("concurrent ingests of one digest end with one blob")
    func concurrentSameDigest() async throws {
        try await withStore { store, _ in
            let data = Data((0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let digest = Digest.sha256(of: data)
            try await withThrowingTaskGroup(of: Descriptor.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await store.ingest(data: data, digest: digest, size: Int64(data.count)) }
                }
                for try await descriptor in group { #expect(descriptor.digest == digest) }
            }
            #expect(try Sys.entries(store.root + "/blobs/sha256") == [digest.encoded])
            #expect(try store.readBlob(digest) == data)
            #expect(try Sys.entries(store.root + "/ingest").isEmpty)
        }
    }

    @Test("another process sees the lock and the store after a kill -9 mid-ingest")
    func crashDuringIngest() async throws {
        try await withStore { store, _ in
            let data = Data(repeating: 0x5a, count: 1 << 20)
            let digest = Digest.sha256(of: data)
            // A child holds a write half-way and is killed; its flock dies with it.
            let partialPath = store.root + "/ingest/sha256-\(digest.encoded)"
            try data.prefix(1000).write(to: URL(fileURLWithPath: partialPath))
            let (status, _) = try runTool("/bin/sh", ["-c", "exec 9>>\(partialPath).lock; /usr/bin/flock -x 9; kill -9 $$"])
            #expect(status != 0)
            let writer = try await store.openIngest(digest: digest, size: Int64(data.count))
            #expect(writer.offset == 1000)
            try writer.write(data.dropFirst(1000))
            try writer.commit()
            let report = try await store.verify()
            #expect(report.isClean)
            #expect(report.checked == 1)
        }
    }

    @Test("tags live in index.json; untag removes them")
    func tags() async throws {
        try await withStore { store, _ in
            let manifest = Data(#"{"schemaVersion":2}"#.utf8)
            let descriptor = try await store.ingest(data: manifest, mediaType: .imageManifest)
            try store.tag("a", descriptor)
            try store.tag("b", descriptor)
            try store.tag("a", descriptor)
            #expect(try store.images().map(\.name) == ["b", "a"])
            let raw = try OCIJSON.decode(ImageIndex.self, from: Data(contentsOf: URL(fileURLWithPath: store.indexPath)))
            #expect(raw.manifests.map(\.referenceName) == ["b", "a"])
            try store.untag("b")
            #expect(try store.images().map(\.name) == ["a"])
            #expect(throws: ImageStoreError.self) { try store.untag("b") }
            let missing = #expect(throws: ImageStoreError.self) {
                try store.tag("c", Descriptor(mediaType: .imageManifest, digest: .sha256(of: Data("x".utf8)), size: 1))
            }
            #expect(missing?.code == .notFound)
        }
    }

    @Test("verify re-hashes blobs and reports corrupt ones")
    func verify() async throws {
        try await withStore { store, _ in
            let good = try await store.ingest(data: Data("good".utf8))
            let bad = try await store.ingest(data: Data("bad!".utf8))
            #expect(try await store.verify().isClean)
            try Data("evil".utf8).write(to: URL(fileURLWithPath: store.blobPath(bad.digest)))
            let report = try await store.verify()
            #expect(report.checked == 2)
            #expect(report.corrupt.keys.sorted() == [bad.digest])
            #expect(report.corrupt[bad.digest] == Digest.sha256(of: Data("evil".utf8)))
            #expect(report.corrupt[good.digest] == nil)
            let error = #expect(throws: ImageStoreError.self) { try store.readBlob(bad.digest) }
            #expect(error?.code == .corrupt)
        }
    }

    @Test("garbage collection: dry run reports, real run sweeps unreachable blobs and stale ingests")
    func garbageCollection() async throws {
        try await withStore { store, directory in
            let rootfs = directory + "/tree"
            try FileManager.default.createDirectory(atPath: rootfs + "/etc", withIntermediateDirectories: true)
            try Data("x".utf8).write(to: URL(fileURLWithPath: rootfs + "/etc/x"))
            let image = try await store.build(from: rootfs, name: "kept")
            let orphan = try await store.ingest(data: Data(repeating: 1, count: 4096))
            let stale = try await store.openIngest(digest: .sha256(of: Data("never".utf8)), size: 5)
            try stale.write(Data("nev".utf8))
            stale.close()

            let dry = try await store.collectGarbage(dryRun: true, gracePeriod: .zero)
            #expect(dry.dryRun)
            #expect(dry.blobs == [orphan.digest])
            #expect(dry.stale.count == 1)
            #expect(dry.bytes >= 4096 + 3)
            #expect(store.contains(orphan.digest))

            let real = try await store.collectGarbage(gracePeriod: .zero)
            #expect(real.blobs == [orphan.digest])
            #expect(!store.contains(orphan.digest))
            #expect(store.contains(image.manifestDescriptor.digest))
            #expect(store.contains(image.manifest.config.digest))
            #expect(store.contains(image.manifest.layers[0].digest))
            #expect(try Sys.entries(store.root + "/ingest").isEmpty)

            // Once untagged, the whole image goes.
            try store.untag("kept")
            let after = try await store.collectGarbage(gracePeriod: .zero)
            #expect(after.blobs.count == 3)
            #expect(try Sys.entries(store.root + "/blobs/sha256").isEmpty)
        }
    }
}

/// Small filesystem helpers for assertions.
enum Sys {
    /// Directory entries, sorted.
    static func entries(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    /// Partial ingests (not lock files) under `ingest/`.
    static func partials(_ store: ImageStore) throws -> [String] {
        try entries(store.root + "/ingest").filter { !$0.hasSuffix(".lock") }
    }
}
