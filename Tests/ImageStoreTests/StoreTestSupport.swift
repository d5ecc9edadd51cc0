import Foundation
import ImageStore
import OCISpec
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with a fresh store in a per-test temporary directory. Afterwards, even if
/// the body threw, every mount left under the directory is detached (and recorded as a
/// test failure: a leaked mount is a bug) and the directory is removed.
func withStore<R>(_ body: (ImageStore, String) async throws -> R) async throws -> R {
    let directory = try makeTemporaryDirectory(prefix: "caisson-imagestore")
    defer {
        let leaked = mountLines(containing: directory)
        if !leaked.isEmpty {
            Issue.record("mounts left under \(directory): \(leaked)")
            for line in leaked.reversed() {
                let fields = line.split(separator: " ")
                if fields.count > 4 { _ = umount2(String(fields[4]), Int32(MNT_DETACH)) }
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
    let store = try ImageStore(root: directory + "/store")
    return try await body(store, directory)
}

/// Lines of /proc/self/mountinfo that mention `needle`, read with a plain read loop
/// (overlay lines with many lower dirs exceed a page).
func mountLines(containing needle: String) -> [String] {
    guard let handle = FileHandle(forReadingAtPath: "/proc/self/mountinfo") else { return [] }
    defer { try? handle.close() }
    var data = Data()
    while let chunk = try? handle.read(upToCount: 65536), !chunk.isEmpty { data.append(chunk) }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init).filter { $0.contains(needle) }
}

/// Writes a layer file with `body` and returns its result.
func makeLayer(
    _ path: String, compression: MediaType.LayerCompression = .gzip, _ body: (LayerWriter) throws -> Void
) throws -> LayerWriter.Result {
    let writer = try LayerWriter(path: path, compression: compression)
    try body(writer)
    return try writer.finish()
}

/// Whether the process is root (overlay mounts, devices, ownership).
let isRoot = geteuid() == 0

/// lstat, or nil.
func lstatPath(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}

/// Reads a file as a string, or nil.
func readString(_ path: String) -> String? {
    try? String(contentsOfFile: path, encoding: .utf8)
}

/// Ingests a layer file into the store and returns its descriptor.
func ingestLayer(_ store: ImageStore, _ layer: LayerWriter.Result, path: String) async throws -> Descriptor {
    try await store.ingest(
        contentsOf: path, digest: layer.descriptor.digest, size: layer.descriptor.size, mediaType: layer.descriptor.mediaType)
}
