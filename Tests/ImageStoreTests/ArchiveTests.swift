import Foundation
import ImageStore
import OCIHashing
import OCISpec
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// What a store holds, to check that a failed import committed nothing.
private func contents(_ store: ImageStore) throws -> (names: [String], blobs: [String], ingest: [String]) {
    (try store.images().map(\.name), try Sys.entries(store.root + "/blobs/sha256"), try Sys.entries(store.root + "/ingest"))
}

/// Runs GNU tar (building hostile archives that our writer would never produce).
private func tar(_ arguments: [String]) throws {
    let (status, output) = try runTool("/bin/tar", arguments)
    guard status == 0 else { throw ImageStoreError(.io, "tar \(arguments): \(output)") }
}

@Suite("Image archives: import and export", .enabled(if: BusyboxImage.isAvailable))
struct ArchiveTests {
    /// A busybox image in `store` named `busybox`, plus a two-layer image with a whiteout.
    private func makeImages(_ store: ImageStore, _ directory: String) async throws -> StoredImage {
        let busybox = try BusyboxImage.make(in: directory + "/bb")
        return try await store.build(from: busybox.rootfs, name: "busybox", config: BusyboxImage.config)
    }

    @Test("export as an OCI archive, import into another store: same digests, runnable rootfs")
    func roundTrip() async throws {
        try await withStore { store, directory in
            let image = try await makeImages(store, directory)
            let archive = directory + "/busybox.tar"
            try await store.exportArchive(images: ["busybox"], to: archive)
            let other = try ImageStore(root: directory + "/other")
            let imported = try await other.importImages(from: archive)
            #expect(imported.map(\.name) == ["busybox"])
            #expect(imported.first?.descriptor.digest == image.manifestDescriptor.digest)
            let found = try other.image(named: "busybox")
            #expect(found.config == image.config)
            #expect(try await other.verify().isClean)
            #expect(try Sys.entries(other.root + "/blobs/sha256").count == 3)
            #expect(try Sys.entries(other.root + "/ingest").isEmpty)
            // Importing again is idempotent; a given name renames.
            try await other.importImages(from: archive, name: "renamed")
            #expect(Set(try other.images().map(\.name)) == ["busybox", "renamed"])
            // A layout directory imports too (the store itself is one).
            let third = try ImageStore(root: directory + "/third")
            try await third.importImages(from: store.root, name: "from-layout")
            #expect(try third.image(named: "from-layout").manifestDescriptor.digest == image.manifestDescriptor.digest)
            // Several images in one file with a single name is refused.
            try store.createImage(layers: [], name: "empty")
            try await store.exportArchive(images: ["busybox", "empty"], to: directory + "/two.tar")
            let several = await #expect(throws: ImageStoreError.self) {
                try await third.importImages(from: directory + "/two.tar", name: "x")
            }
            #expect(several?.code == .invalidArchive)
            #expect(several?.message.contains("2 images") == true)
            // A name that does not exist is named in the error.
            let missing = await #expect(throws: ImageStoreError.self) {
                try await store.exportArchive(images: ["nope"], to: directory + "/nope.tar")
            }
            #expect(missing?.code == .notFound)
            #expect(!FileManager.default.fileExists(atPath: directory + "/nope.tar"))
        }
    }

    @Test("skopeo makes an oci-archive and a docker-archive; Caisson imports both", .enabled(if: isRoot && BusyboxImageFixture.isAvailable))
    func importFromSkopeo() async throws {
        try await withStore { store, directory in
            let fixture = try BusyboxImageFixture.build(in: directory + "/fixture")
            let source = "oci:\(fixture.umociLayout):\(BusyboxImageFixture.tag)"
            let ociArchive = directory + "/bb-oci.tar"
            let dockerArchive = directory + "/bb-docker.tar"
            var (status, output) = try runTool("/usr/bin/skopeo", ["copy", "--quiet", source, "oci-archive:\(ociArchive):bb-oci"])
            #expect(status == 0, "\(output)")
            (status, output) = try runTool("/usr/bin/skopeo", ["copy", "--quiet", source, "docker-archive:\(dockerArchive):example/bb:v1"])
            #expect(status == 0, "\(output)")

            let fromOCI = try await store.importImages(from: ociArchive)
            #expect(fromOCI.map(\.name) == ["bb-oci"])
            let fromDocker = try await store.importImages(from: dockerArchive)
            #expect(fromDocker.count == 1)
            #expect(fromDocker.first?.name.hasSuffix("example/bb:v1") == true)

            for name in ["bb-oci", fromDocker[0].name] {
                let image = try store.image(named: name)
                #expect(image.config.config?.entrypoint == ["/bin/busybox"])
                #expect(image.config.config?.env?.contains("PATH=/bin") == true)
                let rootfs = try await store.prepare(key: "k", image: image, mode: .view)
                #expect(FileManager.default.isExecutableFile(atPath: rootfs.path + "/bin/busybox"))
                try store.remove(key: "k")
            }
            // The Docker image was converted: OCI manifest, same config and layer content.
            let docker = try store.image(named: fromDocker[0].name)
            let oci = try store.image(named: "bb-oci")
            #expect(docker.manifestDescriptor.mediaType == .imageManifest)
            #expect(docker.config.rootfs.diffIDs == oci.config.rootfs.diffIDs)
            #expect(try await store.verify().isClean)
            #expect(try Sys.entries(store.root + "/ingest").isEmpty)

            // A gzip-compressed docker save tarball works as well.
            let gzipped = directory + "/bb-docker.tar.gz"
            (status, output) = try runTool("/bin/sh", ["-c", "gzip -c '\(dockerArchive)' > '\(gzipped)'"])
            #expect(status == 0, "\(output)")
            let again = try await store.importImages(from: gzipped, name: "gz")
            #expect(again.first?.descriptor.digest == fromDocker[0].descriptor.digest)
        }
    }

    @Test("Caisson exports; skopeo inspects, copies and umoci unpacks the result", .enabled(if: isRoot && BusyboxImageFixture.isAvailable))
    func exportForSkopeo() async throws {
        try await withStore { store, directory in
            let image = try await makeImages(store, directory)
            let archive = directory + "/out.tar"
            try await store.exportArchive(images: ["busybox"], to: archive)
            var (status, output) = try runTool("/usr/bin/skopeo", ["inspect", "oci-archive:\(archive)"])
            #expect(status == 0, "\(output)")
            #expect(output.contains(image.manifestDescriptor.digest.description))
            (status, output) = try runTool("/usr/bin/skopeo", ["inspect", "--config", "oci-archive:\(archive):busybox"])
            #expect(status == 0, "\(output)")
            #expect(output.contains("/bin/sh"))
            (status, output) = try runTool("/usr/bin/skopeo", ["copy", "--quiet", "oci-archive:\(archive):busybox", "oci:\(directory)/copied:bb"])
            #expect(status == 0, "\(output)")
            (status, output) = try runTool("/usr/bin/umoci", ["unpack", "--image", "\(directory)/copied:bb", "\(directory)/bundle"])
            #expect(status == 0, "\(output)")
            #expect(FileManager.default.isExecutableFile(atPath: directory + "/bundle/rootfs/bin/busybox"))
            (status, output) = try runTool("/usr/bin/skopeo", ["copy", "--quiet", "oci-archive:\(archive):busybox", "docker-archive:\(directory)/d.tar:x/y:z"])
            #expect(status == 0, "\(output)")
        }
    }

    @Test("a missing blob, a digest mismatch or path traversal is refused and commits nothing")
    func badArchives() async throws {
        try await withStore { store, directory in
            let image = try await makeImages(store, directory)
            let good = directory + "/good.tar"
            try await store.exportArchive(images: ["busybox"], to: good)
            let target = try ImageStore(root: directory + "/target")
            let layer = image.manifest.layers[0].digest
            let empty = try contents(target)

            func variant(_ name: String, _ change: (String) throws -> Void) throws -> String {
                let tree = directory + "/tree-" + name
                try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
                try tar(["-xf", good, "-C", tree])
                try change(tree)
                let archive = directory + "/\(name).tar"
                try tar(["-cf", archive, "-C", tree, "."])
                return archive
            }

            // 1. A layer blob is missing.
            let missing = try variant("missing") { try FileManager.default.removeItem(atPath: $0 + "/blobs/sha256/" + layer.encoded) }
            let missingError = await #expect(throws: ImageStoreError.self) { try await target.importImages(from: missing) }
            #expect(missingError?.code == .invalidArchive)
            #expect(missingError?.message.contains(layer.description) == true)
            #expect(missingError?.message.contains("missing") == true)
            #expect(try contents(target) == empty)

            // 2. A layer blob's bytes changed (same size): its digest does not match.
            let corrupt = try variant("corrupt") { tree in
                let path = tree + "/blobs/sha256/" + layer.encoded
                var data = try Data(contentsOf: URL(fileURLWithPath: path))
                data[data.count / 2] ^= 0xff
                try data.write(to: URL(fileURLWithPath: path))
            }
            let corruptError = await #expect(throws: ImageStoreError.self) { try await target.importImages(from: corrupt) }
            #expect(corruptError?.code == .digestMismatch)
            #expect(corruptError?.message.contains(layer.description) == true)
            #expect(try contents(target) == empty)

            // 3. An entry named ../escape (written with -P, which keeps the "..").
            let escapeTree = directory + "/tree-escape"
            try FileManager.default.createDirectory(atPath: escapeTree + "/inner", withIntermediateDirectories: true)
            try tar(["-xf", good, "-C", escapeTree + "/inner"])
            try Data("evil".utf8).write(to: URL(fileURLWithPath: escapeTree + "/escape"))
            let traversal = directory + "/traversal.tar"
            try tar(["-cPf", traversal, "-C", escapeTree + "/inner", ".", "../escape"])
            let (_, listing) = try runTool("/bin/tar", ["-tPf", traversal])
            #expect(listing.contains("../escape"))
            let traversalError = await #expect(throws: ImageStoreError.self) { try await target.importImages(from: traversal) }
            #expect(traversalError?.code == .invalidArchive)
            #expect(traversalError?.message.contains("path traversal") == true)
            #expect(!FileManager.default.fileExists(atPath: target.root + "/../escape"))
            #expect(try contents(target) == empty)

            // 4. A blob that is a symlink pointing out of the archive.
            let link = try variant("symlink") { tree in
                let path = tree + "/blobs/sha256/" + layer.encoded
                try FileManager.default.removeItem(atPath: path)
                try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "../../../../../etc/passwd")
            }
            let linkError = await #expect(throws: ImageStoreError.self) { try await target.importImages(from: link) }
            #expect(linkError?.code == .invalidArchive)
            #expect(linkError?.message.contains("outside the archive") == true)
            #expect(try contents(target) == empty)

            // 5. Not an archive at all.
            try Data("not a tar".utf8).write(to: URL(fileURLWithPath: directory + "/junk.tar"))
            let junkError = await #expect(throws: ImageStoreError.self) { try await target.importImages(from: directory + "/junk.tar") }
            #expect(junkError?.code == .invalidArchive)
            #expect(try contents(target) == empty)

            // The good archive still imports.
            try await target.importImages(from: good)
            #expect(try target.images().map(\.name) == ["busybox"])
        }
    }

    @Test("a docker archive whose layer does not match the config's diff_id is refused", .enabled(if: isRoot && BusyboxImageFixture.isAvailable))
    func dockerDiffIDMismatch() async throws {
        try await withStore { store, directory in
            let fixture = try BusyboxImageFixture.build(in: directory + "/fixture")
            let archive = directory + "/d.tar"
            let (status, output) = try runTool(
                "/usr/bin/skopeo", ["copy", "--quiet", "oci:\(fixture.umociLayout):\(BusyboxImageFixture.tag)", "docker-archive:\(archive):a/b:c"])
            #expect(status == 0, "\(output)")
            let tree = directory + "/tree"
            try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
            try tar(["-xf", archive, "-C", tree])
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tree + "/manifest.json"))) as? [[String: Any]]
            let layerPath = try #require((manifest?.first?["Layers"] as? [String])?.first)
            // Append a byte: the layer still reads as a tar, but hashes differently.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tree + "/" + layerPath))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data([0]))
            try handle.close()
            try tar(["-cf", directory + "/bad.tar", "-C", tree, "."])
            let error = await #expect(throws: ImageStoreError.self) { try await store.importImages(from: directory + "/bad.tar") }
            #expect(error?.code == .digestMismatch)
            #expect(error?.message.contains("diff_id") == true)
            #expect(try contents(store).blobs.isEmpty)
            #expect(try contents(store).ingest.isEmpty)
        }
    }
}
