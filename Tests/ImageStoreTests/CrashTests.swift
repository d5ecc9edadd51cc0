import Foundation
import ImageStore
import OCIHashing
import OCISpec
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The `store-crash-helper` executable built next to the tests (`swift build --build-tests`
/// builds it), or `$STORE_CRASH_HELPER`.
func crashHelperPath() throws -> String {
    try helperExecutable("store-crash-helper", environment: "STORE_CRASH_HELPER")
}

/// A running `store-crash-helper`: its stdout read line by line, killed by PID on request
/// and always reaped.
final class CrashHelper {
    let process = Process()
    private let output = Pipe()
    private var buffered = Data()

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: try crashHelperPath())
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
    }

    /// Reads lines until one satisfies `predicate`; nil if the helper ended first.
    func waitForLine(_ predicate: (String) -> Bool) -> String? {
        while true {
            while let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[buffered.startIndex..<newline], as: UTF8.self)
                buffered.removeSubrange(buffered.startIndex...newline)
                if predicate(line) { return line }
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffered.append(chunk)
        }
    }

    /// SIGKILL (only this helper, by its PID) and reap.
    func kill9() {
        if process.isRunning { _ = kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Waits for a normal end and returns the exit status.
    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            _ = kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

private func progressValue(_ line: String) -> Int? {
    line.hasPrefix("progress ") ? Int(line.dropFirst("progress ".count)) : nil
}

@Suite("Crashes and concurrent processes", .serialized)
struct CrashTests {
    @Test("kill -9 during an ingest: the store verifies and the next ingest resumes and completes")
    func killDuringIngest() async throws {
        try await withStore { store, directory in
            let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
            let data = try #require(try random.read(upToCount: 8 << 20))
            try random.close()
            #expect(data.count == 8 << 20)
            let file = directory + "/blob"
            try data.write(to: URL(fileURLWithPath: file))
            let digest = Digest.sha256(of: data)

            let helper = try CrashHelper(["ingest", store.root, file, digest.description, "20000"])
            let line = helper.waitForLine { (progressValue($0) ?? 0) >= 1 << 20 }
            helper.kill9()
            #expect(line != nil, "the helper ended before writing 1 MiB")
            #expect(helper.process.terminationReason == .uncaughtSignal)
            #expect(!store.contains(digest))
            #expect(try await store.verify().isClean)

            // The partial survived and is resumed from its offset.
            let writer = try await store.openIngest(digest: digest, size: Int64(data.count))
            #expect(writer.offset >= 1 << 20 && writer.offset < Int64(data.count))
            writer.close()
            try await store.ingest(contentsOf: file, digest: digest)
            #expect(store.contains(digest))
            #expect(try store.readBlob(digest) == data)
            #expect(try Sys.partials(store).isEmpty)
            #expect(try await store.verify().isClean)
        }
    }

    @Test("kill -9 during an unpack: no half snapshot is visible; the next unpack completes; GC sweeps the leftovers")
    func killDuringUnpack() async throws {
        try await withStore { store, directory in
            let path = directory + "/layer"
            let layer = try makeLayer(path) { writer in
                for i in 0..<20_000 {
                    try writer.addFile("files/\(i / 1000)/f\(i)", contents: Data(repeating: UInt8(i & 0xff), count: 2048))
                }
            }
            _ = try await ingestLayer(store, layer, path: path)
            let image = try store.createImage(layers: [layer], name: "many")
            let snapshot = store.snapshotPath(image.chainIDs[0])

            let helper = try CrashHelper(["unpack", store.root, "many"])
            let line = helper.waitForLine { progressValue($0) != nil }
            helper.kill9()
            #expect(line != nil, "the helper ended before reporting progress")
            #expect(helper.process.terminationReason == .uncaughtSignal)
            #expect(!FileManager.default.fileExists(atPath: snapshot))
            #expect(try await store.verify().isClean)

            let paths = try await store.unpack(image)
            #expect(paths == [snapshot])
            #expect(try Sys.entries(snapshot + "/files").count == 20)
            #expect(try Sys.entries(snapshot + "/files/19").count == 1000)
            // The dead unpack's temporary directory goes at the next collection.
            let leftovers = try Sys.entries(store.root + "/snapshots").filter { $0.hasPrefix(".tmp-") }
            #expect(leftovers.count == 1)
            let report = try await store.collectGarbage()
            #expect(report.stale.contains { $0.hasPrefix("snapshots/.tmp-") })
            #expect(try Sys.entries(store.root + "/snapshots").filter { $0.hasPrefix(".tmp-") }.isEmpty)
            #expect(FileManager.default.fileExists(atPath: snapshot + "/files/0/f0"))
        }
    }

    @Test("two processes ingesting the same digest at once end with one blob")
    func concurrentIngest() async throws {
        try await withStore { store, directory in
            let data = Data((0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            let file = directory + "/blob"
            try data.write(to: URL(fileURLWithPath: file))
            let digest = Digest.sha256(of: data)
            let first = try CrashHelper(["ingest", store.root, file, digest.description, "2000"])
            let second = try CrashHelper(["ingest", store.root, file, digest.description, "2000"])
            #expect(first.wait() == 0)
            #expect(second.wait() == 0)
            #expect(try Sys.entries(store.root + "/blobs/sha256") == [digest.encoded])
            #expect(try store.readBlob(digest) == data)
            #expect(try Sys.partials(store).isEmpty)
            #expect(try await store.verify().isClean)
        }
    }
}
