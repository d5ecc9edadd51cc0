import Foundation
import ImageStore
import OCIHashing
import OCISpec
import Testing
import TestSupport

@Suite("Interop with skopeo and umoci", .enabled(if: BusyboxImageFixture.isAvailable))
struct InteropTests {
    @Test("skopeo and umoci read what we write")
    func theyReadUs() async throws {
        try await withStore { store, directory in
            let busybox = try BusyboxImage.make(in: directory + "/bb")
            try await store.build(from: busybox.rootfs, name: "busybox", config: BusyboxImage.config)
            let (copied, copyOutput) = try runTool("/usr/bin/skopeo", ["copy", "--quiet", "oci:\(store.root):busybox", "oci:\(directory)/copy:bb"])
            #expect(copied == 0, "\(copyOutput)")
            let (inspected, json) = try runTool("/usr/bin/skopeo", ["inspect", "--config", "oci:\(store.root):busybox"])
            #expect(inspected == 0)
            #expect(json.contains("/bin/sh"))
            let rootless = isRoot ? [] : ["--rootless"]
            let (unpacked, unpackOutput) = try runTool("/usr/bin/umoci", ["unpack"] + rootless + ["--image", "\(store.root):busybox", "\(directory)/bundle"])
            #expect(unpacked == 0, "\(unpackOutput)")
            #expect(FileManager.default.isExecutableFile(atPath: directory + "/bundle/rootfs/bin/busybox"))
            // Still a valid layout for us after the tools touched it.
            #expect(try await store.verify().isClean)
        }
    }

    @Test("images skopeo and umoci write into the root are visible to us", .enabled(if: isRoot))
    func weReadThem() async throws {
        try await withStore { store, directory in
            let fixture = try BusyboxImageFixture.build(in: directory + "/fixture")
            let (status, output) = try runTool("/usr/bin/skopeo", ["copy", "--quiet", "oci:\(fixture.umociLayout):bb", "oci:\(store.root):from-skopeo"])
            #expect(status == 0, "\(output)")
            let image = try store.image(named: "from-skopeo")
            #expect(image.config.config?.entrypoint == ["/bin/busybox"])
            // Exact manifest bytes are kept.
            #expect(Digest.sha256(of: image.manifestData) == image.manifestDescriptor.digest)
            let rootfs = try await store.prepare(key: "s", image: image)
            #expect(FileManager.default.isExecutableFile(atPath: rootfs.path + "/bin/busybox"))
            try store.remove(key: "s")

            let (tagged, tagOutput) = try runTool("/usr/bin/umoci", ["tag", "--image", "\(store.root):from-skopeo", "umoci-tag"])
            #expect(tagged == 0, "\(tagOutput)")
            #expect(try store.images().map(\.name).contains("umoci-tag"))
            #expect(try store.image(named: "umoci-tag").manifestDescriptor.digest == image.manifestDescriptor.digest)
        }
    }
}
