import ArgumentParser
import CLICommon
import Caisson
import Foundation

/// `caisson network …`: the bridge networks that `caisson run --network` attaches
/// containers to, and the cleanup of what a crashed program left behind.
struct NetworkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network", abstract: "Manage networks (bridge; CNI attachments are checked and pruned here too).",
        subcommands: [NetworkListCommand.self, NetworkCreateCommand.self, NetworkRemoveCommand.self, NetworkPruneCommand.self,
                      NetworkCheckCommand.self])
    @ParentCommand var parent: EngineCommand
    @OptionGroup var engineOptions: EngineOptions

    /// The engine over the image store and the global `--root`.
    func engine() throws -> Engine { try engineOptions.engine(stateRoot: parent.global.root) }
}

struct NetworkListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List bridge networks.")
    @ParentCommand var network: NetworkCommand

    func run() throws {
        do {
            var rows: [[String]] = [["NAME", "BRIDGE", "SUBNET", "SUBNET6", "MTU"]]
            for net in try network.engine().networking.networks() {
                rows.append([net.name, net.bridge, "\(net.subnet)", net.subnet6.map { "\($0)" } ?? "-", net.mtu.map(String.init) ?? "-"])
            }
            FileHandle.standardOutput.write(Data(tabwriterTable(rows).utf8))
        } catch { fail(error) }
    }
}

struct NetworkCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a bridge network.")
    @ParentCommand var network: NetworkCommand
    @Option(help: "IPv4 subnet (e.g. 10.90.0.0/24).") var subnet: String
    @Option(help: "IPv6 subnet (e.g. fd00:90::/64).") var subnet6: String?
    @Option(help: "Bridge device name (default: the network name).") var bridge: String?
    @Option(help: "MTU of the bridge and the containers' interfaces.") var mtu: Int?
    @Flag(help: "Let containers reach other bridge networks (isolated by default).") var noIsolation = false
    @Flag(help: "Do not masquerade traffic leaving the subnet.") var noMasquerade = false
    @Argument(help: "The network name.") var name: String

    func run() async throws {
        do {
            let definition = BridgeNetwork(
                name: name, bridge: bridge ?? name, subnet: try Subnet(subnet), subnet6: try subnet6.map { try Subnet($0) },
                mtu: mtu, isolated: !noIsolation, masquerade: !noMasquerade)
            try await network.engine().networking.createNetwork(definition)
            print(name)
        } catch { fail(error) }
    }
}

struct NetworkRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove bridge networks (no container may be attached).")
    @ParentCommand var network: NetworkCommand
    @Argument(help: "Network names.") var names: [String]

    func run() async throws {
        do {
            let networking = try network.engine().networking
            for name in names {
                try await networking.removeNetwork(named: name)
                print(name)
            }
        } catch { fail(error) }
    }
}

/// Finds and removes what containers that no longer exist left behind: their addresses,
/// veths, port rules, namespace files and /etc files (after a crash of the program that
/// created them, or a container deleted by runc's `delete` instead of `rm`).
struct NetworkPruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Release the network resources of containers that are gone.")
    @ParentCommand var network: NetworkCommand

    func run() async throws {
        do {
            let engine = try network.engine()
            let live = Set(try engine.runtime.list().filter { $0.status != .stopped }.map(\.id))
            let report = try await engine.networking.prune(liveContainers: live)
            if report.isEmpty {
                print("nothing to prune")
                return
            }
            for id in report.attachments { print("released container \(id)") }
            for name in report.interfaces { print("removed interface \(name)") }
            for path in report.namespaces { print("removed namespace \(path)") }
            if report.rules > 0 { print("removed \(report.rules) firewall rules") }
            for address in report.addresses { print("released address \(address)") }
            for directory in report.etcDirectories { print("removed /etc files \(directory)") }
            for result in report.cniResults { print("deleted CNI attachment \(result)") }
            for pid in report.processes { print("stopped slirp4netns process \(pid)") }
        } catch { fail(error) }
    }
}

/// `caisson network check ID`: is a container's networking still as attach left it? For a
/// CNI network this is the plugins' CHECK; for a bridge, the namespace, veth and port rules.
struct NetworkCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Check a container's network attachment.")
    @ParentCommand var network: NetworkCommand
    @Argument(help: "The container id.") var id: String

    func run() async throws {
        do {
            try await network.engine().networking.check(containerID: id)
            print("\(id): ok")
        } catch { fail(error) }
    }
}
