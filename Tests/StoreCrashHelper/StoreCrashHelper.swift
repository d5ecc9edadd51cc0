// A small executable the ImageStore tests launch and SIGKILL mid-operation, to check that
// a store survives a crash during an ingest or an unpack (not a product).
//
//   store-crash-helper ingest STORE FILE DIGEST [PAUSE_MICROSECONDS]
//   store-crash-helper unpack STORE IMAGE
//
// It prints `progress N` after each step (bytes written, or entries unpacked) and `done`
// at the end, flushing stdout each time so the test can kill it at a known point.

import Foundation
import ImageStore
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

@main
enum StoreCrashHelper {
    static func main() async {
        let arguments = CommandLine.arguments
        do {
            switch arguments.count > 1 ? arguments[1] : "" {
            case "ingest" where arguments.count >= 5:
                try await ingest(store: arguments[2], file: arguments[3], digest: arguments[4], pause: arguments.count > 5 ? UInt32(arguments[5]) ?? 0 : 0)
            case "unpack" where arguments.count == 4:
                try await unpack(store: arguments[2], image: arguments[3])
            default:
                FileHandle.standardError.write(Data("usage: store-crash-helper ingest STORE FILE DIGEST [PAUSE_US] | unpack STORE IMAGE\n".utf8))
                exit(2)
            }
            say("done")
        } catch {
            FileHandle.standardError.write(Data("store-crash-helper: \(error)\n".utf8))
            exit(1)
        }
    }

    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Writes FILE into an ingest in 64 KiB chunks, pausing between them, then commits.
    static func ingest(store root: String, file: String, digest: String, pause: UInt32) async throws {
        let store = try ImageStore(root: root)
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let writer = try await store.openIngest(digest: try Digest(parsing: digest), size: Int64(data.count))
        say("opened \(writer.offset)")
        var offset = Int(writer.offset)
        while offset < data.count {
            let end = min(offset + (1 << 16), data.count)
            try writer.write(data[offset..<end])
            offset = end
            say("progress \(offset)")
            if pause > 0 { usleep(pause) }
        }
        try writer.commit()
    }

    /// Unpacks a named image into its snapshots, reporting entries as it goes.
    static func unpack(store root: String, image name: String) async throws {
        let store = try ImageStore(root: root)
        let image = try store.image(named: name)
        let options = UnpackOptions(progress: { progress in
            if !progress.finished { say("progress \(progress.entries)") }
        })
        try await store.unpack(image, options: options)
    }
}
