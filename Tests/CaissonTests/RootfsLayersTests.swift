@testable import Caisson
import _CImageStore
import Foundation
import Testing
import TestSupport

/// A rootless container's overlay is mounted only inside the container, so the engine
/// reads the image's account files through the layers: the topmost layer with the file
/// wins, a whiteout hides it, an opaque directory hides the layers below, and a symlink
/// resolves inside its own layer.
@Suite("Reading a file through unmounted overlay layers")
struct RootfsLayersTests {
    private func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    @Test("top layer wins; whiteouts and opaque directories hide; symlinks stay in their layer; absent is nil")
    func layeredRead() async throws {
        try await withTemporaryDirectory(prefix: "caisson-layers") { dir in
            let upper = dir + "/upper", middle = dir + "/middle", lower = dir + "/lower"
            for layer in [upper, middle, lower] { try FileManager.default.createDirectory(atPath: layer, withIntermediateDirectories: true) }
            try write("lower passwd\n", lower + "/etc/passwd")
            try write("lower group\n", lower + "/etc/group")
            try write("lower shadow\n", lower + "/etc/shadow")
            try write("middle passwd\n", middle + "/etc/passwd")
            try write("host secret\n", dir + "/secret")

            let layers = [upper, middle, lower]
            #expect(try RootfsAccess.readFile(layers: layers, path: "/etc/passwd") == "middle passwd\n")
            #expect(try RootfsAccess.readFile(layers: layers, path: "/etc/group") == "lower group\n")
            #expect(try RootfsAccess.readFile(layers: layers, path: "/etc/missing") == nil)
            #expect(try RootfsAccess.readFile(layers: layers, path: "/nothing/here") == nil)

            // A whiteout (a 0/0 character device) in the upper layer deletes the file.
            try FileManager.default.createDirectory(atPath: upper + "/etc", withIntermediateDirectories: true)
            let etc = open(upper + "/etc", O_RDONLY | O_DIRECTORY)
            try #require(etc >= 0)
            defer { close(etc) }
            try #require(cis_mknodat(etc, "group", UInt32(S_IFCHR), 0, 0) == 0, "mknod whiteout: errno \(errno)")
            #expect(try RootfsAccess.readFile(layers: layers, path: "/etc/group") == nil)

            // An opaque /etc in the middle layer hides the lower layer's /etc entirely.
            #expect(try RootfsAccess.readFile(layers: layers, path: "/etc/shadow") == "lower shadow\n")
            let middleEtc = open(middle + "/etc", O_RDONLY | O_DIRECTORY)
            try #require(middleEtc >= 0)
            defer { close(middleEtc) }
            try #require(cis_fsetxattr(middleEtc, "user.overlay.opaque", "y", 1, 0) == 0, "setxattr: errno \(errno)")
            #expect(try RootfsAccess.readFile(layers: layers, path: "/etc/shadow") == nil)
            #expect(try RootfsAccess.readFile(layers: layers, path: "/etc/passwd") == "middle passwd\n")

            // A hostile symlink resolves inside its layer, never to the host.
            try FileManager.default.createSymbolicLink(atPath: upper + "/etc/passwd", withDestinationPath: "../../secret")
            #expect(try RootfsAccess.readFile(layers: layers, path: "/etc/passwd") == nil)
            // A link is followed in the merged view: here into another layer.
            try write("shared passwd\n", lower + "/usr/share/passwd")
            try FileManager.default.removeItem(atPath: upper + "/etc/passwd")
            try FileManager.default.createSymbolicLink(atPath: upper + "/etc/passwd", withDestinationPath: "/usr/share/passwd")
            #expect(try RootfsAccess.readFile(layers: layers, path: "/etc/passwd") == "shared passwd\n")
        }
    }
}
