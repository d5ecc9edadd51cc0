import Foundation
import ImageStore
import OCISpec
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Snapshots and rootfs", .enabled(if: isRoot && BusyboxImage.isAvailable))
struct SnapshotTests {
    @Test("busybox image: overlay rootfs, writes go to the upper dir, diff makes a layer, remove unmounts")
    func overlay() async throws {
        try await withStore { store, directory in
            let busybox = try BusyboxImage.make(in: directory + "/bb")
            let image = try await store.build(from: busybox.rootfs, name: "busybox", config: BusyboxImage.config)
            let found = try store.image(named: "busybox")
            #expect(found.manifestDescriptor.digest == image.manifestDescriptor.digest)
            #expect(found.config.config?.cmd == ["/bin/sh"])

            let rootfs = try await store.prepare(key: "c1", image: found)
            #expect(mountLines(containing: rootfs.path).count == 1)
            #expect(FileManager.default.isExecutableFile(atPath: rootfs.path + "/bin/busybox"))
            try Data("new".utf8).write(to: URL(fileURLWithPath: rootfs.path + "/root/new"))
            try FileManager.default.removeItem(atPath: rootfs.path + "/etc/group")
            #expect(FileManager.default.fileExists(atPath: rootfs.upperDirectory! + "/root/new"))
            // The shared snapshot is untouched.
            #expect(FileManager.default.fileExists(atPath: store.snapshotPath(found.chainIDs[0]) + "/etc/group"))

            let layer = try await store.diff(key: "c1")
            let derived = try store.createImage(layers: [.init(descriptor: found.manifest.layers[0], diffID: found.config.rootfs.diffIDs[0]), layer], name: "derived")
            let second = try await store.prepare(key: "c2", image: derived)
            #expect(readString(second.path + "/root/new") == "new")
            #expect(!FileManager.default.fileExists(atPath: second.path + "/etc/group"))
            #expect(FileManager.default.fileExists(atPath: second.path + "/etc/passwd"))

            try store.remove(key: "c1")
            try store.remove(key: "c2")
            #expect(mountLines(containing: directory).isEmpty)
            #expect(try Sys.entries(store.root + "/containers").isEmpty)
            // Snapshots are shared: one per chain ID.
            #expect(try Sys.entries(store.root + "/snapshots").count == 2)
        }
    }

    @Test("view mode is read-only; copy mode needs no mount")
    func viewAndCopy() async throws {
        try await withStore { store, directory in
            let busybox = try BusyboxImage.make(in: directory + "/bb")
            let image = try await store.build(from: busybox.rootfs, name: "busybox", config: BusyboxImage.config)
            let view = try await store.prepare(key: "view", image: image, mode: .view)
            #expect(FileManager.default.fileExists(atPath: view.path + "/bin/busybox"))
            #expect(open(view.path + "/x", O_WRONLY | O_CREAT, 0o644) == -1 && errno == EROFS)
            let copy = try await store.prepare(key: "copy", image: image, mode: .copy)
            #expect(mountLines(containing: copy.path).isEmpty)
            #expect(FileManager.default.isExecutableFile(atPath: copy.path + "/bin/busybox"))
            try store.remove(key: "view")
            try store.remove(key: "copy")
            #expect(mountLines(containing: directory).isEmpty)
        }
    }

    @Test("a 120-layer chain mounts (more than a page of lowerdir options)")
    func longChain() async throws {
        try await withStore { store, directory in
            var layers: [LayerWriter.Result] = []
            for i in 0..<120 {
                let path = directory + "/l\(i)"
                let layer = try makeLayer(path) { w in
                    try w.addFile("layers/\(i)", contents: Data("\(i)".utf8))
                    if i > 0 { try w.addFile("layers/.wh.\(i - 1)", contents: Data()) }
                }
                _ = try await ingestLayer(store, layer, path: path)
                layers.append(layer)
            }
            let image = try store.createImage(layers: layers, name: "tall")
            let lowerOptions = image.chainIDs.map { store.snapshotPath($0) }.joined(separator: ":")
            #expect(lowerOptions.utf8.count > 4096)
            let rootfs = try await store.prepare(key: "tall", image: image)
            defer { try? store.remove(key: "tall") }
            #expect(try Sys.entries(rootfs.path + "/layers") == ["119"])
            let view = try await store.prepare(key: "tallview", image: image, mode: .view)
            defer { try? store.remove(key: "tallview") }
            #expect(readString(view.path + "/layers/119") == "119")
        }
    }

    @Test("garbage collection keeps snapshots of images and containers, sweeps the rest")
    func snapshotCollection() async throws {
        try await withStore { store, directory in
            let busybox = try BusyboxImage.make(in: directory + "/bb")
            let image = try await store.build(from: busybox.rootfs, name: "busybox")
            let rootfs = try await store.prepare(key: "c", image: image)
            try store.untag("busybox")
            let kept = try await store.collectGarbage(gracePeriod: .zero)
            #expect(kept.snapshots.isEmpty && kept.blobs.isEmpty)
            #expect(FileManager.default.fileExists(atPath: rootfs.path + "/bin/busybox"))
            try store.remove(key: "c")
            let swept = try await store.collectGarbage(gracePeriod: .zero)
            #expect(swept.snapshots == image.chainIDs)
            #expect(swept.blobs.count == 3)
            #expect(try Sys.entries(store.root + "/snapshots").isEmpty)
        }
    }
}
