import Foundation
import ImageStore
import OCISpec
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Garbage collection grace period and leases")
struct GracePeriodTests {
    @Test("unreachable blobs younger than the grace period stay; the default (none) sweeps them")
    func gracePeriod() async throws {
        try await withStore { store, _ in
            let orphan = try await store.ingest(data: Data(repeating: 7, count: 1000))
            let young = try await store.collectGarbage(gracePeriod: .seconds(600))
            #expect(young.blobs.isEmpty)
            #expect(young.kept == [orphan.digest])
            #expect(store.contains(orphan.digest))
            let swept = try await store.collectGarbage()
            #expect(swept.blobs == [orphan.digest])
            #expect(!store.contains(orphan.digest))
        }
    }

    @Test("a lease keeps what is committed or re-ingested under it until released")
    func lease() async throws {
        try await withStore { store, _ in
            let old = try await store.ingest(data: Data(repeating: 1, count: 100))
            // Make `old` look like it was committed an hour ago.
            var times = [timespec(tv_sec: time(nil) - 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 3600, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, store.blobPath(old.digest), &times, 0) == 0)
            let stale = try await store.ingest(data: Data(repeating: 2, count: 100))
            #expect(utimensat(AT_FDCWD, store.blobPath(stale.digest), &times, 0) == 0)

            let lease = try store.lease()
            let fresh = try await store.ingest(data: Data(repeating: 3, count: 100))
            // Re-ingesting an existing blob (a pull sharing a layer) renews it.
            try await store.ingest(data: Data(repeating: 1, count: 100))
            let during = try await store.collectGarbage(gracePeriod: .zero)
            #expect(during.blobs == [stale.digest])
            #expect(Set(during.kept) == [old.digest, fresh.digest])
            #expect(store.contains(fresh.digest) && store.contains(old.digest))

            lease.release()
            lease.release()
            #expect(try Sys.entries(store.root + "/locks/leases").isEmpty)
            let after = try await store.collectGarbage(gracePeriod: .zero)
            #expect(Set(after.blobs) == [old.digest, fresh.digest])

            // withLease releases on return.
            let held = try await store.withLease { try Sys.entries(store.root + "/locks/leases").count }
            #expect(held == 1)
            #expect(try Sys.entries(store.root + "/locks/leases").isEmpty)
        }
    }

    @Test("a lease file whose holder is gone protects nothing and is removed; so is a dead import's staging")
    func deadLease() async throws {
        try await withStore { store, _ in
            try FileManager.default.createDirectory(atPath: store.root + "/locks/leases", withIntermediateDirectories: true)
            // A lease file nobody holds: what a SIGKILLed holder leaves.
            try Data().write(to: URL(fileURLWithPath: store.root + "/locks/leases/999999-1"))
            // The staging directory of an import killed mid-way.
            try FileManager.default.createDirectory(atPath: store.root + "/ingest/.import-999999-1", withIntermediateDirectories: true)
            try Data("partial".utf8).write(to: URL(fileURLWithPath: store.root + "/ingest/.import-999999-1/1"))
            let orphan = try await store.ingest(data: Data(repeating: 9, count: 100))
            let report = try await store.collectGarbage(gracePeriod: .zero)
            #expect(report.blobs == [orphan.digest])
            #expect(report.stale == ["ingest/.import-999999-1"])
            #expect(try Sys.entries(store.root + "/ingest").isEmpty)
            #expect(try Sys.entries(store.root + "/locks/leases").isEmpty)
        }
    }
}

/// Runs `body` with a store on a fresh XFS filesystem (reflink support) in a loop file,
/// unmounted (which frees the loop device) even on failure.
private func withXFSStore(_ directory: String, _ body: (ImageStore) async throws -> Void) async throws {
    let image = directory + "/xfs.img"
    let mountPoint = directory + "/xfs"
    try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
    #expect(FileManager.default.createFile(atPath: image, contents: nil))
    #expect(truncate(image, 512 << 20) == 0)
    var (status, output) = try runTool("/sbin/mkfs.xfs", ["-q", "-m", "reflink=1", image])
    try #require(status == 0, "mkfs.xfs: \(output)")
    (status, output) = try runTool("/bin/mount", ["-o", "loop", image, mountPoint])
    try #require(status == 0, "mount: \(output)")
    do {
        try await body(try ImageStore(root: mountPoint + "/store"))
    } catch {
        _ = try? runTool("/bin/umount", [mountPoint])
        throw error
    }
    (status, output) = try runTool("/bin/umount", [mountPoint])
    #expect(status == 0, "umount: \(output)")
}

@Suite("Copy prepare: reflink where possible", .enabled(if: isRoot))
struct ReflinkTests {
    /// A base layer and an upper layer that deletes, replaces, hides and hardlinks.
    private func layeredImage(_ store: ImageStore, _ directory: String) async throws -> StoredImage {
        let base = try makeLayer(directory + "/base") { w in
            try w.addDirectory("etc")
            try w.addFile("etc/keep", contents: Data("keep".utf8))
            try w.addFile("etc/gone", contents: Data("gone".utf8))
            try w.addFile("etc/replace", contents: Data("old".utf8))
            try w.addDirectory("opaque")
            try w.addFile("opaque/lower", contents: Data("lower".utf8))
            try w.addFile("big", contents: Data(repeating: 0x5a, count: 1 << 20), .init(mode: 0o4755, uid: 12, gid: 34))
            try w.addSymlink("link", target: "etc/keep")
        }
        let top = try makeLayer(directory + "/top") { w in
            try w.addFile("etc/.wh.gone", contents: Data())
            try w.addFile("etc/replace", contents: Data("new".utf8))
            try w.addDirectory("opaque")
            try w.addFile("opaque/.wh..wh..opq", contents: Data())
            try w.addFile("opaque/upper", contents: Data("upper".utf8))
            try w.addFile("hard1", contents: Data("shared".utf8))
            try w.addHardlink("hard2", target: "hard1")
        }
        for (layer, path) in [(base, directory + "/base"), (top, directory + "/top")] {
            _ = try await ingestLayer(store, layer, path: path)
        }
        return try store.createImage(layers: [base, top], name: "layered")
    }

    private func checkFlat(_ rootfs: String) throws {
        #expect(readString(rootfs + "/etc/keep") == "keep")
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/etc/gone"))
        #expect(readString(rootfs + "/etc/replace") == "new")
        #expect(try Sys.entries(rootfs + "/opaque") == ["upper"])
        let big = try #require(lstatPath(rootfs + "/big"))
        #expect(big.st_size == 1 << 20 && big.st_mode & 0o7777 == 0o4755 && big.st_uid == 12 && big.st_gid == 34)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/link") == "etc/keep")
        let hard1 = try #require(lstatPath(rootfs + "/hard1")), hard2 = try #require(lstatPath(rootfs + "/hard2"))
        #expect(hard1.st_ino == hard2.st_ino)
        // No overlay whiteout device or opaque marker leaks into a flat rootfs.
        #expect(lstatPath(rootfs + "/etc/.wh.gone") == nil)
        #expect(lstatPath(rootfs + "/opaque/.wh..wh..opq") == nil)
    }

    @Test("on ext4 or tmpfs the copy falls back to copying and applies whiteouts")
    func fallback() async throws {
        try await withStore { store, directory in
            let image = try await layeredImage(store, directory)
            let rootfs = try await store.prepare(key: "flat", image: image, mode: .copy)
            #expect(mountLines(containing: rootfs.path).isEmpty)
            try checkFlat(rootfs.path)
            // The copy is private: writing it leaves the shared snapshot alone.
            try Data("changed".utf8).write(to: URL(fileURLWithPath: rootfs.path + "/etc/keep"))
            #expect(readString(store.snapshotPath(image.chainIDs[0]) + "/etc/keep") == "keep")
            try store.remove(key: "flat")
        }
    }

    @Test("on XFS the copy shares extents with the snapshots (FICLONE)", .enabled(if: FileManager.default.isExecutableFile(atPath: "/sbin/mkfs.xfs")))
    func reflinkOnXFS() async throws {
        try await withStore { _, directory in
            try await withXFSStore(directory) { store in
                let image = try await layeredImage(store, directory)
                let rootfs = try await store.prepare(key: "flat", image: image, mode: .copy)
                try checkFlat(rootfs.path)
                let (status, extents) = try runTool("/usr/sbin/filefrag", ["-v", rootfs.path + "/big"])
                #expect(status == 0)
                #expect(extents.contains("shared"), "\(extents)")
                // Writing the copy unshares it; the snapshot keeps its bytes.
                try Data("x".utf8).write(to: URL(fileURLWithPath: rootfs.path + "/big"))
                #expect(lstatPath(store.snapshotPath(image.chainIDs[0]) + "/big")?.st_size == 1 << 20)
                try store.remove(key: "flat")
            }
        }
    }
}
