import Foundation
import OCISpec
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
    // One Sandbox test at a time in this process: the leak checks below look at the whole
    // process (children, fds), which tests running side by side would confuse.
    await SandboxTestLock.shared.acquire()
    defer { Task { await SandboxTestLock.shared.release() } }
    let directory = try makeTemporaryDirectory(prefix: "caisson-sandbox")
    let paths = SandboxEnvironmentPaths(directory: directory)
    try FileManager.default.createDirectory(atPath: paths.bundleDirectory, withIntermediateDirectories: true)
    let runtime = Runtime(stateRoot: paths.stateRoot)
    let fdsBefore = LeakCheck.openFDs()
    let childrenBefore = Set(LeakCheck.children())
    let cgroupsBefore = Set(LeakCheck.cgroups(named: "caisson-"))
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
    let stateDirs = LeakCheck.stateEntries(in: paths.stateRoot)
    #expect(stateDirs.isEmpty, "state directories left: \(stateDirs)", sourceLocation: sourceLocation)
    #expect(LeakCheck.mounts(containing: directory).isEmpty, "mounts left: \(LeakCheck.mounts(containing: directory))", sourceLocation: sourceLocation)
    let cgroups = Set(LeakCheck.cgroups(named: "caisson-")).subtracting(cgroupsBefore)
    #expect(cgroups.isEmpty, "cgroup directories left: \(cgroups.sorted())", sourceLocation: sourceLocation)
    let children = Set(LeakCheck.children()).subtracting(childrenBefore)
    #expect(children.isEmpty, "child processes left: \(children)", sourceLocation: sourceLocation)
    // The runtime's own kinds of fd: pidfds, sockets, pipes, ptys. (The event thread's
    // epoll fd appears once per process and is not one of these.)
    let fds = LeakCheck.openFDs().filter { fd, target in
        fdsBefore[fd] != target && (target.contains("pidfd") || target.hasPrefix("socket:") || target.hasPrefix("pipe:")
            || target.hasPrefix("/dev/pts") || target.hasPrefix("/dev/ptmx") || target.contains(directory))
    }
    #expect(fds.isEmpty, "fds left open: \(fds)", sourceLocation: sourceLocation)
}

/// What a container printed, and how it ended.
struct RunResult: Sendable {
    var status: TerminationStatus
    var stdout: String
    var stderr: String
}

extension SandboxTestEnvironment {
    /// Makes a busybox bundle named `id` whose process runs `args`, with `configure`
    /// applied to the spec (`runc spec` defaults otherwise).
    func bundle(_ id: String, _ args: [String], configure: (inout RuntimeSpec) throws -> Void = { _ in }) throws -> BusyboxBundle {
        let directory = paths.directory + "/bundle-" + id
        if FileManager.default.fileExists(atPath: directory + "/rootfs") {
            // Reuse a prepared rootfs (e.g. chowned for a user namespace); rewrite the spec.
            var spec = RuntimeSpec.runcDefault()
            spec.process?.args = args
            spec.process?.terminal = false
            try configure(&spec)
            let bundle = BusyboxBundle(path: directory)
            try bundle.write(spec: spec)
            return bundle
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var spec = RuntimeSpec.runcDefault()
        spec.process?.args = args
        spec.process?.terminal = false
        try configure(&spec)
        return try BusyboxBundle.make(in: directory, spec: spec)
    }

    /// Runs `args` in a new container to the end, capturing its output, and deletes it.
    func run(_ args: [String], id: String = "run", configure: (inout RuntimeSpec) throws -> Void = { _ in }) async throws -> RunResult {
        let bundle = try bundle(id, args, configure: configure)
        return try await runtime.withContainer(id: id, bundle: bundle.path, options: .init(stdio: .pipes)) { container in
            try await container.start()
            async let out = container.io.standardOutput!.readAll()
            async let err = container.io.standardError!.readAll()
            let status = try await container.wait()
            return RunResult(status: status, stdout: String(decoding: try await out, as: UTF8.self),
                             stderr: String(decoding: try await err, as: UTF8.self))
        }
    }

    /// Runs a shell script in a new container; see ``run(_:id:configure:)``.
    func sh(_ script: String, id: String = "sh", configure: (inout RuntimeSpec) throws -> Void = { _ in }) async throws -> RunResult {
        try await run(["/bin/sh", "-c", script], id: id, configure: configure)
    }
}

/// The value of a "Key:\tvalue" line of /proc/<pid>/status text.
func statusField(_ text: String, _ key: String) -> String? {
    text.split(separator: "\n").first { $0.hasPrefix(key + ":") }
        .map { $0.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces) }
}

/// Serialises Sandbox tests across suites (see ``withSandbox``).
enum SandboxTestLock {
    static let shared = AsyncTestLock()
}

/// Everything a terminal's master has buffered (the process has exited), with the
/// terminal's carriage returns removed.
func readTerminal(_ terminal: Terminal) -> String {
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    _ = fcntl(terminal.fileDescriptor, F_SETFL, O_NONBLOCK)
    while true {
        let n = read(terminal.fileDescriptor, &buffer, buffer.count)
        if n <= 0 { break }
        output += buffer[0..<n]
    }
    return String(decoding: output, as: UTF8.self).replacingOccurrences(of: "\r", with: "")
}
