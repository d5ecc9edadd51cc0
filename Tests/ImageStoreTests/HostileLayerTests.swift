import Foundation
import ImageStore
import OCISpec
import Testing
import TestSupport

/// SECURITY.md item 8: every hostile entry is refused with an error naming it, and
/// nothing is written outside the target.
@Suite("Hostile layers")
struct HostileLayerTests {
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let entry: String
        let options: UnpackOptions
        let build: @Sendable (LayerWriter, String) throws -> Void
    }

    static let cases: [Case] = [
        Case(description: "dot-dot path", entry: "../outside/pwned", options: .init(mode: .flat)) { w, _ in
            try w.addFile("../outside/pwned", contents: Data("x".utf8))
        },
        Case(description: "nested dot-dot", entry: "a/../../outside/pwned", options: .init(mode: .flat)) { w, _ in
            try w.addDirectory("a/")
            try w.addFile("a/../../outside/pwned", contents: Data("x".utf8))
        },
        Case(description: "absolute path", entry: "/ABS/pwned", options: .init(mode: .flat)) { w, outside in
            try w.addFile(outside + "/pwned", contents: Data("x".utf8))
        },
        Case(description: "write through symlink to outside", entry: "link/pwned", options: .init(mode: .flat)) { w, outside in
            try w.addSymlink("link", target: outside)
            try w.addFile("link/pwned", contents: Data("x".utf8))
        },
        Case(description: "write through relative symlink climbing out", entry: "up/outside/pwned", options: .init(mode: .flat)) { w, _ in
            try w.addSymlink("up", target: "../../../../../../../../..")
            try w.addFile("up/outside/pwned", contents: Data("x".utf8))
        },
        Case(description: "symlinked parent inside the target", entry: "alias/pwned", options: .init(mode: .flat)) { w, _ in
            try w.addDirectory("real/")
            try w.addSymlink("alias", target: "real")
            try w.addFile("alias/pwned", contents: Data("x".utf8))
        },
        Case(description: "hardlink to dot-dot target", entry: "stolen", options: .init(mode: .flat)) { w, _ in
            try w.addHardlink("stolen", target: "../outside/secret")
        },
        Case(description: "hardlink to absolute target", entry: "stolen", options: .init(mode: .flat)) { w, outside in
            try w.addHardlink("stolen", target: outside + "/secret")
        },
        Case(description: "hardlink through symlinked parent", entry: "stolen", options: .init(mode: .flat)) { w, outside in
            try w.addSymlink("link", target: outside)
            try w.addHardlink("stolen", target: "link/secret")
        },
        Case(description: "whiteout through dot-dot", entry: "../outside/.wh.secret", options: .init(mode: .flat)) { w, _ in
            try w.addFile("../outside/.wh.secret", contents: Data())
        },
        Case(description: "whiteout through symlinked parent", entry: "link/.wh.secret", options: .init(mode: .flat)) { w, outside in
            try w.addSymlink("link", target: outside)
            try w.addFile("link/.wh.secret", contents: Data())
        },
        Case(description: "whiteout of dot-dot", entry: ".wh..", options: .init(mode: .flat)) { w, _ in
            try w.addFile(".wh..", contents: Data())
        },
        Case(description: "character device when not allowed", entry: "dev/mem", options: .init(mode: .flat, allowDeviceNodes: false)) { w, _ in
            try w.addSpecial("dev/mem", kind: .character, major: 1, minor: 1)
        },
        Case(description: "block device when not allowed", entry: "dev/sda", options: .init(mode: .flat, allowDeviceNodes: false)) { w, _ in
            try w.addSpecial("dev/sda", kind: .block, major: 8, minor: 0)
        },
        Case(description: "setuid in rootless mode", entry: "bin/su", options: .init(mode: .flat, allowSetuid: false)) { w, _ in
            try w.addFile("bin/su", contents: Data("x".utf8), .init(mode: 0o4755))
        },
        Case(description: "decompression bomb", entry: "bomb", options: .init(mode: .flat, maxUncompressedSize: 1 << 20)) { w, _ in
            try w.addFile("bomb", contents: Data(count: 8 << 20))
        },
    ]

    @Test("refused with an error naming the entry; nothing written outside", arguments: cases)
    func hostile(_ hostile: Case) async throws {
        try await withStore { _, directory in
            let outside = directory + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
            try Data("secret".utf8).write(to: URL(fileURLWithPath: outside + "/secret"))
            let target = directory + "/nest/target"
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            let layer = try makeLayer(directory + "/layer") { try hostile.build($0, outside) }
            let error = #expect(throws: ImageStoreError.self) {
                try LayerUnpacker.unpack(
                    blobAt: directory + "/layer", descriptor: layer.descriptor, diffID: layer.diffID, into: target,
                    options: hostile.options)
            }
            #expect(error?.code == .unsafeLayer)
            let named = hostile.entry.replacingOccurrences(of: "/ABS", with: outside)
            #expect(error?.message.contains(named) == true || hostile.description == "decompression bomb", "\(error?.message ?? "")")
            #expect(try Sys.entries(outside) == ["secret"])
            #expect(readString(outside + "/secret") == "secret")
            #expect(try Sys.entries(directory + "/nest") == ["target"])
            #expect(!FileManager.default.fileExists(atPath: directory + "/pwned"))
        }
    }
}
