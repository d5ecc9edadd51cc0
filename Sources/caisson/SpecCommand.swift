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

/// `caisson spec`: writes a starter config.json, as `runc spec` does.
struct SpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec", abstract: "Create a new specification file (config.json) in the bundle.")

    @Option(name: [.short, .customLong("bundle")], help: "Path to the root of the bundle directory.")
    var bundle: String = "."

    @Flag(help: "Generate a configuration for a rootless container.")
    var rootless = false

    func run() throws {
        let path = bundle + "/config.json"
        guard !FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("File \(path) exists. Remove it first.")
        }
        let spec = rootless ? RuntimeSpec.runcRootless(uid: getuid(), gid: getgid()) : RuntimeSpec.runcDefault()
        try OCIJSON.encode(spec, pretty: true).write(to: URL(fileURLWithPath: path))
    }
}
