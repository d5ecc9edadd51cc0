import Caisson
import Foundation
import Testing
import TestSupport

/// One engine test's world: an engine over a private store and state root holding a
/// busybox image named `busybox`, and the test's temporary directory.
struct EngineTestEnvironment: Sendable {
    let engine: Engine
    let directory: String
    /// A prefix for container ids, unique to this test, so cgroup leak checks
    /// (`/sys/fs/cgroup/*/caisson-<prefix>…`) see only this test's containers.
    let prefix: String

    /// A container id under this test's prefix.
    func id(_ name: String) -> String { "\(prefix)-\(name)" }

    /// Builds an image from a busybox rootfs with `config`, named `name`.
    @discardableResult
    func buildImage(_ name: String, config: ImageConfiguration.Config, extraFiles: [String: String] = [:]) async throws -> StoredImage {
        let rootfs = try BusyboxImage.make(in: "\(directory)/rootfs-\(name)")
        for (path, contents) in extraFiles {
            try contents.write(toFile: rootfs.rootfs + path, atomically: false, encoding: .utf8)
        }
        return try await engine.store.build(from: rootfs.rootfs, name: name, config: config)
    }
}

/// Runs `body` with a fresh engine, then removes whatever the body left and checks that
/// nothing leaked: no container state dir, no container rootfs in the store, no mount
/// under the test directory, no cgroup of the test's containers, no new child process.
func withEngine(
    _ body: (EngineTestEnvironment) async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    try #require(geteuid() == 0, "engine tests run real containers as root (CI runs them as root)")
    try #require(BusyboxImage.isAvailable, "busybox-static is needed (make deps)")
    // One engine test at a time in this process: the leak checks look at the whole
    // process (child processes), which tests running side by side would confuse.
    await EngineTestLock.shared.acquire()
    defer { Task { await EngineTestLock.shared.release() } }
    let directory = try makeTemporaryDirectory(prefix: "caisson-engine")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let prefix = "ct\(UInt32.random(in: 0...UInt32.max))"
    let childrenBefore = Set(LeakCheck.children())
    let engine = try Engine(storeRoot: directory + "/store", stateRoot: directory + "/state")
    let rootfs = try BusyboxImage.make(in: directory + "/rootfs-busybox")
    try await engine.store.build(from: rootfs.rootfs, name: "busybox", config: BusyboxImage.config)

    var bodyError: (any Error)?
    do {
        try await body(EngineTestEnvironment(engine: engine, directory: directory, prefix: prefix))
    } catch {
        bodyError = error
    }
    // Clean up what the body left (so one failure does not cascade), then judge.
    let leftovers = (try? engine.containers()) ?? []
    for container in leftovers {
        try? await engine.remove(id: container.id, force: true)
    }
    if let bodyError { throw bodyError }
    #expect(leftovers.isEmpty, "containers left: \(leftovers.map(\.id))", sourceLocation: sourceLocation)
    let stateDirs = LeakCheck.stateEntries(in: directory + "/state")
    #expect(stateDirs.isEmpty, "state directories left: \(stateDirs)", sourceLocation: sourceLocation)
    let rootfsDirs = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/store/containers")) ?? []
    #expect(rootfsDirs.isEmpty, "container root filesystems left in the store: \(rootfsDirs)", sourceLocation: sourceLocation)
    #expect(LeakCheck.mounts(containing: directory).isEmpty, "mounts left: \(LeakCheck.mounts(containing: directory))", sourceLocation: sourceLocation)
    #expect(LeakCheck.cgroups(named: "caisson-\(prefix)").isEmpty, "cgroups left: \(LeakCheck.cgroups(named: "caisson-\(prefix)"))", sourceLocation: sourceLocation)
    let children = Set(LeakCheck.children()).subtracting(childrenBefore)
    #expect(children.isEmpty, "child processes left: \(children)", sourceLocation: sourceLocation)
}

/// Reads a container's stdout until `marker` appears (the container is ready), keeping
/// the stream's iterator so the rest can still be read.
func waitForOutput(_ stream: ByteStream?, containing marker: String) async throws {
    guard let stream else { throw EngineTestError("no stdout pipe") }
    var seen = ""
    for try await chunk in stream {
        seen += String(decoding: chunk, as: UTF8.self)
        if seen.contains(marker) { return }
    }
    throw EngineTestError("stdout ended before \"\(marker)\": \(seen)")
}

/// A failure of the test's own setup.
struct EngineTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The first line of a cgroup v1 file of a container, from the host side.
func cgroupValue(_ controller: String, _ id: String, _ file: String) -> String? {
    (try? String(contentsOfFile: "/sys/fs/cgroup/\(controller)/caisson-\(id)/\(file)", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Serialises engine tests across suites (see ``withEngine(_:sourceLocation:)``).
enum EngineTestLock {
    static let shared = AsyncTestLock()
}
