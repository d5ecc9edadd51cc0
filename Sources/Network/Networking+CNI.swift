import Foundation

extension Networking {
    /// The configuration list a ``NetworkMode/cni(_:)`` names: an absolute path to a
    /// file, or a network name looked up in ``cniConfigDirectory``.
    func cniList(_ reference: String) throws(NetworkError) -> CNIConfigurationList {
        if reference.hasPrefix("/") { return try CNIConfigurationList.load(path: reference) }
        try CNIConfigurationList.checkName(reference, what: "CNI network reference")
        return try CNIConfigurationList.find(named: reference, in: cniConfigDirectory)
    }

    /// Creates the container's namespace and runs ADD through the list; fills the
    /// attachment's addresses, gateways and result. On failure the plugins have run DEL;
    /// the caller releases the rest (namespace, record).
    func realiseCNI(_ attachment: inout NetworkAttachment, _ network: CNINetwork, options: AttachOptions) throws(NetworkError) {
        guard let path = attachment.namespacePath, let details = attachment.cni else { return }
        try NetworkNamespace.create(at: path)
        logger.debug("created network namespace", metadata: ["container": "\(attachment.containerID)", "step": "namespace"])
        var invocation = CNINetwork.Invocation(containerID: attachment.containerID, namespacePath: path,
                                               interfaceName: details.interfaceName)
        invocation.arguments = options.cniArguments.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        if !options.ports.isEmpty {
            invocation.capabilityArguments["portMappings"] = .array(options.ports.map(\.cniValue))
        }
        let result = try network.add(invocation)
        attachment.cni?.result = result
        // The container's own addresses: those on an interface in its namespace (or on no
        // interface in particular, as an IPAM-only result gives them).
        let inside = Set(result.interfaces.indices.filter { result.interfaces[$0].sandbox?.isEmpty == false })
        let own = result.ips.filter { $0.interface.map(inside.contains) ?? true }
        attachment.addresses = own.map(\.address)
        var gateways: [IPAddress] = []
        for gateway in own.compactMap(\.gateway) where !gateways.contains(gateway) { gateways.append(gateway) }
        attachment.gateways = gateways
        logger.debug("ran CNI ADD", metadata: ["container": "\(attachment.containerID)", "step": "cni",
                                              "network": "\(network.list.name)", "addresses": "\(attachment.addresses)"])
    }

    /// Runs DEL for a CNI attachment with the cached list and result; nothing when no ADD
    /// ever started (no cache entry).
    func deleteCNI(_ attachment: NetworkAttachment) throws(NetworkError) {
        guard let details = attachment.cni,
              let entry = try CNINetwork.cached(store, network: details.network, containerID: attachment.containerID,
                                                interfaceName: details.interfaceName) else { return }
        try deleteCNI(entry, reference: attachment.mode.description)
    }

    /// Runs DEL for a cache entry.
    func deleteCNI(_ entry: CNINetwork.CacheEntry, reference: String) throws(NetworkError) {
        let list = try CNIConfigurationList(data: entry.config, source: "cached for \(reference)")
        let network = CNINetwork(list: list, pluginDirectories: cniPluginDirectories, store: store)
        try network.delete(CNINetwork.Invocation(entry), previous: entry.result)
        logger.debug("ran CNI DEL", metadata: ["container": "\(entry.containerId)", "network": "\(entry.networkName)"])
    }

    /// Checks that a container's networking is as attach left it. In CNI mode this runs
    /// CHECK through the plugins with the cached ADD result (CNI 0.4.0 and later); in
    /// slirp4netns mode it looks for the slirp4netns process and its API socket; in the
    /// other modes for the namespace, the host-side veth and the port rules.
    /// - Parameter containerID: the container id.
    /// - Throws: ``NetworkError`` `notFound` naming what is missing (or the container
    ///   not being attached), `plugin` with a plugin's complaint, `invalidArgument` when
    ///   the CNI list has no CHECK or disables it.
    public func check(containerID: String) async throws(NetworkError) {
        try await blocking { [self] () throws(NetworkError) in
            try Names.check(containerID, what: "container id", max: 100)
            try store.locked { () throws(NetworkError) in
                guard let attachment = try store.attachment(containerID) else {
                    throw NetworkError(.notFound, "container \"\(containerID)\" is not attached")
                }
                if attachment.ownsNamespace, let path = attachment.namespacePath, !NetworkNamespace.isMounted(path) {
                    throw NetworkError(.notFound, "container \"\(containerID)\": its network namespace \(path) is gone")
                }
                if let details = attachment.cni {
                    guard let entry = try CNINetwork.cached(store, network: details.network, containerID: containerID,
                                                            interfaceName: details.interfaceName),
                          let result = entry.result else {
                        throw NetworkError(.notFound, "container \"\(containerID)\": no cached ADD result for CNI network \"\(details.network)\"")
                    }
                    let list = try CNIConfigurationList(data: entry.config, source: "cached for \(attachment.mode)")
                    try CNINetwork(list: list, pluginDirectories: cniPluginDirectories, store: store)
                        .check(CNINetwork.Invocation(entry), previous: result)
                    return
                }
                if attachment.mode.isSlirp {
                    guard let slirp = attachment.slirp, let pid = slirp.pid else {
                        throw NetworkError(.notFound, "container \"\(containerID)\": slirp4netns was not started (connect(containerID:pid:networkNamespace:))")
                    }
                    guard SlirpProcess.startTime(of: pid) == slirp.startTime, FileManager.default.fileExists(atPath: slirp.apiSocket) else {
                        throw NetworkError(.notFound, "container \"\(containerID)\": its slirp4netns (pid \(pid)) is gone")
                    }
                    return
                }
                if let veth = attachment.hostInterface, try RouteSocket().index(of: veth) == nil {
                    throw NetworkError(.notFound, "container \"\(containerID)\": its veth \(veth) is gone")
                }
                if !attachment.ports.isEmpty, !(try firewall.rules().contains { $0.comment == "ctr:\(containerID)" }) {
                    throw NetworkError(.notFound, "container \"\(containerID)\": the rules publishing \(attachment.ports) are gone from table inet \(firewallTable)")
                }
            }
        }
    }
}

extension NetworkMode {
    /// True for ``cni(_:)``.
    var isCNI: Bool {
        if case .cni = self { return true }
        return false
    }

    /// True for ``slirp4netns(_:)``.
    var isSlirp: Bool {
        if case .slirp4netns = self { return true }
        return false
    }
}
