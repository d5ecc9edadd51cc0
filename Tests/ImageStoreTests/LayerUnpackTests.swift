import Foundation
import ImageStore
import OCIHashing
import OCISpec
import Testing
import TestSupport
import _CImageStore

#if canImport(Glibc)
import Glibc
#endif

@Suite("Layer unpack")
struct LayerUnpackTests {
    /// A layer exercising every entry kind.
    static func richLayer(_ path: String, compression: MediaType.LayerCompression) throws -> LayerWriter.Result {
        try makeLayer(path, compression: compression) { w in
            try w.addDirectory("etc/", .init(mode: 0o755, mtime: 1_000_000))
            try w.addFile("etc/hosts", contents: Data("127.0.0.1 localhost\n".utf8), .init(mode: 0o640, uid: 12, gid: 34, mtime: 1_234_567))
            try w.addFile("bin/ping", contents: Data("elf".utf8), .init(mode: 0o4755, xattrs: ["security.capability": Self.netRawCapability]))
            try w.addFile("usr/share/doc", contents: Data(), .init(xattrs: ["user.comment": Array("hi".utf8)]))
            try w.addSymlink("etc/localtime", target: "/usr/share/zoneinfo/UTC")
            try w.addHardlink("etc/hosts.link", target: "etc/hosts")
            try w.addSpecial("run/fifo", kind: .fifo, .init(mode: 0o600))
            try w.addSpecial("dev/null", kind: .character, major: 1, minor: 3, .init(mode: 0o666))
        }
    }

    /// VFS capability v2 with cap_net_raw (bit 13) permitted and effective.
    static let netRawCapability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    @Test("tar, gzip and zstd layers unpack with metadata, links, xattrs and devices", .enabled(if: isRoot), arguments: MediaType.LayerCompression.allCases)
    func richUnpack(compression: MediaType.LayerCompression) async throws {
        try await withStore { _, directory in
            let layer = try Self.richLayer(directory + "/layer", compression: compression)
            let target = directory + "/out"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            let reports = ProgressLog()
            var options = UnpackOptions(mode: .flat)
            options.progress = { reports.append($0) }
            let result = try LayerUnpacker.unpack(
                blobAt: directory + "/layer", descriptor: layer.descriptor, diffID: layer.diffID, into: target, options: options)
            #expect(result.diffID == layer.diffID)
            #expect(result.entries == 8)
            #expect(reports.last?.finished == true)
            #expect(reports.last?.entries == 8)
            #expect(reports.last?.compressedBytes == layer.descriptor.size)

            #expect(readString(target + "/etc/hosts") == "127.0.0.1 localhost\n")
            let hosts = try #require(lstatPath(target + "/etc/hosts"))
            #expect(hosts.st_mode & 0o7777 == 0o640)
            #expect(hosts.st_uid == 12 && hosts.st_gid == 34)
            #expect(hosts.st_mtim.tv_sec == 1_234_567)
            #expect(hosts.st_nlink == 2)
            #expect(lstatPath(target + "/etc/hosts.link")?.st_ino == hosts.st_ino)
            #expect(lstatPath(target + "/bin/ping").map { $0.st_mode & 0o7777 } == 0o4755)
            #expect(try xattr(target + "/bin/ping", "security.capability") == Self.netRawCapability)
            #expect(try xattr(target + "/usr/share/doc", "user.comment") == Array("hi".utf8))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: target + "/etc/localtime") == "/usr/share/zoneinfo/UTC")
            #expect(lstatPath(target + "/run/fifo").map { $0.st_mode & 0o170000 } == 0o010000)
            let null = try #require(lstatPath(target + "/dev/null"))
            #expect(null.st_mode & 0o170000 == 0o020000)
            #expect(null.st_rdev == 0x103)  // makedev(1, 3)
            #expect(lstatPath(target + "/etc").map { $0.st_mtim.tv_sec } == 1_000_000)
        }
    }

    @Test("a sparse file (GNU tar --sparse) unpacks with its holes and its full size")
    func sparseFile() async throws {
        try await withStore { _, directory in
            // 64 MiB with 4 KiB of data at 1 MiB and a byte at the end: mostly holes.
            let source = directory + "/src"
            try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
            let fd = open(source + "/sparse.bin", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            try #require(fd >= 0)
            let block = [UInt8](repeating: 0x5a, count: 4096)
            _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress!, 4096, 1 << 20) }
            _ = [UInt8(0x21)].withUnsafeBytes { pwrite(fd, $0.baseAddress!, 1, (64 << 20) - 1) }
            close(fd)
            let tar = Process()
            tar.executableURL = URL(fileURLWithPath: "/bin/tar")
            tar.arguments = ["--sparse", "--format=posix", "-C", source, "-cf", directory + "/layer.tar", "sparse.bin"]
            try tar.run()
            tar.waitUntilExit()
            try #require(tar.terminationStatus == 0)
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/layer.tar"))
            #expect(data.count < 1 << 20, "the archive stores only the data: \(data.count) bytes")
            var hasher = Digest.Hasher()
            hasher.update(data)
            let digest = hasher.finalize()
            let target = directory + "/out"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            _ = try LayerUnpacker.unpack(
                blobAt: directory + "/layer.tar", descriptor: Descriptor(mediaType: .imageLayer, digest: digest, size: Int64(data.count)),
                diffID: digest, into: target, options: UnpackOptions(mode: .flat))
            let extracted = try #require(lstatPath(target + "/sparse.bin"))
            #expect(extracted.st_size == 64 << 20)
            #expect(Int(extracted.st_blocks) * 512 < 1 << 20, "holes stay holes: \(extracted.st_blocks) blocks allocated")
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: target + "/sparse.bin"))
            defer { try? handle.close() }
            try handle.seek(toOffset: 1 << 20)
            #expect(try handle.read(upToCount: 4096) == Data(block))
            try handle.seek(toOffset: (64 << 20) - 1)
            #expect(try handle.read(upToCount: 1) == Data([0x21]))
            try handle.seek(toOffset: 0)
            #expect(try handle.read(upToCount: 16) == Data(count: 16))
        }
    }

    @Test("digest, diff ID, media type and truncation are verified")
    func verification() async throws {
        try await withStore { _, directory in
            let layer = try makeLayer(directory + "/layer") { try $0.addFile("a", contents: Data(repeating: 7, count: 100_000)) }
            func attempt(_ descriptor: Descriptor, diffID: Digest?, blob: String = directory + "/layer") -> ImageStoreError? {
                let target = directory + "/t-\(UUID().uuidString)"
                try? FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
                do {
                    _ = try LayerUnpacker.unpack(blobAt: blob, descriptor: descriptor, diffID: diffID, into: target, options: UnpackOptions(mode: .flat))
                    return nil
                } catch let error as ImageStoreError {
                    return error
                } catch {
                    return ImageStoreError(.io, "\(error)")
                }
            }
            #expect(attempt(layer.descriptor, diffID: layer.diffID) == nil)
            var wrongDigest = layer.descriptor
            wrongDigest.digest = .sha256(of: Data("x".utf8))
            let digestError = attempt(wrongDigest, diffID: layer.diffID)
            #expect(digestError?.code == .digestMismatch)
            #expect(digestError?.message.contains(layer.descriptor.digest.description) == true)
            let diffError = attempt(layer.descriptor, diffID: .sha256(of: Data("y".utf8)))
            #expect(diffError?.code == .digestMismatch)
            #expect(diffError?.message.contains(layer.diffID.description) == true)
            var wrongType = layer.descriptor
            wrongType.mediaType = .imageLayerZstd
            #expect(attempt(wrongType, diffID: nil)?.code == .corrupt)
            // Truncated gzip.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/layer"))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: directory + "/truncated"))
            var truncated = layer.descriptor
            truncated.size = Int64(bytes.count / 2)
            truncated.digest = .sha256(of: bytes.prefix(bytes.count / 2))
            let truncError = attempt(truncated, diffID: nil, blob: directory + "/truncated")
            #expect(truncError?.code == .corrupt)
        }
    }

    @Test("whiteouts become overlay whiteouts in snapshot mode and deletions in flat mode", .enabled(if: isRoot))
    func whiteouts() async throws {
        try await withStore { _, directory in
            let base = try makeLayer(directory + "/base") { w in
                try w.addFile("keep", contents: Data("k".utf8))
                try w.addFile("gone", contents: Data("g".utf8))
                try w.addFile("dir/old", contents: Data("o".utf8))
            }
            let top = try makeLayer(directory + "/top") { w in
                try w.addFile(".wh.gone", contents: Data())
                try w.addDirectory("dir/")
                try w.addFile("dir/.wh..wh..opq", contents: Data())
                try w.addFile("dir/new", contents: Data("n".utf8))
            }
            let flat = directory + "/flat"
            try FileManager.default.createDirectory(atPath: flat, withIntermediateDirectories: false)
            for (layer, name) in [(base, "base"), (top, "top")] {
                _ = try LayerUnpacker.unpack(blobAt: directory + "/" + name, descriptor: layer.descriptor, diffID: layer.diffID, into: flat, options: UnpackOptions(mode: .flat))
            }
            #expect(try Sys.entries(flat) == ["dir", "keep"])
            #expect(try Sys.entries(flat + "/dir") == ["new"])

            let snapshot = directory + "/snap"
            try FileManager.default.createDirectory(atPath: snapshot, withIntermediateDirectories: false)
            _ = try LayerUnpacker.unpack(blobAt: directory + "/top", descriptor: top.descriptor, diffID: top.diffID, into: snapshot, options: UnpackOptions(mode: .snapshot))
            let whiteout = try #require(lstatPath(snapshot + "/gone"))
            #expect(whiteout.st_mode & 0o170000 == 0o020000)
            #expect(whiteout.st_rdev == 0)
            #expect(try xattr(snapshot + "/dir", "trusted.overlay.opaque") == Array("y".utf8))
            #expect(try Sys.entries(snapshot + "/dir") == ["new"])
        }
    }
}

/// Collects progress reports from the unpacking thread.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [UnpackProgress] = []
    func append(_ report: UnpackProgress) { lock.withLock { reports.append(report) } }
    var last: UnpackProgress? { lock.withLock { reports.last } }
}

/// Reads an extended attribute (not following symlinks).
func xattr(_ path: String, _ name: String) throws -> [UInt8]? {
    let size = cis_lgetxattr(path, name, nil, 0)
    guard size >= 0 else { return nil }
    var value = [UInt8](repeating: 0, count: size)
    let n = cis_lgetxattr(path, name, &value, size)
    return n >= 0 ? Array(value[0..<n]) : nil
}
