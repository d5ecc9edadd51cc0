import ArgumentParser
import Caisson
import Foundation

@main
struct CaissonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caisson",
        abstract: "Run OCI containers; runc's command line.",
        version: "0.1.0",
        subcommands: [
            SpecCommand.self, CreateCommand.self, StartCommand.self, StateCommand.self, KillCommand.self,
            DeleteCommand.self, RunCommand.self, ListCommand.self, ExecCommand.self, PsCommand.self,
            FeaturesCommand.self,
        ])

    @OptionGroup var global: GlobalOptions
}

/// Options every runtime command takes (runc's global flags).
struct GlobalOptions: ParsableArguments {
    @Option(help: "Root directory for storage of container state.")
    var root: String = "/run/caisson"

    @Option(help: "Log file (accepted for runc compatibility).")
    var log: String?

    @Option(name: .customLong("log-format"), help: "Log format (accepted for runc compatibility).")
    var logFormat: String?

    @Flag(help: "Enable debug output (accepted for runc compatibility).")
    var debug = false

    @Flag(name: .customLong("systemd-cgroup"), help: "Use systemd cgroups (not supported; cgroupsPath is used as a path).")
    var systemdCgroup = false

    var runtime: Runtime { Runtime(stateRoot: root) }
}

/// Prints `error` as runc does (one line on stderr) and exits 1.
func fail(_ error: any Error) -> Never {
    FileHandle.standardError.write(Data("caisson: \(error)\n".utf8))
    Foundation.exit(1)
}
