import Foundation
import Synchronization
import Testing
import TestSupport

// How these tests run the real `caisson` binary, and why they leave no zombie.
//
// Each CLI invocation is a child of the test process (posix_spawn) and is reaped by
// `waitpid` on its own pid. A container made by `caisson create` (or a process started by
// `caisson exec --detach`) is a child of that CLI process, which exits while the
// container lives on: the kernel reparents it to the nearest *child subreaper* among its
// ancestors, or to pid 1. Whatever pid 1 is on a CI runner, it may never reap, and a
// container init left as a zombie also blocks its pid namespace from being torn down.
// So while CLI tests run, the test process is a child subreaper
// (prctl(PR_SET_CHILD_SUBREAPER)) and adopts those orphans itself; the tests learn
// their pids (from --pid-file, `state` or `list`) and hand them to `Orphans`, whose thread
// reaps exactly those pids as soon as they exit. Reaping continuously, not only at the end,
// matters: a detached exec process adopted by us keeps its container's init from finishing
// its exit until we reap it, and `delete` waits for that init.
//
// The reaper never calls waitpid(-1): other suites in this test process reap their own
// children by pid/pidfd, and a wildcard wait would steal their exit statuses. The subreaper
// flag is on only while at least one CLI test runs (`make test` runs suites one at a time).
//
// Every test has its own temporary directory and `--root`, ids that carry a per-test
// prefix, and a cleanup that runs even when the body fails: `delete --force` of every
// container the root lists and every id the test used, then checks that no state
// directory, no cgroup named after an id (/sys/fs/cgroup/*/caisson/<id> or
// /sys/fs/cgroup/*/caisson-<id>) and no adopted process is left.

/// The result of one CLI invocation.
struct CLIResult: CustomStringConvertible {
    /// The exit code, or 128 + the signal that ended the CLI.
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Turns the test process into a child subreaper while CLI tests run.
enum Subreaper {
    private static let users = Mutex(0)

    /// `prctl` is variadic, which Swift cannot call; through dlsym it is called with a
    /// fixed five-argument signature, which is how its arguments are passed anyway on the
    /// Linux ABIs (x86-64, AArch64).
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let PR_SET_CHILD_SUBREAPER: Int32 = 36

    private static func set(_ on: Bool) throws {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "prctl") else {
            throw CLIError("dlsym(prctl) failed")
        }
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        guard prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) == 0 else {
            throw CLIError("prctl(PR_SET_CHILD_SUBREAPER): errno \(errno)")
        }
    }

    static func acquire() throws {
        try users.withLock { count in
            if count == 0 { try set(true) }
            count += 1
        }
        Orphans.start()
    }

    static func release() {
        users.withLock { count in
            count -= 1
            if count == 0 { try? set(false) }
        }
    }
}

/// Reaps the orphans this process adopted, by pid, on a thread of its own.
enum Orphans {
    private static let pending = Mutex(Set<pid_t>())
    private static let started = Mutex(false)

    /// Starts reaping `pid` once it exits. Call it only after the CLI that created it has
    /// exited (and been reaped), so the process is already ours.
    static func adopt(_ pid: pid_t) {
        guard pid > 0 else { return }
        pending.withLock { _ = $0.insert(pid) }
        start()
    }

    /// Starts the reaping thread (once per process).
    static func start() {
        started.withLock { started in
            guard !started else { return }
            started = true
            Thread.detachNewThread { reapForever() }
        }
    }

    /// Pids of CLI processes we spawned (reaped by `RunningCLI.wait`, never here).
    static let spawned = Mutex(Set<pid_t>())
    /// Abandoned zombies reaped by the sweep, for the tests to report.
    private static let strays = Mutex([String]())
    private static let zombieSince = Mutex([pid_t: Date]())

    /// Reports (and forgets) the abandoned zombies reaped since the last call.
    static func takeStrays() -> [String] {
        strays.withLock { list in
            let taken = list
            list = []
            return taken
        }
    }

    /// The last line of defence: a zombie child of ours that nobody has claimed for two
    /// seconds was abandoned (a CLI exited without reaping a process it owned, which then
    /// came to us as subreaper); left alone it would keep its container's pid namespace
    /// from dying and `delete` from finishing. It is reaped and reported as a failure.
    /// Two seconds, because owners (our CLI waits, other suites' pidfd waits) reap within
    /// milliseconds, so this never steals a status someone is about to collect.
    private static func sweepAbandoned() {
        let own = spawned.withLock { $0 }
        let known = pending.withLock { $0 }
        var seen = Set<pid_t>()
        for pid in LeakCheck.children() where !own.contains(pid) && !known.contains(pid) {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"),
                  stat[stat.index(after: close)...].split(separator: " ").first == "Z"
            else { continue }
            seen.insert(pid)
            let since = zombieSince.withLock { $0[pid, default: Date()] }
            zombieSince.withLock { $0[pid] = since }
            if Date().timeIntervalSince(since) > 2 {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG | __WALL) == pid {
                    strays.withLock { $0.append("abandoned zombie \(stat.prefix(40)) (reaped by the test)") }
                }
            }
        }
        zombieSince.withLock { $0 = $0.filter { seen.contains($0.key) } }
    }

    private static func reapForever() {
        var sweep = 0
        while true {
            sweep += 1
            if sweep % 20 == 0 { sweepAbandoned() }
            pending.withLock { pids in
                for pid in pids {
                    var status: Int32 = 0
                    // __WALL: a child cloned without SIGCHLD as its exit signal is only
                    // seen with it.
                    let r = waitpid(pid, &status, WNOHANG | __WALL)
                    // Reaped; or gone without us (pid 1 or another reaper had it). While it
                    // exists but is not (yet) our child, keep trying: it may still be
                    // reparented to us.
                    if r == pid || (r < 0 && errno == ECHILD && kill(pid, 0) != 0 && errno == ESRCH) {
                        pids.remove(pid)
                    }
                }
            }
            usleep(5000)
        }
    }

    /// `ps`-like lines for this process's children: pid, state, what it waits in, name.
    static func describeChildren() -> String {
        LeakCheck.children().map { pid -> String in
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "?"
            let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? "?"
            let pending = pending.withLock { $0.contains(pid) }
            return "\(stat.prefix(60)) wchan=\(wchan) pending=\(pending)"
        }.joined(separator: "; ")
    }

    /// Waits until every pid in `pids` has been reaped.
    /// - Returns: those still pending after `timeout` seconds.
    static func waitUntilReaped(_ pids: Set<pid_t>, timeout: Double = 20) async -> Set<pid_t> {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = pending.withLock { $0.intersection(pids) }
            if left.isEmpty || Date() > deadline { return left }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A CLI invocation still running.
struct RunningCLI: Sendable {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    let arguments: [String]

    /// Waits for the CLI to exit (killing it after `timeout` seconds: a hung CLI is a
    /// failure, not a hung test run).
    func wait(timeout: Double = 120) async -> CLIResult {
        let pid = self.pid
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(timeout)
                var status: Int32 = 0
                while true {
                    let r = waitpid(pid, &status, WNOHANG)
                    if r == pid { break }
                    if r < 0 && errno != EINTR { status = -1; break }
                    if Date() > deadline {
                        kill(pid, SIGKILL)
                        _ = waitpid(pid, &status, 0)
                        break
                    }
                    usleep(2000)
                }
                Orphans.spawned.withLock { _ = $0.remove(pid) }
                continuation.resume(returning: status)
            }
        }
        let code: Int32 = status == -1 ? -1 : (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        return CLIResult(status: code, stdout: out, stderr: err)
    }

    /// Sends a signal to the CLI process itself.
    func signal(_ number: Int32) { kill(pid, number) }
}

/// One test's view of the `caisson` binary: its own temporary directory and state root.
final class CaissonCLI: Sendable {
    let binary: String
    let directory: String
    let root: String
    let prefix: String
    private let usedIDs = Mutex(Set<String>())
    private let counter = Atomic(0)

    init(binary: String, directory: String) {
        self.binary = binary
        self.directory = directory
        self.root = directory + "/root"
        self.prefix = "clt" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// The `caisson` built next to this test bundle (`swift build --build-tests` builds
    /// every product), or `$CAISSON_BINARY`.
    static func locateBinary() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["CAISSON_BINARY"] { return explicit }
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path]
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().path)
        candidates.append(Bundle.main.bundleURL.path)
        for directory in candidates {
            let path = directory + "/caisson"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw CLIError("the caisson binary is not built next to the tests (looked in \(candidates)); run `swift build --build-tests` or set CAISSON_BINARY")
    }

    /// A container id unique to this test (cleaned up and leak-checked at the end).
    func id(_ name: String) -> String {
        let id = "\(prefix)-\(name)"
        usedIDs.withLock { _ = $0.insert(id) }
        return id
    }

    /// A busybox bundle running `args`, in its own directory.
    func bundle(_ name: String, _ args: [String]) throws -> BusyboxBundle {
        let path = directory + "/bundle-" + name
        return try Self.bundleLock.withLock { _ in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return try BusyboxBundle.make(in: path, args: args)
        }
    }

    /// Held while a bundle is written and while a CLI is spawned (see `spawn`).
    static let bundleLock = Mutex(())

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which the Glibc module
    /// does not export.
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addClosefrom: AddClosefrom? = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddClosefrom.self) }

    /// Starts `caisson --root ROOT ARGS…` (no global flags added when `root` is false).
    func spawn(_ arguments: [String], root useRoot: Bool = true, stdin: String = "/dev/null", program: String? = nil) throws -> RunningCLI {
        let n = counter.add(1, ordering: .relaxed).newValue
        let stdoutPath = "\(directory)/cli-\(n).out", stderrPath = "\(directory)/cli-\(n).err"
        let executable = program ?? binary
        let argv = program != nil ? [executable] + arguments : [binary] + (useRoot ? ["--root", root] : []) + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Nothing else of this process leaks into the CLI (and from there into its
        // containers): in particular not a descriptor another test has open for writing
        // while it copies busybox into its bundle, which would make that test's execve of
        // it fail with ETXTBSY. (Bundles are also written under `bundleLock`, which spawns
        // take too: posix_spawn returns once the child has exec'd.)
        if let closefrom = Self.addClosefrom { _ = closefrom(&actions, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The CLI starts with an empty signal mask and default dispositions, whatever
        // this test process (and its thread pool) has set.
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let r = Self.bundleLock.withLock { _ in
            let r = posix_spawn(&pid, executable, &actions, &attributes, cArgs, environ)
            if r == 0 { Orphans.spawned.withLock { _ = $0.insert(pid) } }
            return r
        }
        guard r == 0 else { throw CLIError("posix_spawn \(executable): errno \(r)") }
        return RunningCLI(pid: pid, stdoutPath: stdoutPath, stderrPath: stderrPath, arguments: arguments)
    }

    /// Runs `caisson --root ROOT ARGS…` to completion.
    ///
    /// A foreground `exec` gets a `--pid-file` (unless it has one) and its process is
    /// handed to `Orphans`: the CLI should reap it, but if the CLI exits without doing
    /// so, the process is ours and must not stay a zombie that blocks its container's
    /// pid namespace from going away.
    @discardableResult
    func run(_ arguments: [String], root: Bool = true, timeout: Double = 120) async throws -> CLIResult {
        var arguments = arguments
        var execPidFile: String?
        if arguments.first == "exec" && !arguments.contains("--pid-file") {
            let path = "\(directory)/exec-\(counter.add(1, ordering: .relaxed).newValue).pid"
            arguments.insert(contentsOf: ["--pid-file", path], at: 1)
            execPidFile = path
        }
        let result = try await spawn(arguments, root: root).wait(timeout: timeout)
        if let execPidFile, let pid = try? Self.readPid(execPidFile) { Orphans.adopt(pid) }
        return result
    }

    /// Runs another program (e.g. `script` around the CLI) the way CLI runs are made.
    func runProgram(_ program: String, _ arguments: [String], timeout: Double = 120) async throws -> CLIResult {
        try await spawn(arguments, program: program).wait(timeout: timeout)
    }

    /// Runs a command that must succeed; fails the test with its output otherwise.
    @discardableResult
    func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> CLIResult {
        let result = try await run(arguments)
        #expect(result.status == 0, "caisson \(arguments.joined(separator: " ")): \(result)", sourceLocation: sourceLocation)
        return result
    }

    /// `create --pid-file` + adoption of the container's init.
    @discardableResult
    func create(_ id: String, bundle: BusyboxBundle, sourceLocation: SourceLocation = #_sourceLocation) async throws -> pid_t {
        let pidFile = "\(directory)/\(id).pid"
        try await ok(["create", "--bundle", bundle.path, "--pid-file", pidFile, id], sourceLocation: sourceLocation)
        let pid = try Self.readPid(pidFile)
        Orphans.adopt(pid)
        return pid
    }

    static func readPid(_ path: String) throws -> pid_t {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CLIError("\(path): not a pid: \(text)")
        }
        return pid
    }

    /// Deletes every container of this root and every id this test used, reaps what was
    /// adopted, and reports anything left behind.
    func cleanUp(adopted extra: Set<pid_t> = []) async -> [String] {
        var leftovers: [String] = []
        var adopted = extra
        var ids = usedIDs.withLock { $0 }
        if let list = try? await run(["list", "--format", "json"]), list.status == 0,
           let data = list.stdout.data(using: .utf8),
           let entries = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] {
            for entry in entries {
                if let id = entry["id"] as? String { ids.insert(id) }
                if let pid = entry["pid"] as? Int, pid > 0 { adopted.insert(pid_t(pid)); Orphans.adopt(pid_t(pid)) }
            }
        }
        for id in ids.sorted() {
            if let result = try? await run(["delete", "--force", id], timeout: 30), result.status != 0 {
                leftovers.append("delete --force \(id): \(result)")
            }
        }
        leftovers += Orphans.takeStrays()
        let unreaped = await Orphans.waitUntilReaped(adopted)
        if !unreaped.isEmpty {
            leftovers.append("adopted processes not reaped: \(unreaped.sorted()); children: \(Orphans.describeChildren())")
        }
        let children = LeakCheck.children()
        for pid in adopted where children.contains(pid) { leftovers.append("process \(pid) is still our child") }
        if case let entries = LeakCheck.stateEntries(in: root), !entries.isEmpty {
            leftovers.append("state root \(root) still holds \(entries)")
        }
        for id in ids {
            for controller in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
                // The default cgroup, in the layouts Caisson has used: /caisson/<id>, /caisson-<id>.
                for path in ["/sys/fs/cgroup/\(controller)/caisson/\(id)", "/sys/fs/cgroup/\(controller)/caisson-\(id)"]
                where FileManager.default.fileExists(atPath: path) {
                    leftovers.append("cgroup \(path)")
                }
            }
        }
        leftovers += LeakCheck.cgroups(named: prefix)
        return leftovers
    }
}

/// Runs `body` with a fresh CLI environment; cleans up and checks for leaks even when
/// `body` throws.
func withCLI(_ body: (CaissonCLI) async throws -> Void) async throws {
    let binary = try CaissonCLI.locateBinary()
    try Subreaper.acquire()
    defer { Subreaper.release() }
    try await withTemporaryDirectory(prefix: "caisson-cli") { directory in
        let cli = CaissonCLI(binary: binary, directory: directory)
        var failure: (any Error)?
        do { try await body(cli) } catch { failure = error }
        let leftovers = await cli.cleanUp()
        #expect(leftovers.isEmpty, "left behind: \(leftovers.joined(separator: "\n"))")
        if let failure { throw failure }
    }
}
