import ArgumentParser
import Caisson

@main
struct CaissonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caisson",
        abstract: "Run OCI containers (runc-compatible command line).",
        subcommands: [SpecCommand.self])
}
