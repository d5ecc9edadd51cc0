import CNftables
import Foundation

/// Caisson's nftables rules, all in one table of its own (`inet <table>`), driven through
/// libnftables in-process (no `nft` exec'd per start).
///
/// The table has NAT hooks that send local-destination traffic to a `hostports` chain of
/// DNAT rules (published ports), a `postrouting` chain (masquerade) and a `forward` chain
/// (isolation between bridges, via the `bridges` set). Every rule carries a comment naming
/// its owner — `net:<network>` or `ctr:<container>` — which is how rules are found again
/// and removed, by any process, after a crash too.
struct Firewall: Sendable {
    /// The table's name (family `inet`).
    let table: String

    /// One libnftables context per call: contexts are not thread-safe, and a call is rare
    /// (network setup, container attach/detach) next to the cost of the rules themselves.
    private func run(_ commands: String, json: Bool = false) throws(NetworkError) -> String {
        guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else {
            throw NetworkError(.firewall, "nftables: cannot create a libnftables context")
        }
        defer { nft_ctx_free(context) }
        nft_ctx_buffer_output(context)
        nft_ctx_buffer_error(context)
        if json {
            nft_ctx_output_set_flags(context, UInt32(NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE))
        }
        let rc = nft_run_cmd_from_buffer(context, commands)
        guard rc == 0 else {
            let message = nft_ctx_get_error_buffer(context).map { String(cString: $0) } ?? "unknown error"
            throw NetworkError(.firewall, "nftables table inet \(table): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return nft_ctx_get_output_buffer(context).map { String(cString: $0) } ?? ""
    }

    /// Whether the table exists.
    func exists() throws(NetworkError) -> Bool {
        let listing = try run("list tables inet", json: true)
        return try objects(listing, "table").contains { $0["name"] as? String == table }
    }

    /// Creates the table's skeleton if it is missing (atomically: one transaction).
    func ensureTable() throws(NetworkError) {
        if try exists() { return }
        let t = "inet \(table)"
        do throws(NetworkError) {
            _ = try run("""
                add table \(t)
                add set \(t) bridges { type ifname; }
                add chain \(t) hostports
                add chain \(t) prerouting { type nat hook prerouting priority dstnat; policy accept; }
                add chain \(t) output { type nat hook output priority -100; policy accept; }
                add chain \(t) postrouting { type nat hook postrouting priority srcnat; policy accept; }
                add chain \(t) forward { type filter hook forward priority filter; policy accept; }
                add rule \(t) prerouting fib daddr type local jump hostports
                add rule \(t) output fib daddr type local jump hostports
                """)
        } catch {
            // Another process may have created it between the check and the add.
            if try exists() { return }
            throw error
        }
    }

    /// Adds a network's rules (replacing any it had): outbound masquerade, masquerade of
    /// published-port traffic from loopback and hairpin traffic, isolation from other bridges.
    func addNetwork(_ network: BridgeNetwork) throws(NetworkError) {
        try ensureTable()
        try removeRules(owner: "net:\(network.name)")
        let t = "inet \(table)"
        let comment = "comment \"net:\(network.name)\""
        let br = "\"\(network.bridge)\""
        var commands = ["add element \(t) bridges { \(br) }"]
        if network.masquerade {
            commands.append("add rule \(t) postrouting ip saddr \(network.subnet) ip daddr != \(network.subnet) masquerade \(comment)")
            if let subnet6 = network.subnet6 {
                commands.append("add rule \(t) postrouting ip6 saddr \(subnet6) ip6 daddr != \(subnet6) masquerade \(comment)")
            }
        }
        // 127.0.0.1:hostPort → container: the reply must come back to the host, and a
        // container cannot answer 127.0.0.1 (netavark does the same with route_localnet).
        commands.append("add rule \(t) postrouting oifname \(br) ip saddr 127.0.0.0/8 ct status dnat masquerade \(comment)")
        // A container reaching a published port of its own network via the host (hairpin).
        commands.append("add rule \(t) postrouting oifname \(br) ip saddr \(network.subnet) ip daddr \(network.subnet) ct status dnat masquerade \(comment)")
        if network.isolated {
            commands.append("add rule \(t) forward iifname \(br) oifname @bridges oifname != \(br) drop \(comment)")
            commands.append("add rule \(t) forward oifname \(br) iifname @bridges iifname != \(br) drop \(comment)")
        }
        _ = try run(commands.joined(separator: "\n"))
    }

    /// Removes a network's rules and its bridge from the `bridges` set.
    func removeNetwork(_ network: BridgeNetwork) throws(NetworkError) {
        guard try exists() else { return }
        try removeRules(owner: "net:\(network.name)")
        let elements = try objects(try run("list set inet \(table) bridges", json: true), "set").first?["elem"] as? [Any] ?? []
        if elements.contains(where: { $0 as? String == network.bridge }) {
            _ = try run("delete element inet \(table) bridges { \"\(network.bridge)\" }")
        }
    }

    /// Adds DNAT rules publishing `ports` of a container at `addresses`.
    func addPorts(_ ports: [PortMapping], containerID: String, addresses: [IPAddress]) throws(NetworkError) {
        guard !ports.isEmpty else { return }
        try ensureTable()
        let t = "inet \(table)"
        let comment = "comment \"ctr:\(containerID)\""
        var commands: [String] = []
        for port in ports {
            let l4 = "\(port.transport.rawValue) dport \(port.hostPort)"
            for address in addresses {
                let target = address.isIPv6 ? "ip6 to [\(address)]:\(port.containerPort)" : "ip to \(address):\(port.containerPort)"
                let match: String
                if let hostIP = port.hostIP {
                    guard hostIP.isIPv6 == address.isIPv6 else { continue }
                    match = hostIP.isIPv6 ? "ip6 daddr \(hostIP)" : "ip daddr \(hostIP)"
                } else {
                    match = address.isIPv6 ? "meta nfproto ipv6" : "meta nfproto ipv4"
                }
                commands.append("add rule \(t) hostports \(match) \(l4) dnat \(target) \(comment)")
            }
        }
        guard !commands.isEmpty else { return }
        _ = try run(commands.joined(separator: "\n"))
    }

    /// A rule as listed: chain, handle and owner comment.
    struct Rule: Hashable {
        var chain: String
        var handle: Int
        var comment: String?
    }

    /// Every rule of the table (none when the table does not exist).
    func rules() throws(NetworkError) -> [Rule] {
        guard try exists() else { return [] }
        return try objects(try run("list table inet \(table)", json: true), "rule").compactMap { rule in
            guard let chain = rule["chain"] as? String, let handle = rule["handle"] as? Int else { return nil }
            return Rule(chain: chain, handle: handle, comment: rule["comment"] as? String)
        }
    }

    /// Removes every rule whose comment is `owner`; returns how many.
    @discardableResult
    func removeRules(owner: String) throws(NetworkError) -> Int {
        try removeRules(where: { $0.comment == owner })
    }

    /// Removes every rule that matches; returns how many.
    func removeRules(where matches: (Rule) -> Bool) throws(NetworkError) -> Int {
        let doomed = try rules().filter(matches)
        guard !doomed.isEmpty else { return 0 }
        _ = try run(doomed.map { "delete rule inet \(table) \($0.chain) handle \($0.handle)" }.joined(separator: "\n"))
        return doomed.count
    }

    /// The table as `nft list table` prints it (empty when it does not exist).
    func listing() throws(NetworkError) -> String {
        guard try exists() else { return "" }
        return try run("list table inet \(table)")
    }

    /// Deletes the table if it holds no rule and no bridge (no network of any store that
    /// uses it is left); true if it was deleted.
    @discardableResult
    func deleteTableIfUnused() throws(NetworkError) -> Bool {
        guard try exists() else { return false }
        let rules = try objects(try run("list table inet \(table)", json: true), "rule")
        let bridges = try objects(try run("list set inet \(table) bridges", json: true), "set").first?["elem"] as? [Any] ?? []
        // The skeleton's own jumps to hostports carry no owner; every other rule does.
        let owned = rules.filter { $0["comment"] is String }
        guard owned.isEmpty, bridges.isEmpty else { return false }
        _ = try run("delete table inet \(table)")
        return true
    }

    /// Deletes the whole table; true if it existed.
    @discardableResult
    func deleteTable() throws(NetworkError) -> Bool {
        guard try exists() else { return false }
        _ = try run("delete table inet \(table)")
        return true
    }

    /// The objects of kind `key` in a libnftables JSON listing.
    private func objects(_ listing: String, _ key: String) throws(NetworkError) -> [[String: Any]] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(listing.utf8))
        } catch {
            throw NetworkError(.firewall, "nftables table inet \(table): unreadable JSON listing: \(error)")
        }
        let items = (parsed as? [String: Any])?["nftables"] as? [[String: Any]] ?? []
        return items.compactMap { $0[key] as? [String: Any] }
    }
}
