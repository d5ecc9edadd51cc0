import ArgumentParser
import CLICommon
import Glibc
import OCISpec
import Sandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct CreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a container.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Option(name: [.short, .customLong("bundle")], help: "Path to the root of the bundle directory.")
    var bundle: String = "."
    @Option(name: .customLong("pid-file"), help: "File to write the process id to.")
    var pidFile: String?
    @Flag(name: .customLong("no-pivot"), help: "Do not use pivot_root to jail the process inside the rootfs.")
    var noPivot = false
    @Flag(name: .customLong("no-new-keyring"), help: "Do not create a new session keyring.")
    var noNewKeyring = false
    @Option(name: .customLong("preserve-fds"), help: "Pass N additional file descriptors (3...) to the container.")
    var preserveFDs: Int32 = 0
    @Option(name: .customLong("console-socket"), help: "Unix socket that receives the master end of the container's terminal.")
    var consoleSocket: String?
    @Argument(help: "The container id.") var id: String

    func run() async throws {
        await Self.perform(runtime: global.runtime, bundle: bundle, pidFile: pidFile, noPivot: noPivot,
                           preserveFDs: preserveFDs, consoleSocket: consoleSocket, id: id)
    }

    /// The command's work, also reached by ``FastPath`` without ArgumentParser.
    static func perform(runtime: Runtime, bundle: String, pidFile: String?, noPivot: Bool, preserveFDs: Int32,
                        consoleSocket: String?, id: String) async {
        do {
            let stdio = Stdio(input: .inherit, output: .inherit, error: .inherit,
                              extraFiles: preserveFDs > 0 ? Array(3..<(3 + preserveFDs)) : [])
            let container = try await runtime.create(
                id: id, bundle: absoluteBundle(bundle), options: .init(stdio: stdio, noPivot: noPivot))
            do {
                try checkTerminal(terminal: container.spec.process?.terminal ?? false, detach: true, consoleSocket: consoleSocket)
                if let consoleSocket, let terminal = container.io.terminal {
                    try terminal.send(toConsoleSocket: consoleSocket)
                }
                if let pidFile { try writePidFile(pidFile, container.pid) }
            } catch {
                try? await container.delete(force: true)  // runc destroys a container it could not hand over
                throw error
            }
        } catch { fail(error) }
    }
}

struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a created container.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Argument(help: "The container id.") var id: String

    func run() async throws {
        await Self.perform(runtime: global.runtime, id: id)
    }

    /// The command's work, also reached by ``FastPath`` without ArgumentParser.
    static func perform(runtime: Runtime, id: String) async {
        do { try await runtime.container(id: id).start() } catch { fail(error) }
    }
}

struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Output the state of a container.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Argument(help: "The container id.") var id: String

    func run() throws {
        Self.perform(runtime: global.runtime, id: id)
    }

    /// The command's work, also reached by ``FastPath`` without ArgumentParser.
    static func perform(runtime: Runtime, id: String) {
        do {
            // runc's shape and bytes: `json.MarshalIndent(state, "", "  ")`, no newline after.
            let state = RuncState(try runtime.container(id: id))
            StandardStreams.write(state.json.indented("  "))
        } catch { fail(error) }
    }
}

struct KillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to a container's process.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Flag(name: [.short, .customLong("all")], help: "Send the signal to all processes in the container.")
    var all = false
    @Argument(help: "The container id.") var id: String
    @Argument(help: "The signal (name or number), default SIGTERM.") var signal: String = "SIGTERM"

    func run() throws {
        Self.perform(runtime: global.runtime, all: all, id: id, signal: signal)
    }

    /// The command's work, also reached by ``FastPath`` without ArgumentParser.
    static func perform(runtime: Runtime, all: Bool, id: String, signal: String) {
        do {
            guard let value = Signal(parsing: signal) else { throw ValidationError("unknown signal \"\(signal)\"") }
            try runtime.container(id: id).kill(value, all: all)
        } catch { fail(error) }
    }
}

struct DeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a container and its resources.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Flag(name: [.short, .customLong("force")], help: "Kill the container first if it is running.")
    var force = false
    @Argument(help: "The container id.") var id: String

    func run() async throws {
        await Self.perform(runtime: global.runtime, force: force, id: id)
    }

    /// The command's work, also reached by ``FastPath`` without ArgumentParser.
    static func perform(runtime: Runtime, force: Bool, id: String) async {
        do {
            let container: Container
            do {
                container = try runtime.container(id: id)
            } catch let error as SandboxError where error.code == .notFound && force {
                return  // runc: delete --force of a missing container succeeds
            }
            try await container.delete(force: force)
        } catch { fail(error) }
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Create and run a container, wait for it and delete it.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Option(name: [.short, .customLong("bundle")], help: "Path to the root of the bundle directory.")
    var bundle: String = "."
    @Option(name: .customLong("pid-file"), help: "File to write the process id to.")
    var pidFile: String?
    @Flag(name: .customLong("no-pivot"), help: "Do not use pivot_root to jail the process inside the rootfs.")
    var noPivot = false
    @Flag(name: [.short, .customLong("detach")], help: "Detach from the container's process (not supported).")
    var detach = false
    @Argument(help: "The container id.") var id: String

    func run() async throws {
        if detach { fail(ValidationError("run --detach is not supported; use create and start")) }
        let runtime = global.runtime
        let status: TerminationStatus
        do {
            status = try await runtime.withContainer(
                id: id, bundle: absoluteBundle(bundle), options: .init(stdio: .inherit, noPivot: noPivot)
            ) { container in
                if let pidFile { try writePidFile(pidFile, container.pid) }
                try await container.start()
                return try await container.wait()
            }
        } catch { fail(error) }
        Glibc.exit(status.shellCode)
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List containers.", aliases: ["ps-list"])
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Option(name: [.short, .customLong("format")], help: "table or json.")
    var format: String = "table"
    @Flag(name: [.short, .customLong("quiet")], help: "Display only container ids.")
    var quiet = false

    func run() throws {
        do {
            let runtime = global.runtime
            // A container deleted between listing and opening it is skipped, as runc does.
            let states = try runtime.list().compactMap { state in
                (try? runtime.container(id: state.id)).map {
                    RuncState($0, owner: RuncState.owner(stateRoot: runtime.stateRoot, id: state.id))
                }
            }
            if quiet {
                for state in states { print(state.id) }
                return
            }
            switch format {
            case "table":
                var rows: [[String]] = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
                for state in states {
                    rows.append([state.id, String(state.pid), state.status, state.bundle, state.created, state.owner])
                }
                StandardStreams.write(tabwriterTable(rows))
            case "json":
                // runc encodes a nil slice when there is no container: `null`.
                print(states.isEmpty ? "null" : GoJSON.array(states.map { $0.json }).compact)
            default:
                throw ValidationError("invalid format option")
            }
        } catch { fail(error) }
    }
}

/// The bundle as runc records it: `filepath.Abs`, i.e. absolute and cleaned (no `.`, `..`
/// or trailing slash), so `state` and `list` show the same path runc would.
func absoluteBundle(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
}

/// runc's `checkTerminal`: a terminal for a process runc does not wait for must go to a
/// console socket, and a console socket is only for such a terminal.
func checkTerminal(terminal: Bool, detach: Bool, consoleSocket: String?) throws {
    if detach && terminal && consoleSocket == nil {
        throw ValidationError("cannot allocate tty if caisson will detach without setting console socket")
    }
    if (!detach || !terminal) && consoleSocket != nil {
        throw ValidationError("cannot use console socket if caisson will not detach or allocate tty")
    }
}

func writePidFile(_ path: String, _ pid: Int32) throws {
    // Written new-then-rename, as runc does, so a reader never sees a partial pid.
    let temporary = path + ".tmp"
    try "\(pid)".write(toFile: temporary, atomically: false, encoding: .utf8)
    if rename(temporary, path) != 0 { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
}
