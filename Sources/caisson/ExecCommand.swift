import ArgumentParser
import CLICommon
import Glibc
import OCISpec
import Sandbox
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `caisson exec`: runs a new process in a running container, as `runc exec` does.
///
/// The process is the container's own `process` (user, env, capabilities, rlimits,
/// no_new_privs…) with the command and the flags applied on top, or a whole process from
/// `--process FILE`. In the foreground the exit status is the process's (128 + signal when
/// it was killed), and the signals this command receives are passed on to it.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec", abstract: "Execute a new process inside the container.",
        usage: "caisson exec [options] <container-id> <command> [args...]\n  caisson exec [options] -p process.json <container-id>")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }

    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the master end of the process's terminal.")
    var consoleSocket: String?
    @Option(help: "Current working directory in the container.")
    var cwd: String?
    @Option(name: [.short, .customLong("env")], help: "Set an environment variable (KEY=value).")
    var env: [String] = []
    @Flag(name: [.short, .customLong("tty")], help: "Allocate a pseudo-TTY (with --detach and --console-socket).")
    var tty = false
    @Option(name: [.short, .customLong("user")], help: "UID (format: <uid>[:<gid>]).")
    var user: String?
    @Option(name: [.short, .customLong("additional-gids")], help: "Additional gids.")
    var additionalGids: [UInt32] = []
    @Option(name: [.short, .customLong("process")], help: "Path to a process.json.")
    var process: String?
    @Flag(name: [.short, .customLong("detach")], help: "Detach from the container's process.")
    var detach = false
    @Option(name: .customLong("pid-file"), help: "File to write the process id to.")
    var pidFile: String?
    @Option(name: .customLong("process-label"), help: "SELinux label for the process (not supported).")
    var processLabel: String?
    @Option(help: "AppArmor profile for the process (not supported).")
    var apparmor: String?
    @Flag(name: .customLong("no-new-privs"), help: "Set the no new privileges value for the process.")
    var noNewPrivs = false
    @Option(name: [.short, .customLong("cap")], help: "Add a capability to the process's sets.")
    var cap: [String] = []
    @Option(name: .customLong("preserve-fds"), help: "Pass N additional file descriptors (3...) to the process.")
    var preserveFDs: Int32 = 0
    @Option(help: "Run the process in a sub-cgroup (not supported).")
    var cgroup: String?
    @Flag(name: .customLong("ignore-paused"), help: "Allow exec in a paused container (accepted; caisson does not pause).")
    var ignorePaused = false
    @Argument(parsing: .captureForPassthrough, help: "The container id, then the command and its arguments.")
    var arguments: [String] = []

    func run() async throws {
        let execProcess: ExecProcess
        do {
            guard let id = arguments.first else { throw ValidationError("exec: missing the container id") }
            var command = Array(arguments.dropFirst())
            if command.first == "--" { command.removeFirst() }
            let container = try global.runtime.container(id: id)
            let spec = try processSpec(base: container.spec.process, command: command)
            try checkTerminal(terminal: spec.terminal ?? false, detach: detach, consoleSocket: consoleSocket)
            let stdio = Stdio(input: .inherit, output: .inherit, error: .inherit,
                              extraFiles: preserveFDs > 0 ? Array(3..<(3 + preserveFDs)) : [])
            execProcess = try await container.exec(spec, stdio: stdio)
            do {
                if let consoleSocket, let terminal = execProcess.io.terminal {
                    try terminal.send(toConsoleSocket: consoleSocket)
                }
                if let pidFile { try writePidFile(pidFile, execProcess.pid) }
            } catch {
                try? execProcess.kill(.kill)
                _ = try? await execProcess.wait()
                throw error
            }
        } catch { fail(error) }
        if detach { return }

        // Foreground --tty: relay the pty to our own stdio, as runc does.
        let proxy = consoleSocket == nil ? execProcess.io.terminal.map(TerminalProxy.init) : nil
        let forwarding = SignalForwarder { signal in try? execProcess.kill(signal) }
        let status: TerminationStatus
        do { status = try await execProcess.wait() } catch {
            proxy?.finish()
            fail(error)
        }
        forwarding.stop()
        proxy?.finish()
        Glibc.exit(status.shellCode)
    }

    /// The process to run: `--process FILE` as it is, or the container's process with the
    /// command and flags applied as runc's `getProcess` applies them.
    func processSpec(base: RuntimeSpec.Process?, command: [String]) throws -> RuntimeSpec.Process {
        if let process {
            let data: Data
            do { data = Data(try readCommandLineFile(process)) } catch {
                throw ValidationError("exec: reading \(process): \(error)")
            }
            var spec = try OCIJSON.decode(RuntimeSpec.Process.self, from: data)
            if tty { spec.terminal = true }
            return spec
        }
        guard !command.isEmpty else { throw ValidationError("exec: a command is required unless --process is given") }
        guard var spec = base else { throw ValidationError("exec: the container's spec has no process to start from") }
        spec.args = command
        if let cwd { spec.cwd = cwd }
        if apparmor != nil { throw ValidationError("exec --apparmor: AppArmor is not supported by caisson") }
        if processLabel != nil { throw ValidationError("exec --process-label: SELinux is not supported by caisson") }
        if cgroup != nil { throw ValidationError("exec --cgroup: running in a sub-cgroup is not supported yet") }
        if !cap.isEmpty {
            var caps = spec.capabilities ?? .init()
            func adding(_ set: [String]?) -> [String] {
                var set = set ?? []
                for name in cap where !set.contains(name) { set.append(name) }
                return set
            }
            caps.bounding = adding(caps.bounding)
            caps.effective = adding(caps.effective)
            caps.inheritable = adding(caps.inheritable)
            caps.permitted = adding(caps.permitted)
            caps.ambient = adding(caps.ambient)
            spec.capabilities = caps
        }
        spec.env = Self.merging(spec.env ?? [], env)
        spec.terminal = tty
        if noNewPrivs { spec.noNewPrivileges = true }
        if let user {
            let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let uid = UInt32(parts[0]) else { throw ValidationError("parsing \(parts[0]) as int for uid failed") }
            spec.user.uid = uid
            if parts.count > 1 {
                guard let gid = UInt32(parts[1]) else { throw ValidationError("parsing \(parts[1]) as int for gid failed") }
                spec.user.gid = gid
            }
        }
        if !additionalGids.isEmpty {
            spec.user.additionalGids = (spec.user.additionalGids ?? []) + additionalGids
        }
        return spec
    }

    /// `base` then `extra`, a later `KEY=` replacing an earlier one in place: the
    /// environment runc's init ends up with after setting each entry in turn.
    static func merging(_ base: [String], _ extra: [String]) -> [String] {
        var result: [String] = []
        var index: [Substring: Int] = [:]
        for entry in base + extra {
            let key = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            if let at = index[key] {
                result[at] = entry
            } else {
                index[key] = result.count
                result.append(entry)
            }
        }
        return result
    }
}
