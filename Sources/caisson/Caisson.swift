import ArgumentParser
import Caisson
import Foundation
import Glibc
import Synchronization

@main
struct CaissonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caisson",
        abstract: "Run OCI containers; runc's command line.",
        version: "0.1.0",
        subcommands: [
            SpecCommand.self, CreateCommand.self, StartCommand.self, StateCommand.self, KillCommand.self,
            DeleteCommand.self, RunCommand.self, ListCommand.self, ExecCommand.self, PsCommand.self,
            FeaturesCommand.self, PauseCommand.self, ResumeCommand.self, UpdateCommand.self, EventsCommand.self,
            ImageRunCommand.self, StopCommand.self, RemoveCommand.self, LogsCommand.self, NetworkCommand.self,
            PullCommand.self, PushCommand.self, ImagesCommand.self, RmiCommand.self, TagCommand.self,
            LoginCommand.self, LogoutCommand.self,
        ])

    @OptionGroup var global: GlobalOptions

    /// The hot lifecycle commands skip ArgumentParser (see ``FastPath``); everything else
    /// is parsed and run as ArgumentParser's own `main` does.
    static func main() async {
        // CAISSON_NO_FAST_PATH=1 forces ArgumentParser (the tests compare both paths).
        if getenv("CAISSON_NO_FAST_PATH") == nil, await FastPath.run(Array(CommandLine.arguments.dropFirst())) { return }
        do {
            // `run IMAGE …` and runc's `run ID` share a name (see RunDispatch).
            var command = try parseAsRoot(RunDispatch.rewrite(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every runtime command takes (runc's global flags).
struct GlobalOptions: ParsableArguments {
    @Option(help: "Root directory for storage of container state.")
    var root: String = "/run/caisson"

    @Option(help: "Append errors (and with --debug, debug lines) to this file, as runc does.")
    var log: String?

    @Option(name: .customLong("log-format"), help: "Log format: text or json (containerd reads the last JSON error line).")
    var logFormat: String = "text"

    @Flag(help: "Enable debug output.")
    var debug = false

    @Flag(name: .customLong("systemd-cgroup"), help: "Use systemd cgroups (not supported: refused).")
    var systemdCgroup = false

    var runtime: Runtime { Runtime(stateRoot: root) }

    /// Runs for every command line (ArgumentParser validates option groups): sets up the
    /// log before any command can fail.
    func validate() throws {
        guard logFormat == "text" || logFormat == "json" else {
            throw ValidationError("--log-format: \"\(logFormat)\" is not text or json")
        }
        CLILog.configure(path: log, json: logFormat == "json", debug: debug)
        if systemdCgroup {
            fail("--systemd-cgroup: systemd cgroup management is not supported; use cgroupfs paths (podman: cgroup_manager = \"cgroupfs\", containerd: SystemdCgroup = false)")
        }
    }
}

/// runc's log file: `--log PATH` gets one line per error, as text
/// (`time="…" level=error msg="…"`) or JSON (`{"level":"error","msg":"…","time":"…"}`).
enum CLILog {
    private struct Settings: Sendable {
        var path: String?
        var json = false
        var debug = false
    }
    private static let settings = Mutex(Settings())

    static func configure(path: String?, json: Bool, debug: Bool) {
        settings.withLock { $0 = Settings(path: path, json: json, debug: debug) }
    }

    /// Appends one line at `level` to the log file, if one was given.
    static func write(level: String, _ message: String) {
        let current = settings.withLock { $0 }
        guard let path = current.path, level != "debug" || current.debug else { return }
        let time = ISO8601DateFormatter().string(from: Date())
        let line: String
        if current.json {
            let fields = ["level": level, "msg": message, "time": time]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            line = String(decoding: (try? encoder.encode(fields)) ?? Data(), as: UTF8.self)
        } else {
            let quoted = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            line = "time=\"\(time)\" level=\(level) msg=\"\(quoted)\""
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = (line + "\n").withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }
}

/// Prints `error` as runc does (one line on stderr, and the log file) and exits 1.
func fail(_ error: any Error) -> Never {
    fail("\(error)")
}

/// Prints `message` as runc does (one line on stderr, and the log file) and exits 1.
func fail(_ message: String) -> Never {
    CLILog.write(level: "error", message)
    FileHandle.standardError.write(Data("caisson: \(message)\n".utf8))
    Foundation.exit(1)
}
