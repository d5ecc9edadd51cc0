import Foundation
import OCISpec
import Sandbox

// Shared by ResourceControlTests (cgroup v1) and CgroupV2Tests: containers whose progress
// or fate the host can observe.

/// A container counting as fast as it can into /out/n (a host directory).
func counter(_ env: SandboxTestEnvironment, id: String,
             configure: (inout RuntimeSpec) -> Void = { _ in }) throws -> (bundle: String, out: String) {
    let out = env.directory + "/out-" + id
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let bundle = try env.bundle(id, ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /out/n; done"]) { spec in
        spec.mounts?.append(.init(destination: "/out", type: "bind", source: out, options: ["rbind", "rw"]))
        configure(&spec)
    }
    return (bundle.path, out + "/n")
}

/// The counter's value; the shell truncates before it writes, so an empty read is retried.
func counterValue(_ path: String) -> Int {
    for _ in 0..<1000 {
        let text = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if let number = Int(text) { return number }
        usleep(100)
    }
    return -1
}

/// A bundle that, once it reads a line on stdin, holds 256 MiB in memory (sort keeps its
/// whole input: one line of zeroes) — past any limit the OOM tests set.
func memoryHog(_ env: SandboxTestEnvironment, id: String, configure: (inout RuntimeSpec) -> Void) throws -> String {
    try env.bundle(id, ["/bin/sh", "-c", "read x; head -c 268435456 /dev/zero | sort >/dev/null"], configure: configure).path
}

/// Starts a ``memoryHog(_:id:configure:)`` container created with piped stdio, lets it
/// allocate once an events watcher listens, and waits for it.
/// - Returns: how many OOM events the watcher saw (its stream ends with the container),
///   and how the container ended.
func runUntilOOM(_ container: Container) async throws -> (ooms: Int, status: TerminationStatus) {
    try await container.start()
    let events = container.events(interval: nil)
    let watcher = Task { () -> Int in
        var ooms = 0
        for try await event in events where event == .oom { ooms += 1 }
        return ooms
    }
    // Let the watcher register before the allocation starts.
    try await Task.sleep(for: .milliseconds(200))
    try container.io.standardInput!.write(Array("go\n".utf8))
    let status = try await container.wait()
    return (try await watcher.value, status)
}
