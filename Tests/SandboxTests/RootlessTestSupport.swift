import Foundation
import OCISpec
import Sandbox
import TestSupport
import Testing

/// An unprivileged user made for one rootless test (``UnprivilegedUser``), with
/// subordinate ids in /etc/subuid and /etc/subgid, removed again (user, group, subordinate
/// lines) when the test ends.
struct RootlessUser: Sendable {
    static let name = "caisson-test-rootless"
    /// The subordinate range the test setup delegates: far from the 100000 that useradd
    /// hands out by default, so it cannot collide with a real user's.
    static let subordinateStart: UInt32 = 3_000_000
    static let subordinateCount: UInt32 = 65536

    let account: UnprivilegedUser
    var uid: UInt32 { account.uid }
    var gid: UInt32 { account.gid }
    /// A directory the user owns (state root, XDG_RUNTIME_DIR, its bundles).
    var home: String { account.home }

    /// Where the helper looks for containers' state by default.
    var runtimeDirectory: String { home + "/xdg" }
    var stateRoot: String { home + "/state" }

    /// Creates the user and its directory under `directory` (made traversable for it).
    static func create(in directory: String) throws -> RootlessUser {
        let account = try UnprivilegedUser.create(
            name: name, home: directory + "/rootless-home", subordinate: (subordinateStart, subordinateCount))
        let user = RootlessUser(account: account)
        try FileManager.default.createDirectory(atPath: user.runtimeDirectory, withIntermediateDirectories: true)
        chown(user.runtimeDirectory, user.uid, user.gid)
        chmod(user.runtimeDirectory, 0o700)
        return user
    }

    /// Deletes the user, its group and its subordinate lines.
    func remove() { account.remove() }

    /// Live processes (not zombies) that belong to the user, from /proc.
    func processes() -> [Int32] { account.processes() }

    /// Runs the rootless helper as this user (setpriv: real and effective ids, no
    /// supplementary groups, no capabilities), with a clean environment.
    func helper(_ arguments: [String]) throws -> RunResult {
        let command = account.command(try rootlessHelperPath(), runtimeDirectory: runtimeDirectory)
        return try Self.runCapturing(command.executable, command.arguments + arguments, environment: [:])
    }

    /// Runs `tool`, capturing stdout and stderr apart (into files: posix_spawn and
    /// waitpid, no Foundation Process, whose monitoring fds outlive the call for a while
    /// and would confuse the fd leak check). It runs in this process's cwd, which every
    /// user can reach (absolute paths everywhere else).
    static func runCapturing(_ tool: String, _ arguments: [String], environment: [String: String]) throws -> RunResult {
        let scratch = try makeTemporaryDirectory(prefix: "caisson-run")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, scratch + "/out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, scratch + "/err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let r = posix_spawn(&pid, tool, &actions, nil, argv, envp)
        guard r == 0 else { throw RootlessTestError("posix_spawn \(tool): errno \(r)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let result: TerminationStatus = exited ? .exited((status >> 8) & 0xff) : .signaled(Signal(rawValue: status & 0x7f) ?? .kill)
        return RunResult(status: result, stdout: (try? String(contentsOfFile: scratch + "/out", encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: scratch + "/err", encoding: .utf8)) ?? "")
    }

    /// A busybox bundle in the user's directory, with `runc spec --rootless`'s spec for the
    /// user's ids and `args`, changed by `configure`. The rootfs belongs to root, which
    /// the container sees as the overflow id: readable and executable, not writable.
    func bundle(_ name: String, _ args: [String], configure: (inout RuntimeSpec) throws -> Void = { _ in }) throws -> String {
        let directory = home + "/bundle-" + name
        var spec = RuntimeSpec.runcRootless(uid: uid, gid: gid)
        spec.process?.args = args
        spec.process?.terminal = false
        try configure(&spec)
        if FileManager.default.fileExists(atPath: directory + "/rootfs") {
            try BusyboxBundle(path: directory).write(spec: spec)
        } else {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            _ = try BusyboxBundle.make(in: directory, spec: spec)
        }
        chmod(directory, 0o755)
        return directory
    }
}

/// Runs `body` with a fresh Sandbox environment and an unprivileged user, then checks
/// that the user left nothing: no process, no state directory, no cgroup; the user and
/// its subordinate ids go whatever happens.
func withRootlessUser(_ body: (RootlessUser, SandboxTestEnvironment) async throws -> Void,
                      sourceLocation: SourceLocation = #_sourceLocation) async throws {
    try await withSandbox({ env in
        let user = try RootlessUser.create(in: env.directory)
        defer { user.remove() }
        let cgroupsBefore = Set(LeakCheck.cgroups(named: "caisson-"))
        do {
            try await body(user, env)
        } catch {
            for pid in user.processes() { kill(pid, SIGKILL) }
            throw error
        }
        #expect(user.processes().isEmpty, "processes of \(RootlessUser.name) left: \(user.processes())", sourceLocation: sourceLocation)
        let states = LeakCheck.stateEntries(in: user.stateRoot)
        #expect(states.isEmpty, "rootless state left: \(states)", sourceLocation: sourceLocation)
        let cgroups = Set(LeakCheck.cgroups(named: "caisson-")).subtracting(cgroupsBefore)
        #expect(cgroups.isEmpty, "cgroups left: \(cgroups.sorted())", sourceLocation: sourceLocation)
    }, sourceLocation: sourceLocation)
}

/// The `rootless-helper` executable built next to the tests (`swift build --build-tests`),
/// or `$ROOTLESS_HELPER`.
func rootlessHelperPath() throws -> String {
    try helperExecutable("rootless-helper", environment: "ROOTLESS_HELPER")
}

struct RootlessTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
