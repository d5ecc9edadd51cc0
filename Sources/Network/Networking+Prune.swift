import Foundation

extension Networking {
    /// Finds and removes what containers that are gone left behind — after a crash of the
    /// process that attached them, or a reboot: attachments of containers not in
    /// `liveContainers`, then anything no remaining attachment owns (namespace files,
    /// CNI results (DEL is run for them), slirp4netns processes and their sockets, veths
    /// named with ``interfacePrefix`` on this store's bridges, `ctr:` rules of this store's
    /// firewall table, address allocations, /etc directories). Bridges come back as they were needed (a later attach sets up
    /// a network whose bridge or rules are missing).
    /// - Parameter liveContainers: ids of containers that exist (e.g. the Sandbox runtime's list).
    /// - Returns: what was removed.
    /// - Throws: the first failure; prune goes on past failures and can be run again.
    public func prune(liveContainers: Set<String>) async throws(NetworkError) -> PruneReport {
        try await blocking { [self] () throws(NetworkError) -> PruneReport in
            try store.locked { () throws(NetworkError) -> PruneReport in
                var report = PruneReport()
                var first: NetworkError?
                func step(_ body: () throws(NetworkError) -> Void) {
                    do { try body() } catch { if first == nil { first = error } }
                }
                for attachment in try store.attachments() where !liveContainers.contains(attachment.containerID) {
                    step { () throws(NetworkError) in
                        try release(attachment)
                        report.attachments.append(attachment.containerID)
                    }
                }
                let kept = try store.attachments()
                let keptIDs = Set(kept.map(\.containerID))
                let keptNamespaces = Set(kept.compactMap { $0.ownsNamespace ? $0.namespacePath : nil })
                for name in (try? FileManager.default.contentsOfDirectory(atPath: store.netnsDirectory)) ?? [] {
                    let path = store.netnsPath(name)
                    guard !keptNamespaces.contains(path) else { continue }
                    step { () throws(NetworkError) in
                        if try NetworkNamespace.remove(at: path) { report.namespaces.append(path) }
                    }
                }
                // CNI results cached for containers without an attachment (a DEL that failed,
                // a record lost): DEL them as libcni's cache allows.
                for entry in try CNINetwork.cachedEntries(store) where !keptIDs.contains(entry.containerId) {
                    step { () throws(NetworkError) in
                        try deleteCNI(entry, reference: "cni:\(entry.networkName)")
                        report.cniResults.append("\(entry.networkName)/\(entry.containerId)")
                    }
                }
                let keptInterfaces = Set(kept.compactMap(\.hostInterface))
                step { () throws(NetworkError) in
                    let socket = try RouteSocket()
                    let links = try socket.links()
                    // Only veths on this store's bridges (or on none, their bridge gone):
                    // another store's veths share the prefix but hang off its own bridges.
                    let bridges = Set(try store.networks().map(\.bridge))
                    let ours = Set(links.filter { bridges.contains($0.name) }.map(\.index))
                    for link in links where link.kind == "veth" && link.name.hasPrefix(interfacePrefix)
                        && !keptInterfaces.contains(link.name) && (link.master == 0 || ours.contains(link.master)) {
                        if try socket.deleteLink(link.name) { report.interfaces.append(link.name) }
                    }
                }
                step { () throws(NetworkError) in
                    report.processes = try pruneSlirp(keeping: keptIDs)
                }
                // nftables needs CAP_NET_ADMIN; an unprivileged user's store (slirp4netns
                // only) has no rules to look for.
                if geteuid() == 0 {
                    step { () throws(NetworkError) in
                        report.rules = try firewall.removeRules { rule in
                            guard let comment = rule.comment, comment.hasPrefix("ctr:") else { return false }
                            return !keptIDs.contains(String(comment.dropFirst(4)))
                        }
                    }
                }
                for network in try store.networks() {
                    step { () throws(NetworkError) in
                        report.addresses += try AddressAllocator(store: store, network: network.name).release { !keptIDs.contains($0) }
                    }
                }
                for name in (try? FileManager.default.contentsOfDirectory(atPath: store.etcRoot)) ?? [] where !keptIDs.contains(name) {
                    let path = store.etcDirectory(name)
                    step { () throws(NetworkError) in
                        if try EtcFiles.remove(path) { report.etcDirectories.append(path) }
                    }
                }
                if let first { throw first }
                if !report.isEmpty { logger.info("pruned network leftovers", metadata: ["report": "\(report)"]) }
                return report
            }
        }
    }
}
