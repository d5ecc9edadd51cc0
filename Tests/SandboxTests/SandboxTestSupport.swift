import Foundation
import Sandbox
import TestSupport
import Testing

/// A Sandbox test's world: a runtime over a private state root, and a bundle directory.
struct SandboxTestEnvironment: Sendable {
    let paths: SandboxEnvironmentPaths
    let runtime: Runtime
    var bundleDirectory: String { paths.bundleDirectory }
    var directory: String { paths.directory }
}

/// Runs `body` with a fresh environment, then checks that nothing leaked: no state
/// directory, no mount under the test's directory, no cgroup, no live child, no new fd.
func withSandbox(_ body: (SandboxTestEnvironment) async throws -> Void,
                 sourceLocation: SourceLocation = #_sourceLocation) async throws {
    try #require(geteuid() == 0, "Sandbox tests run as root (CI runs them as root)")
    let directory = try makeTemporaryDirectory(prefix: "caisson-sandbox")
    let paths = SandboxEnvironmentPaths(directory: directory)
    try FileManager.default.createDirectory(atPath: paths.bundleDirectory, withIntermediateDirectories: true)
    let runtime = Runtime(stateRoot: paths.stateRoot)
    let fdsBefore = LeakCheck.openFDs()
    let childrenBefore = Set(LeakCheck.children())
    defer { try? FileManager.default.removeItem(atPath: directory) }

    var bodyError: (any Error)?
    do {
        try await body(SandboxTestEnvironment(paths: paths, runtime: runtime))
    } catch {
        bodyError = error
    }
    // Clean up whatever the body left (so one failure does not cascade), then judge.
    let leftovers = (try? runtime.list()) ?? []
    for state in leftovers {
        try? await runtime.container(id: state.id).delete(force: true)
    }
    if let bodyError { throw bodyError }
    #expect(leftovers.isEmpty, "containers left under the state root: \(leftovers.map { $0.id })", sourceLocation: sourceLocation)
    let stateDirs = (try? FileManager.default.contentsOfDirectory(atPath: paths.stateRoot)) ?? []
    #expect(stateDirs.isEmpty, "state directories left: \(stateDirs)", sourceLocation: sourceLocation)
    #expect(LeakCheck.mounts(containing: directory).isEmpty, "mounts left: \(LeakCheck.mounts(containing: directory))", sourceLocation: sourceLocation)
    let children = Set(LeakCheck.children()).subtracting(childrenBefore)
    #expect(children.isEmpty, "child processes left: \(children)", sourceLocation: sourceLocation)
    let fds = LeakCheck.openFDs().subtracting(fdsBefore)
    // The event thread's epoll fd appears once per process.
    #expect(fds.count <= 1, "fds left open: \(fds.sorted())", sourceLocation: sourceLocation)
}
