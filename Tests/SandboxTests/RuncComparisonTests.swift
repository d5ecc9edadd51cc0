import Foundation
import OCISpec
import Sandbox
import TestSupport
import Testing

/// The acceptance check of issue 3: a bundle made by `runc spec` shows the same
/// capabilities, seccomp lines, mounts and hostname under Caisson and under runc.
@Suite("Same container as runc", .serialized, .timeLimit(.minutes(2)))
struct RuncComparisonTests {
    @Test("runc spec bundle: /proc/self/status, mounts and hostname match runc's")
    func sameAsRunc() async throws {
        try await withSandbox { env in
            let runc = "/usr/sbin/runc"
            try #require(FileManager.default.isExecutableFile(atPath: runc), "runc is installed by make deps")
            let directory = env.bundleDirectory + "/cmp"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // The bundle's config.json comes from runc itself.
            try spawnTool(runc, ["spec", "--bundle", directory])
            var spec = try OCIJSON.decode(RuntimeSpec.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json")))
            spec.process?.terminal = false
            spec.process?.args = ["sh", "-c", #"grep -E '^(Cap|Seccomp|NoNewPrivs)' /proc/self/status; hostname; awk '{print $5, $6, $9, $11}' /proc/self/mountinfo"#]
            let bundle = try BusyboxBundle.make(in: directory, spec: spec)

            let ours = try await env.runtime.withContainer(id: "cmp", bundle: bundle.path, options: .init(stdio: .pipes)) { c in
                try await c.start()
                async let out = c.io.standardOutput!.readAll()
                #expect(try await c.wait() == .exited(0))
                return String(decoding: try await out, as: UTF8.self)
            }
            let theirs = try spawnTool(runc, ["--root", env.directory + "/runc-state", "run", "--bundle", directory, "caisson-cmp-runc"])
            #expect(ours == theirs)
            #expect(ours.contains("CapEff:"))
        }
    }
}

/// Runs a tool to completion and returns its stdout; throws if it fails.
/// (posix_spawn rather than Foundation.Process, which keeps sockets of its own open and
/// would confuse the fd leak check.)
@discardableResult
func spawnTool(_ path: String, _ arguments: [String]) throws -> String {
    var pipe: [Int32] = [-1, -1]
    guard Glibc.pipe(&pipe) == 0 else { throw POSIXError(.EMFILE) }
    defer { close(pipe[0]) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
    posix_spawn_file_actions_addclose(&actions, pipe[0])
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
    close(pipe[1])
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(pipe[0], &buffer, buffer.count)
        if n <= 0 { break }
        output += buffer[0..<n]
    }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    guard status == 0 else {
        throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "\(path) \(arguments) failed with status \(status)"])
    }
    return String(decoding: output, as: UTF8.self)
}
