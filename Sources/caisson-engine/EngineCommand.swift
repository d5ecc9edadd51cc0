import ArgumentParser
import CLICommon

/// `caisson-engine`: the commands of `caisson` that need the image store, the registry
/// client or networking — `run IMAGE`, `ps` without an id, `stop`, `rm`, `logs`, `pull`,
/// `push`, `images`, `rmi`, `tag`, `login`, `logout`, `network …`. `caisson` execs it with
/// its own command line (see `EngineHandOff` there), so it answers to the name `caisson`
/// and takes the same global options; keeping these out of `caisson` keeps the runtime
/// that engines start for every container small.
@main
struct EngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caisson",
        abstract: "Images, containers made from images, and networks.",
        version: "0.1.0",
        subcommands: [
            ImageRunCommand.self, ContainerListCommand.self, StopCommand.self, RemoveCommand.self, LogsCommand.self,
            NetworkCommand.self, PullCommand.self, PushCommand.self, ImagesCommand.self, RmiCommand.self,
            TagCommand.self, LoginCommand.self, LogoutCommand.self,
        ])

    @OptionGroup var global: GlobalOptions
}

/// `caisson ps` without an id: the containers made from images (docker's `ps -a`).
struct ContainerListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps", abstract: "List the containers made from images (with an id: runc's ps).")
    @ParentCommand var parent: EngineCommand
    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.short, .customLong("format")], help: "table (the only format without an id).")
    var format: String = "table"
    @Flag(name: .short, help: "Print only the ids.") var quiet = false

    func run() throws {
        do {
            guard format == "table" else { throw ValidationError("ps: --format \(format): only table lists containers (json needs a container id)") }
            try ContainerListing.print(engine: engineOptions.engine(stateRoot: parent.global.root), quiet: quiet)
        } catch { fail(error) }
    }
}
