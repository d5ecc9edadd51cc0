import Foundation
import ImageStore
import OCIHashing
import OCISpec
import Registry
import Synchronization
import Testing
import TestSupport
import _CImageStore

#if canImport(Glibc)
import Glibc
#endif

/// A pull that unpacks each layer while it downloads (`pull(…, unpack:)`): the same
/// snapshots as pulling first and unpacking after, and nothing committed that did not
/// verify, whether the registry serves wrong bytes or the pull is cancelled half-way.
@Suite("Pull that unpacks while downloading", .enabled(if: registryToolsAvailable))
struct PipelinedPullTests {
    /// The three-layer image of these tests, pushed to `pipeline/image:1`.
    struct LayeredImage {
        let reference: Reference
        let image: StoredImage
        var layers: [Descriptor] { image.manifest.layers }
    }

    /// Builds a three-layer image in the fixture's source store and pushes it:
    /// 0. directories, files, a symlink, a hardlink, modes, owners and times;
    /// 1. eight files of 1 MiB of random bytes (so that its download and unpack are
    ///    observably in flight), a whiteout of a layer-0 file, an opaque directory, a
    ///    replaced file;
    /// 2. one small file.
    private func pushLayeredImage(_ fixture: RegistryFixture) async throws -> LayeredImage {
        let directory = "\(fixture.directory)/layers"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let random = Data((0..<(8 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        var results: [LayerWriter.Result] = []
        let recipes: [(LayerWriter) throws -> Void] = [
            { layer in
                try layer.addDirectory("etc", .init(mode: 0o755, mtime: 1_700_000_002))
                try layer.addFile("etc/motd", contents: Data("hello\n".utf8), .init(mode: 0o644, mtime: 1_700_000_003))
                try layer.addFile("etc/gone", contents: Data("deleted above\n".utf8))
                try layer.addSymlink("etc/link", target: "motd", .init(mode: 0o777, mtime: 1_700_000_004))
                try layer.addHardlink("etc/motd.hard", target: "etc/motd")
                try layer.addDirectory("cache", .init(mode: 0o700))
                try layer.addFile("cache/old", contents: Data("stale\n".utf8))
            },
            { layer in
                try layer.addDirectory("data", .init(mode: 0o755, mtime: 1_700_000_000))
                for part in 0..<8 {
                    try layer.addFile(
                        "data/random\(part)", contents: random[(part << 20)..<((part + 1) << 20)],
                        .init(mode: 0o600, uid: 1000, gid: 1000, mtime: 1_700_000_001))
                }
                try layer.addDirectory("etc", .init(mode: 0o755, mtime: 1_700_000_010))
                try layer.addFile("etc/.wh.gone", contents: Data())
                try layer.addFile("etc/motd", contents: Data("replaced\n".utf8), .init(mode: 0o640, mtime: 1_700_000_011))
                try layer.addDirectory("cache", .init(mode: 0o700))
                try layer.addFile("cache/.wh..wh..opq", contents: Data())
                try layer.addFile("cache/new", contents: Data("fresh\n".utf8))
            },
            { layer in
                try layer.addFile("top", contents: Data("top layer\n".utf8), .init(mode: 0o755, mtime: 1_700_000_020))
            },
        ]
        for (index, recipe) in recipes.enumerated() {
            let path = "\(directory)/layer\(index).tar.gz"
            let writer = try LayerWriter(path: path, compression: .gzip)
            try recipe(writer)
            let result = try writer.finish()
            try await fixture.source.ingest(
                contentsOf: path, digest: result.descriptor.digest, size: result.descriptor.size,
                mediaType: result.descriptor.mediaType)
            results.append(result)
        }
        let image = try fixture.source.createImage(layers: results, name: "layered", config: .init(cmd: ["/top"]))
        let reference = try fixture.reference("pipeline/image:1")
        try await fixture.client.push("layered", from: fixture.source, to: reference)
        return LayeredImage(reference: reference, image: image)
    }

    @Test("unpacking while downloading gives the snapshots that pull-then-unpack gives")
    func sameSnapshotsAsPullThenUnpack() async throws {
        try await withRegistryFixture { fixture in
            let layered = try await pushLayeredImage(fixture)

            let sequential = try fixture.newStore("sequential")
            let plain = try await fixture.client.pull(layered.reference, into: sequential)
            #expect(plain.snapshots.isEmpty)
            let expected = try await sequential.unpack(plain.image)

            let store = try fixture.newStore("pipelined")
            let reports = Mutex<[UnpackProgress]>([])
            let overlap = Overlap(layered.layers[1])
            let options = UnpackOptions(progress: { report in
                reports.withLock { $0.append(report) }
                overlap.unpacked(report)
            })
            let pulled = try await fixture.client.pull(layered.reference, into: store, unpack: options) { overlap.pulled($0) }
            #expect(overlap.seen)

            #expect(pulled.image.manifest == layered.image.manifest)
            #expect(pulled.snapshots.count == 3)
            #expect(pulled.snapshots.map { relative($0, to: store.root) } == expected.map { relative($0, to: sequential.root) })
            for (mine, theirs) in zip(pulled.snapshots, expected) {
                let tree = try snapshotTree(mine)
                let theirTree = try snapshotTree(theirs)
                #expect(!tree.isEmpty)
                let differences = Set(tree.keys).union(theirTree.keys).filter { tree[$0] != theirTree[$0] }.sorted()
                #expect(differences.isEmpty, "\(differences.map { "\($0): \(tree[$0] ?? "absent") vs \(theirTree[$0] ?? "absent")" })")
                let info = URL(fileURLWithPath: mine).deletingLastPathComponent().appendingPathComponent("info.json").path
                let theirInfo = URL(fileURLWithPath: theirs).deletingLastPathComponent().appendingPathComponent("info.json").path
                #expect(FileManager.default.contents(atPath: info) == FileManager.default.contents(atPath: theirInfo))
            }
            // Layer 1's overlay markers made it: a whiteout device and an opaque directory.
            let upper = pulled.snapshots[1]
            #expect(lstatPath("\(upper)/etc/gone").map { $0.st_mode & Self.typeMask == 0o020000 && $0.st_rdev == 0 } == true)
            #expect(xattr("\(upper)/cache", "trusted.overlay.opaque") == "y")
            // Every layer reported its verified end; the blobs are committed, no partials remain.
            let finished = reports.withLock { $0.filter(\.finished).map(\.layer) }
            #expect(Set(finished) == Set(layered.layers.map(\.digest)))
            for layer in layered.layers { #expect(store.contains(layer.digest)) }
            #expect(try leftovers(in: store).isEmpty)

            // A second pull finds every snapshot and unpacks nothing.
            reports.withLock { $0 = [] }
            let again = try await fixture.client.pull(layered.reference, into: store, unpack: options)
            #expect(again.snapshots == pulled.snapshots)
            #expect(again.downloadedBytes == 0)
            #expect(reports.withLock { $0.isEmpty })
        }
    }

    @Test("a layer that unpacks cleanly but fails its digest commits no snapshot and no blob")
    func tamperedLayerMidway() async throws {
        try await withRegistryFixture { fixture in
            let layered = try await pushLayeredImage(fixture)
            // Byte 4 of a gzip stream is its header's mtime, which decompressors ignore:
            // the layer still unpacks to the right content (diff ID included), and only
            // the blob digest tells that these are not the bytes the manifest names.
            let corrupt = layered.layers[1]
            let stored = fixture.registry.blobDataPath(corrupt.digest)
            let original = try Data(contentsOf: URL(fileURLWithPath: stored))
            var tampered = original
            tampered[4] ^= 0x5a
            try tampered.write(to: URL(fileURLWithPath: stored))

            let store = try fixture.newStore("victim")
            let reports = Mutex<[UnpackProgress]>([])
            let overlap = Overlap(corrupt)
            let options = UnpackOptions(progress: { report in
                reports.withLock { $0.append(report) }
                overlap.unpacked(report)
            })
            let error = await registryError {
                try await fixture.client.pull(layered.reference, into: store, unpack: options) { overlap.pulled($0) }
            }
            #expect(error?.code == .digestMismatch)
            #expect(error?.message.contains(corrupt.digest.description) == true)
            // The layer was being unpacked from its ingest, and never reported as
            // finished: its snapshot was thrown away, not committed.
            #expect(overlap.seen)
            #expect(!reports.withLock { $0.contains { $0.layer == corrupt.digest && $0.finished } })
            try expectNothingCommitted(from: 1, of: layered, in: store)

            // Put the registry right: the same store pulls and unpacks the image.
            try original.write(to: URL(fileURLWithPath: stored))
            let pulled = try await fixture.client.pull(layered.reference, into: store, unpack: UnpackOptions())
            #expect(pulled.snapshots.count == 3)
            #expect((try? String(contentsOfFile: "\(pulled.snapshots[1])/etc/motd", encoding: .utf8)) == "replaced\n")
            #expect(try leftovers(in: store).isEmpty)
        }
    }

    @Test("wrong bytes that libarchive cannot read are reported as the digest mismatch they are")
    func garbageLayerMidway() async throws {
        try await withRegistryFixture { fixture in
            let layered = try await pushLayeredImage(fixture)
            let proxy = try FaultProxy(upstreamPort: fixture.registry.port)
            defer { proxy.stop() }
            let target = try Reference(parsing: "\(proxy.host)/pipeline/image:1")
            let corrupt = layered.layers[1]
            // Same size, not gzip: the unpack fails at once; the download goes on to the
            // end, and its digest mismatch is what the pull reports.
            proxy.inject(.respond(
                200, contentType: "application/octet-stream", body: String(repeating: "x", count: Int(corrupt.size)), times: 1,
                pathContains: "/blobs/\(corrupt.digest)"))

            let store = try fixture.newStore("victim")
            let error = await registryError { try await fixture.client.pull(target, into: store, unpack: UnpackOptions()) }
            #expect(error?.code == .digestMismatch)
            #expect(error?.message.contains(corrupt.digest.description) == true)
            try expectNothingCommitted(from: 1, of: layered, in: store)
        }
    }

    @Test("cancelling half-way through a layer commits nothing, leaks nothing, and the next pull resumes")
    func cancelledMidway() async throws {
        try await withRegistryFixture { fixture in
            let layered = try await pushLayeredImage(fixture)
            let big = layered.layers[1]
            let store = try fixture.newStore("cancelled")
            // One download at a time: layer 2 cannot complete before layer 1.
            let configuration = RegistryConfiguration(maxConcurrentDownloads: 1, retry: RetryPolicy(maxAttempts: 2))
            let outcome: Result<PulledImage, any Error> = try await RegistryClient.withClient(configuration: configuration) { client in
                // The pull cancels itself from its progress callback, 1 MiB into layer 1.
                let pull = Mutex<Task<PulledImage, any Error>?>(nil)
                let task = Task<PulledImage, any Error> {
                    try await client.pull(layered.reference, into: store, unpack: UnpackOptions()) { report in
                        guard report.event == .downloading, report.descriptor?.digest == big.digest, report.blobBytes < big.size else {
                            return
                        }
                        for _ in 0..<1000 where pull.withLock({ $0 }) == nil { usleep(1000) }
                        pull.withLock { $0 }?.cancel()
                    }
                }
                pull.withLock { $0 = task }
                return await task.result
            }
            guard case .failure(let failure) = outcome else {
                Issue.record("the cancelled pull succeeded")
                return
            }
            #expect(failure is CancellationError, "got \(failure)")
            #expect(try store.images().isEmpty)
            #expect(!store.contains(big.digest))
            let chain = layered.image.chainIDs
            #expect(!FileManager.default.fileExists(atPath: store.snapshotPath(chain[1])))
            #expect(!FileManager.default.fileExists(atPath: store.snapshotPath(chain[2])))
            // The partial stays for a resume; nothing else is left, and no fd points into the store.
            let partial = "\(store.root)/ingest/sha256-\(big.digest.encoded)"
            let kept = try #require(lstatPath(partial))
            #expect(kept.st_size > 0 && kept.st_size < big.size)
            #expect(try leftovers(in: store) == ["ingest/sha256-\(big.digest.encoded)"])
            #expect(openFiles(under: store.root).isEmpty)

            // The next pull resumes the partial with a Range request and unpacks everything.
            let pulled = try await fixture.client.pull(layered.reference, into: store, unpack: UnpackOptions())
            #expect(pulled.snapshots.count == 3)
            #expect(pulled.downloadedBytes < layered.layers.reduce(0) { $0 + $1.size })
            #expect(try snapshotTree(pulled.snapshots[1])["data/random7"] != nil)
            #expect(try leftovers(in: store).isEmpty)
            #expect(openFiles(under: store.root).isEmpty)
        }
    }

    // MARK: - Helpers

    /// Holds a layer's download once it has 6 MiB until the layer's unpack reported
    /// 4 MiB: a pull that passes this unpacks the layer while it downloads.
    final class Overlap: Sendable {
        let layer: Descriptor
        private let unpacked = Mutex<Int64>(0)
        private let state = Mutex<(held: Bool, seen: Bool)>((false, false))

        init(_ layer: Descriptor) { self.layer = layer }

        /// Whether the unpack reached 4 MiB while the download was held at 6 MiB.
        var seen: Bool { state.withLock { $0.seen } }

        /// For ``UnpackOptions/progress``.
        func unpacked(_ report: UnpackProgress) {
            guard report.layer == layer.digest else { return }
            unpacked.withLock { $0 = max($0, report.uncompressedBytes) }
        }

        /// For the pull's progress callback (it runs in the download task: blocking it
        /// holds the download).
        func pulled(_ report: PullProgress) {
            guard report.event == .downloading, report.descriptor?.digest == layer.digest, report.blobBytes >= 6 << 20,
                state.withLock({ state in defer { state.held = true }; return !state.held })
            else { return }
            for _ in 0..<2000 {
                if unpacked.withLock({ $0 }) >= 4 << 20 {
                    state.withLock { $0.seen = true }
                    return
                }
                usleep(5000)
            }
        }
    }

    private static let typeMask: UInt32 = 0o170000

    /// Checks that a pull that failed at layer `index` left it, the layers above and the
    /// image uncommitted: no snapshot, no blob of that layer, no partial ingest, no
    /// temporary directory, no open fd. (Layers below verified and may be committed.)
    private func expectNothingCommitted(from index: Int, of layered: LayeredImage, in store: ImageStore) throws {
        #expect(try store.images().isEmpty)
        let chain = layered.image.chainIDs
        for position in layered.layers.indices where position >= index {
            #expect(!FileManager.default.fileExists(atPath: store.snapshotPath(chain[position])))
        }
        #expect(!store.contains(layered.layers[index].digest))
        #expect(try leftovers(in: store).isEmpty)
        #expect(openFiles(under: store.root).isEmpty)
    }

    /// What a pull leaves besides committed content: partial ingests and temporary
    /// directories (lock files excluded), as paths relative to the store root.
    private func leftovers(in store: ImageStore) throws -> [String] {
        let ingest = try FileManager.default.contentsOfDirectory(atPath: "\(store.root)/ingest")
            .filter { !$0.hasSuffix(".lock") }.map { "ingest/\($0)" }
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: "\(store.root)/snapshots")
            .filter { $0.hasPrefix(".") }.map { "snapshots/\($0)" }
        return (ingest + snapshots).sorted()
    }

    private func relative(_ path: String, to root: String) -> String {
        path.hasPrefix(root) ? String(path.dropFirst(root.count)) : path
    }

    /// This process's open files under `directory` (locks, ingests, snapshot fds).
    private func openFiles(under directory: String) -> [String] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.compactMap { fd in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? ""
            return target.hasPrefix(directory + "/") ? target : nil
        }
    }

    private func lstatPath(_ path: String) -> stat? {
        var st = stat()
        return lstat(path, &st) == 0 ? st : nil
    }

    private func xattr(_ path: String, _ name: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = cis_lgetxattr(path, name, &buffer, buffer.count)
        return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
    }

    /// Every entry of a snapshot: type, mode, owner, size, times, link count, content
    /// digest or link target, device numbers and xattrs, keyed by relative path.
    private func snapshotTree(_ root: String) throws -> [String: String] {
        var tree: [String: String] = [:]
        func walk(_ relative: String) throws {
            let path = relative.isEmpty ? root : "\(root)/\(relative)"
            guard let st = lstatPath(path) else { throw POSIXError(.ENOENT) }
            // The snapshot root and whiteouts (0/0 devices) are made by the unpack
            // itself, at its own time; everything else carries the layer's times.
            let isWhiteout = st.st_mode & Self.typeMask == 0o020000 && st.st_rdev == 0
            let mtime = relative.isEmpty || isWhiteout ? "" : " mtime \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
            var description = "mode \(String(st.st_mode, radix: 8)) owner \(st.st_uid):\(st.st_gid)\(mtime)"
            var names = [CChar](repeating: 0, count: 4096)
            let length = cis_llistxattr(path, &names, names.count)
            if length > 0 {
                let list = names[0..<length].split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
                description += " xattrs " + list.sorted().map { "\($0)=\(xattr(path, $0) ?? "?")" }.joined(separator: ",")
            }
            switch st.st_mode & Self.typeMask {
            case 0o040000:
                tree[relative] = "dir " + description
                for child in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
                    try walk(relative.isEmpty ? child : "\(relative)/\(child)")
                }
                return
            case 0o100000:
                let content = try Data(contentsOf: URL(fileURLWithPath: path))
                description = "file \(description) size \(st.st_size) links \(st.st_nlink) \(Digest.sha256(of: content))"
            case 0o120000:
                description = "symlink \(description) -> \(try FileManager.default.destinationOfSymbolicLink(atPath: path))"
            case 0o020000:
                description = "char \(description) rdev \(st.st_rdev)"
            default:
                description = "other \(description)"
            }
            tree[relative] = description
        }
        try walk("")
        return tree
    }
}
