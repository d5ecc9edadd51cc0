import Foundation
import Glibc
@testable import CaissonNetwork
import TestSupport
import Testing

/// A CNI test's conflist: Debian's bridge (with host-local IPAM), portmap and firewall
/// plugins on a private subnet, a bridge of the test's own and an IPAM directory in the
/// test's temporary directory.
enum TestCNI {
    static let pluginDirectory = "/usr/lib/cni"
    static let network = "cstcni"
    static let bridge = "cstest5"
    static let subnet = "10.213.5.0/24"

    /// Writes the conflist under `directory/cni/`; returns its path.
    /// IPv4 and IPv6: Debian's portmap 1.1.1 checks ip6tables rules on CHECK even for an
    /// IPv4-only container and fails (containernetworking/plugins#819, fixed in 1.2).
    static func writeConflist(in directory: String, name: String = network, bridge: String = bridge, subnet: String = subnet,
                              subnet6: String? = nil, plugins extra: [String] = [], cniVersion: String = "1.0.0") throws -> String {
        let cniDirectory = directory + "/cni"
        try FileManager.default.createDirectory(atPath: cniDirectory, withIntermediateDirectories: true)
        let plugins = [
            """
            {"type": "bridge", "bridge": "\(bridge)", "isGateway": true, "ipMasq": true, "hairpinMode": true,
             "ipam": {"type": "host-local", "dataDir": "\(ipamDirectory(directory))",
                      "routes": [{"dst": "0.0.0.0/0"}], "ranges": [[{"subnet": "\(subnet)"}]\(subnet6.map { #", [{"subnet": "\#($0)"}]"# } ?? "")]}}
            """,
            #"{"type": "portmap", "capabilities": {"portMappings": true}}"#,
            #"{"type": "firewall"}"#,
        ] + extra
        let text = """
            {"cniVersion": "\(cniVersion)", "name": "\(name)", "plugins": [
            \(plugins.joined(separator: ",\n"))
            ]}
            """
        let path = cniDirectory + "/\(name).conflist"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func ipamDirectory(_ directory: String) -> String { directory + "/cni-ipam" }

    /// host-local's address files for a network (its lock and last-reserved files aside).
    static func leases(in directory: String, network: String = network) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: ipamDirectory(directory) + "/" + network)) ?? [])
            .filter { IPAddress($0) != nil }.sorted()
    }

    /// The host-side interfaces enslaved to `bridge`.
    static func ports(of bridge: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(bridge)/brif")) ?? []).sorted()
    }
}

/// The host's iptables rules as nftables sees them (Debian's plugins run iptables, which
/// is iptables-nft here): the test's evidence that DEL removed every rule it added, and
/// the cleanup of the chains the plugins share between containers and never delete
/// (CNI-HOSTPORT-*, CNI-FORWARD, CNI-ADMIN).
struct IptablesState {
    /// The iptables-nft tables (`ip nat`, `ip filter`, `ip6 nat`, …) and their chains.
    var chains: [String: Set<String>]

    static let families = ["ip", "ip6"]
    static let tables = ["nat", "filter", "mangle"]

    /// Requires the nf_tables backend (the legacy one keeps rules where nft cannot see them).
    static func requireNftablesBackend() throws {
        let version = try run("/usr/sbin/iptables", ["--version"])
        try #require(version.contains("nf_tables"), "iptables is not iptables-nft (\(version)); these checks read nftables")
    }

    static func take() throws -> IptablesState {
        var chains: [String: Set<String>] = [:]
        let listing = try run("/usr/sbin/nft", ["list", "tables"])
        for line in listing.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 3, words[0] == "table", families.contains(words[1]), tables.contains(words[2]) else { continue }
            let table = words[1] + " " + words[2]
            let text = try run("/usr/sbin/nft", ["list", "table", words[1], words[2]])
            chains[table] = Set(text.split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ")
                return fields.count >= 2 && fields[0] == "chain" ? String(fields[1]) : nil
            })
        }
        return IptablesState(chains: chains)
    }

    /// Every iptables and ip6tables rule as `iptables-save` prints it (with the comments,
    /// where the plugins name the network and container, that `nft list` does not show).
    static func ruleset() throws -> String {
        try run("/usr/sbin/iptables-save", []) + run("/usr/sbin/ip6tables-save", [])
    }

    /// Removes what appeared since `before`: tables that did not exist (deleted whole),
    /// and in the others the new CNI-* chains and the rules jumping to them.
    func restore(since before: IptablesState) throws {
        for (table, chains) in self.chains {
            let parts = table.split(separator: " ").map(String.init)
            guard let old = before.chains[table] else {
                _ = try Self.run("/usr/sbin/nft", ["delete", "table", parts[0], parts[1]])
                continue
            }
            let added = chains.subtracting(old).filter { $0.hasPrefix("CNI-") }
            guard !added.isEmpty else { continue }
            // Rules jumping to an added chain, by handle.
            let listing = try Self.run("/usr/sbin/nft", ["-a", "list", "table", parts[0], parts[1]])
            var chain = ""
            for line in listing.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                if line.hasPrefix("chain ") { chain = String(line.split(separator: " ")[1]); continue }
                guard !added.contains(chain), added.contains(where: { line.contains("jump \($0) ") || line.contains("goto \($0) ") }),
                      line.contains("# handle "), let handle = line.components(separatedBy: "# handle ").last else { continue }
                _ = try Self.run("/usr/sbin/nft", ["delete", "rule", parts[0], parts[1], chain, "handle", handle])
            }
            for name in added { _ = try Self.run("/usr/sbin/nft", ["flush", "chain", parts[0], parts[1], name]) }
            for name in added { _ = try Self.run("/usr/sbin/nft", ["delete", "chain", parts[0], parts[1], name]) }
        }
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let (status, text) = try runTool(tool, arguments)
        guard status == 0 else {
            throw ProbeError(description: "\(tool) \(arguments.joined(separator: " ")): \(text)")
        }
        return text
    }
}

/// Runs a CNI test: checks the backend, remembers the iptables state, and afterwards
/// deletes the test's bridges (the bridge plugin never deletes one) and the plugins'
/// shared chains that were not there before.
func withCNI(bridges: [String], _ body: (NetworkTestEnvironment) async throws -> Void) async throws {
    try IptablesState.requireNftablesBackend()
    try await withNetworking { env in
        let before = try IptablesState.take()
        var failure: (any Error)?
        do { try await body(env) } catch { failure = error }
        // Detach first (withNetworking would, but after this cleanup), then tidy up.
        for attachment in (try? env.networking.attachments()) ?? [] {
            _ = try? await env.networking.detach(containerID: attachment.containerID)
        }
        for bridge in bridges { _ = try? RouteSocket().deleteLink(bridge) }
        do { try IptablesState.take().restore(since: before) } catch { if failure == nil { failure = error } }
        if let failure { throw failure }
        let after = try IptablesState.take()
        #expect(after.chains == before.chains, "iptables chains left: \(after.chains) (before: \(before.chains))")
    }
}
