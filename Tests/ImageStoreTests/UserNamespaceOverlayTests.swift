import Foundation
import ImageStore
import OCISpec
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("Rootfs for an overlay mounted in a user namespace", .enabled(if: isRoot && BusyboxImage.isAvailable))
struct UserNamespaceOverlayTests {
    @Test("userNamespaceOverlay: snapshots, upper and work dirs made, nothing mounted; remove deletes them")
    func prepareWithoutMount() async throws {
        try await withStore { store, directory in
            let busybox = try BusyboxImage.make(in: directory + "/bb")
            let image = try await store.build(from: busybox.rootfs, name: "busybox", config: BusyboxImage.config)
            let prepared = try await store.prepare(key: "u1", image: image, mode: .userNamespaceOverlay)
            #expect(prepared.mode == .userNamespaceOverlay)
            #expect(prepared.lowerDirectories == [store.snapshotPath(image.chainIDs[0])])
            #expect(FileManager.default.isExecutableFile(atPath: prepared.lowerDirectories[0] + "/bin/busybox"))
            let upper = try #require(prepared.upperDirectory), work = try #require(prepared.workDirectory)
            #expect((lstatPath(upper)?.st_mode ?? 0) & S_IFMT == S_IFDIR && lstatPath(work) != nil)
            // The rootfs is only the mount point: the container mounts the overlay there.
            #expect(mountLines(containing: directory).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: prepared.path).isEmpty)
            try store.remove(key: "u1")
            #expect(try FileManager.default.contentsOfDirectory(atPath: store.root + "/containers").isEmpty)
            #expect(FileManager.default.fileExists(atPath: store.snapshotPath(image.chainIDs[0]) + "/bin/busybox"))
        }
    }
}
