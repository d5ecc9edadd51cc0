import Foundation

extension Networking {
    /// Finds and removes what containers that are gone left behind — after a crash of the
    /// process that attached them, or a reboot: attachments of containers not in
    /// `liveContainers`, then anything no remaining attachment owns (namespace files,
    /// veths named with ``interfacePrefix``, `ctr:` firewall rules, address allocations,
    /// /etc directories). Bridges come back as they were needed (a later attach sets up
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
                let keptInterfaces = Set(kept.compactMap(\.hostInterface))
                step { () throws(NetworkError) in
                    let socket = try RouteSocket()
                    for link in try socket.links() where link.kind == "veth" && link.name.hasPrefix(interfacePrefix)
                        && !keptInterfaces.contains(link.name) {
                        if try socket.deleteLink(link.name) { report.interfaces.append(link.name) }
                    }
                }
                step { () throws(NetworkError) in
                    report.rules = try firewall.removeRules { rule in
                        guard let comment = rule.comment, comment.hasPrefix("ctr:") else { return false }
                        return !keptIDs.contains(String(comment.dropFirst(4)))
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
