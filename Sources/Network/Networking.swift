import Foundation
import Glibc
import Logging
import Synchronization

/// Container networking on one host: bridge networks, and per-container attachments in
/// the modes podman offers (`none`, `host`, `container:ID`, a namespace path, a bridge,
/// CNI, and slirp4netns for rootless containers).
///
/// Like podman with netavark, it creates a named network namespace per container
/// (bind-mounted under `runRoot/netns/<id>`), configures it over rtnetlink (veth pair,
/// addresses, routes, loopback), publishes ports with nftables rules in a table of its own,
/// writes /etc/hosts, /etc/hostname and /etc/resolv.conf, and returns the spec changes
/// (``NetworkAttachment/apply(to:)``): the container joins the namespace by path.
///
/// All state lives in files under `stateRoot` and `runRoot`, changed under one file lock,
/// so several processes (and a process restarted after a crash) share it; ``prune(liveContainers:)``
/// removes what a crashed process left behind. Calls that change anything are `async`:
/// their netlink, nftables and locking work runs on a thread of its own, off the
/// cooperative pool; none waits on a container.
public final class Networking: Sendable {
    /// Where network settings, address allocations and attachment records are kept.
    public let stateRoot: String
    /// Where namespace files and generated /etc files are kept (a tmpfs such as /run).
    public let runRoot: String
    /// The nftables table (family `inet`) holding every rule of this store's networks and
    /// containers. One per store: several stores (engines over other roots) on one host
    /// never touch each other's rules.
    public let firewallTable: String
    /// The prefix of host-side veth names; prune treats links with it, on this store's
    /// bridges, as Caisson's.
    public let interfacePrefix: String
    /// Where ``NetworkMode/cni(_:)`` looks a network name up (`*.conflist`, `*.conf`, `*.json`).
    public let cniConfigDirectory: String
    /// Where CNI plugin executables are found, in order (passed to them as `CNI_PATH`).
    public let cniPluginDirectories: [String]

    let store: StateStore
    let firewall: Firewall
    let etc: EtcFiles
    let logger: Logger

    /// The state root of the standard install (`Engine`'s default), whose table keeps the
    /// plain name `caisson`.
    public static let defaultStateRoot = "/var/lib/caisson/network"

    /// Creates a handle on the networking state under the given roots (nothing is
    /// created on the system until a network or attachment is).
    /// - Parameters:
    ///   - stateRoot: persistent state (network settings, IPAM, attachment records, CNI results).
    ///   - runRoot: runtime files (namespace bind mounts, /etc files).
    ///   - firewallTable: the nftables `inet` table to use; nil: one named after the store
    ///     (``defaultFirewallTable(stateRoot:)``). Two stores must not share one.
    ///   - interfacePrefix: prefix of host-side veth names (1...6 characters).
    ///   - cniConfigDirectory: where CNI network names are looked up.
    ///   - cniPluginDirectories: where CNI plugins are found (Debian's, then the upstream default).
    ///   - logger: where setup and cleanup steps are logged.
    /// - Throws: ``NetworkError/Code/invalidArgument`` for a bad table name or prefix.
    public init(stateRoot: String = Networking.defaultStateRoot, runRoot: String = "/run/caisson/network",
                firewallTable: String? = nil, interfacePrefix: String = "caiv",
                cniConfigDirectory: String = "/etc/cni/net.d", cniPluginDirectories: [String] = ["/usr/lib/cni", "/opt/cni/bin"],
                logger: Logger = Logger(label: "caisson.network", factory: { _ in SwiftLogNoOpLogHandler() })) throws(NetworkError) {
        let table = firewallTable ?? Self.defaultFirewallTable(stateRoot: stateRoot)
        try Names.check(table, what: "firewall table", max: 64)
        try Names.check(interfacePrefix, what: "interface prefix", max: 6)
        self.stateRoot = stateRoot
        self.runRoot = runRoot
        self.firewallTable = table
        self.interfacePrefix = interfacePrefix
        self.cniConfigDirectory = cniConfigDirectory
        self.cniPluginDirectories = cniPluginDirectories
        self.store = StateStore(stateRoot: stateRoot, runRoot: runRoot)
        self.firewall = Firewall(table: table)
        self.etc = EtcFiles()
        self.logger = logger
    }

    /// The firewall table of a store: `caisson` for ``defaultStateRoot``, else
    /// `caisson_` and a hash of the state root (so `nft list tables` tells stores apart
    /// and each store's cleanup stays within its own table).
    /// - Parameter stateRoot: the store's state root.
    /// - Returns: the table name.
    public static func defaultFirewallTable(stateRoot: String) -> String {
        var root = Substring(stateRoot)
        while root.count > 1, root.hasSuffix("/") { root = root.dropLast() }
        if root == defaultStateRoot { return "caisson" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in root.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "caisson_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: Networks

    /// Defines a bridge network and sets it up (bridge device, gateway addresses,
    /// forwarding, firewall rules).
    /// - Parameter network: the settings.
    /// - Throws: ``NetworkError`` — `alreadyExists` for a taken name, bridge or overlapping
    ///   subnet, `invalidArgument` for bad settings, `system`/`firewall` if setup fails.
    public func createNetwork(_ network: BridgeNetwork) async throws(NetworkError) {
        try await blocking { [self] () throws(NetworkError) in
            try network.validate()
            try store.locked { () throws(NetworkError) in
                for other in try store.networks() {
                    if other.name == network.name {
                        throw NetworkError(.alreadyExists, "network \"\(network.name)\" exists already")
                    }
                    if other.bridge == network.bridge {
                        throw NetworkError(.alreadyExists, "network \"\(network.name)\": bridge \(network.bridge) belongs to network \"\(other.name)\"")
                    }
                    let clash = other.subnet.overlaps(network.subnet)
                        || (other.subnet6 != nil && network.subnet6 != nil && other.subnet6!.overlaps(network.subnet6!))
                    if clash {
                        throw NetworkError(.alreadyExists, "network \"\(network.name)\": subnet overlaps network \"\(other.name)\"")
                    }
                }
                let socket = try RouteSocket()
                if try socket.index(of: network.bridge) != nil {
                    throw NetworkError(.alreadyExists, "network \"\(network.name)\": a link named \(network.bridge) exists already")
                }
                try store.save(network)
                do throws(NetworkError) {
                    try setUp(network, socket: socket)
                } catch {
                    try? tearDown(network, socket: socket)
                    try? store.remove("\(store.networksDirectory)/\(network.name).json")
                    throw error
                }
            }
        }
    }

    /// The settings of a network.
    /// - Parameter name: the network's name.
    /// - Returns: the settings, or nil if there is no such network.
    public func network(named name: String) throws(NetworkError) -> BridgeNetwork? {
        try Names.check(name, what: "network name", max: 64)
        return try store.network(name)
    }

    /// Every defined network, by name.
    public func networks() throws(NetworkError) -> [BridgeNetwork] {
        try store.networks()
    }

    /// Removes a network: its bridge, firewall rules, allocations and settings. The
    /// firewall table goes when nothing is left in it (no rule and no bridge of any
    /// network, also of another store that was given the same table).
    /// - Parameter name: the network's name.
    /// - Throws: `notFound`, or `inUse` while containers are attached to it.
    public func removeNetwork(named name: String) async throws(NetworkError) {
        try await blocking { [self] () throws(NetworkError) in
            try Names.check(name, what: "network name", max: 64)
            try store.locked { () throws(NetworkError) in
                guard let network = try store.network(name) else {
                    throw NetworkError(.notFound, "network \"\(name)\" does not exist")
                }
                let users = try store.attachments().filter { $0.mode == .bridge(name) }.map(\.containerID)
                guard users.isEmpty else {
                    throw NetworkError(.inUse, "network \"\(name)\" has containers attached: \(users.joined(separator: ", "))")
                }
                try tearDown(network, socket: try RouteSocket())
                try AddressAllocator(store: store, network: name).destroy()
                try store.remove("\(store.networksDirectory)/\(name).json")
                try firewall.deleteTableIfUnused()
                logger.info("removed network", metadata: ["network": "\(name)"])
            }
        }
    }

    /// Creates what a network needs on the host if it is missing (after a reboot or a
    /// firewall flush the settings survive but the bridge and rules do not).
    func setUp(_ network: BridgeNetwork, socket: borrowing RouteSocket) throws(NetworkError) {
        if try socket.index(of: network.bridge) == nil {
            try socket.addBridge(network.bridge, mtu: network.mtu)
            let index = try socket.requireIndex(of: network.bridge)
            try socket.addAddress(network.subnet.gateway, prefixLength: network.subnet.prefixLength, index: index, name: network.bridge)
            if let subnet6 = network.subnet6 {
                try socket.addAddress(subnet6.gateway, prefixLength: subnet6.prefixLength, index: index, name: network.bridge)
            }
            try socket.setUp(index, name: network.bridge)
            // Published ports reached on 127.0.0.1 leave through the bridge with a loopback
            // source before masquerade rewrites it; the kernel drops that unless allowed.
            try NetworkNamespace.writeSysctl("/proc/sys/net/ipv4/conf/\(network.bridge)/route_localnet", "1")
            logger.info("created bridge", metadata: ["network": "\(network.name)", "bridge": "\(network.bridge)"])
        }
        // Routing between the bridge and the outside (and DNAT'ed traffic) needs forwarding,
        // as with podman and docker.
        if (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8))?.hasPrefix("1") != true {
            try NetworkNamespace.writeSysctl("/proc/sys/net/ipv4/ip_forward", "1")
        }
        if !(try firewall.rules().contains { $0.comment == "net:\(network.name)" }) {
            try firewall.addNetwork(network)
        }
    }

    private func tearDown(_ network: BridgeNetwork, socket: borrowing RouteSocket) throws(NetworkError) {
        try socket.deleteLink(network.bridge)
        try firewall.removeNetwork(network)
    }

    // MARK: Attachments

    /// Connects a container: creates and configures its network namespace (unless it
    /// joins one or uses the host's), publishes its ports, writes its /etc files, and
    /// records all of it. Apply the result to the container's spec before creating it.
    /// - Parameters:
    ///   - containerID: the container id (letters, digits, `-`, `_`, `.`; at most 100).
    ///   - mode: how to connect it.
    ///   - options: hostname, published ports, DNS settings.
    /// - Returns: the attachment, with the spec changes.
    /// - Throws: `alreadyExists` if the container is attached, `notFound` for an unknown
    ///   network or container to join, `portInUse` when another container publishes a
    ///   requested host port, `exhausted` when the subnet is full, `system`/`firewall`.
    ///   Nothing stays set up when it throws.
    public func attach(containerID: String, mode: NetworkMode, options: AttachOptions = AttachOptions()) async throws(NetworkError) -> NetworkAttachment {
        try await blocking { [self] () throws(NetworkError) -> NetworkAttachment in
            try Names.check(containerID, what: "container id", max: 100)
            return try store.locked { () throws(NetworkError) -> NetworkAttachment in
                guard try store.attachment(containerID) == nil else {
                    throw NetworkError(.alreadyExists, "container \"\(containerID)\" is attached already")
                }
                if !options.ports.isEmpty {
                    switch mode {
                    case .bridge, .cni, .slirp4netns: break
                    default:
                        throw NetworkError(.invalidArgument, "container \"\(containerID)\": ports are published only in bridge, CNI and slirp4netns modes, not \(mode)")
                    }
                    try checkPorts(options.ports, containerID: containerID)
                }
                var attachment = NetworkAttachment(
                    containerID: containerID, mode: mode, namespacePath: nil, ownsNamespace: false, hostInterface: nil,
                    containerInterface: nil, addresses: [], gateways: [], ports: options.ports,
                    hostname: options.hostname ?? String(containerID.prefix(12)), etcDirectory: store.etcDirectory(containerID))
                var network: BridgeNetwork?
                var cniNetwork: CNINetwork?
                switch mode {
                case .host:
                    attachment.hostname = options.hostname ?? Self.hostHostname()
                case .none:
                    attachment.namespacePath = store.netnsPath(containerID)
                    attachment.ownsNamespace = true
                case .namespacePath(let path):
                    guard path.hasPrefix("/") else {
                        throw NetworkError(.invalidArgument, "container \"\(containerID)\": namespace path \"\(path)\" must be absolute")
                    }
                    guard NetworkNamespace.isMounted(path) || path.hasPrefix("/proc/") else {
                        throw NetworkError(.notFound, "container \"\(containerID)\": \(path) is not a network namespace")
                    }
                    attachment.namespacePath = path
                case .container(let other):
                    guard let target = try store.attachment(other), let path = target.namespacePath else {
                        throw NetworkError(.notFound, "container \"\(containerID)\": no attached container \"\(other)\" with a namespace to join")
                    }
                    attachment.namespacePath = path
                    attachment.addresses = target.addresses
                    attachment.hostname = options.hostname ?? target.hostname
                case .bridge(let name):
                    guard let settings = try store.network(name) else {
                        throw NetworkError(.notFound, "container \"\(containerID)\": network \"\(name)\" does not exist")
                    }
                    if settings.subnet6 == nil, let port = options.ports.first(where: { $0.hostIP?.isIPv6 == true }) {
                        throw NetworkError(.invalidArgument,
                                           "container \"\(containerID)\": port \(port) has an IPv6 host address but network \"\(name)\" has no IPv6 subnet")
                    }
                    network = settings
                    attachment.namespacePath = store.netnsPath(containerID)
                    attachment.ownsNamespace = true
                    attachment.hostInterface = vethName(for: containerID)
                    attachment.containerInterface = "eth0"
                    let allocator = AddressAllocator(store: store, network: name)
                    attachment.addresses.append(try allocator.allocate(in: settings.subnet, for: containerID))
                    attachment.gateways.append(settings.subnet.gateway)
                    if let subnet6 = settings.subnet6 {
                        do throws(NetworkError) {
                            attachment.addresses.append(try allocator.allocate(in: subnet6, for: containerID))
                        } catch {
                            _ = try? allocator.release(containerID)
                            throw error
                        }
                        attachment.gateways.append(subnet6.gateway)
                    }
                case .slirp4netns(let slirp):
                    // Checked here so a bad setting or a missing slirp4netns fails before
                    // the container is created; slirp4netns itself starts in connect.
                    try slirp.validate()
                    _ = try SlirpProcess.executable()
                    if let port = options.ports.first(where: { $0.hostIP?.isIPv6 == true }) {
                        throw NetworkError(.invalidArgument, "container \"\(containerID)\": port \(port): slirp4netns forwards IPv4 host addresses only")
                    }
                    attachment.containerInterface = SlirpProcess.tapDevice
                    attachment.addresses = [slirp.containerAddress]
                    attachment.gateways = [slirp.gateway]
                case .cni(let reference):
                    let list = try cniList(reference)
                    // SPEC.md: a container id starts with a letter or digit.
                    try CNIConfigurationList.checkName(containerID, what: "container \"\(containerID)\" on \(list.label)")
                    if !options.ports.isEmpty, !list.plugins.contains(where: { $0.capabilities.contains("portMappings") }) {
                        throw NetworkError(.invalidArgument,
                                           "container \"\(containerID)\": \(list.label) has no plugin with the portMappings capability to publish \(options.ports)")
                    }
                    cniNetwork = CNINetwork(list: list, pluginDirectories: cniPluginDirectories, store: store)
                    attachment.namespacePath = store.netnsPath(containerID)
                    attachment.ownsNamespace = true
                    attachment.containerInterface = "eth0"
                    attachment.cni = NetworkAttachment.CNIDetails(network: list.name, interfaceName: "eth0", result: nil)
                }
                // Recorded before anything is created, so a crash in between leaves a record
                // that prune can follow.
                try store.save(attachment)
                do throws(NetworkError) {
                    if let cniNetwork {
                        try realiseCNI(&attachment, cniNetwork, options: options)
                        try store.save(attachment)
                    }
                    try realise(attachment, network: network, options: options)
                } catch {
                    try? release(attachment)
                    throw error
                }
                logger.info("attached container", metadata: ["container": "\(containerID)", "mode": "\(mode)",
                                                             "addresses": "\(attachment.addresses)"])
                return attachment
            }
        }
    }

    /// Creates what the record describes.
    private func realise(_ attachment: NetworkAttachment, network: BridgeNetwork?, options: AttachOptions) throws(NetworkError) {
        if attachment.ownsNamespace, attachment.cni == nil, let path = attachment.namespacePath {
            try NetworkNamespace.create(at: path)
            logger.debug("created network namespace", metadata: ["container": "\(attachment.containerID)", "step": "namespace"])
        }
        if let network, let path = attachment.namespacePath, let veth = attachment.hostInterface,
           let inside = attachment.containerInterface {
            let host = try RouteSocket()
            try setUp(network, socket: host)
            let bridge = try host.requireIndex(of: network.bridge)
            try NetworkNamespace.withDescriptor(path) { (nsfd: Int32) throws(NetworkError) in
                try host.addVeth(veth, peer: inside, peerNamespaceFD: nsfd, mtu: network.mtu, master: bridge)
                logger.debug("created veth", metadata: ["container": "\(attachment.containerID)", "step": "veth", "veth": "\(veth)"])
                try host.setUp(try host.requireIndex(of: veth), name: veth)
                let container = try RouteSocket(namespaceFD: nsfd, owner: "container \"\(attachment.containerID)\"")
                let index = try container.requireIndex(of: inside)
                for address in attachment.addresses {
                    let subnet = address.isIPv6 ? network.subnet6! : network.subnet
                    try container.addAddress(address, prefixLength: subnet.prefixLength, index: index, name: inside)
                }
                try container.setUp(index, name: inside)
                for gateway in attachment.gateways {
                    try container.addDefaultRoute(via: gateway, index: index, name: inside)
                }
            }
            try firewall.addPorts(attachment.ports, containerID: attachment.containerID, addresses: attachment.addresses)
            if !attachment.ports.isEmpty {
                logger.debug("published ports", metadata: ["container": "\(attachment.containerID)", "step": "ports"])
            }
        }
        let hostMode = attachment.mode == .host
        let hosts = etc.hostsFile(hostname: attachment.hostname, addresses: attachment.addresses,
                                  extra: options.extraHosts, hostMode: hostMode)
        // A CNI result's DNS settings (when a plugin gave any) stand in for the host's.
        let dns = attachment.cni?.result?.dns
        var servers = options.dnsServers ?? dns.flatMap { $0.nameservers.isEmpty ? nil : $0.nameservers.compactMap(IPAddress.init) }
        if servers == nil, case .slirp4netns(let slirp) = attachment.mode {
            // slirp4netns's DNS forwarder, which reaches the host's name servers even when
            // they are loopback ones (systemd-resolved's 127.0.0.53).
            servers = [slirp.nameserver] + (slirp.enableIPv6 ? [IPAddress("fd00::3")!] : [])
        }
        let search = options.dnsSearch ?? dns.flatMap { $0.search.isEmpty ? nil : $0.search }
        let resolv = etc.resolvConf(servers: servers, search: search, hostMode: hostMode)
        try etc.write(to: attachment.etcDirectory, hostname: attachment.hostname, hosts: hosts, resolvConf: resolv)
    }

    /// Undoes an attachment, step by step, going on past failures; throws the first.
    func release(_ attachment: NetworkAttachment) throws(NetworkError) {
        var first: NetworkError?
        func step(_ body: () throws(NetworkError) -> Void) {
            do { try body() } catch { if first == nil { first = error } }
        }
        // Deleting a veth and committing an nftables deletion each wait for an RCU grace
        // period in the kernel (~15-20 ms); the port rules go on a second thread so the
        // two waits overlap.
        // (In CNI mode the portmap plugin holds the port rules; its DEL removes them. In
        // slirp4netns mode slirp4netns holds the ports; they go with it.)
        let rules = attachment.ports.isEmpty || attachment.cni != nil || attachment.mode.isSlirp ? nil : ConcurrentStep { [firewall] () throws(NetworkError) in
            try firewall.removeRules(owner: "ctr:\(attachment.containerID)")
        }
        if attachment.slirp != nil {
            step { () throws(NetworkError) in try stopSlirp(attachment) }
        }
        if attachment.cni != nil || attachment.mode.isCNI {
            // Before the namespace goes: the plugins delete what they made inside it.
            step { () throws(NetworkError) in try deleteCNI(attachment) }
        }
        if let veth = attachment.hostInterface {
            step { () throws(NetworkError) in try RouteSocket().deleteLink(veth) }
        }
        if attachment.ownsNamespace, let path = attachment.namespacePath {
            step { () throws(NetworkError) in try NetworkNamespace.remove(at: path) }
        }
        if let rules {
            step { () throws(NetworkError) in try rules.wait() }
        }
        if case .bridge(let name) = attachment.mode {
            step { () throws(NetworkError) in try AddressAllocator(store: store, network: name).release(attachment.containerID) }
        }
        step { () throws(NetworkError) in try EtcFiles.remove(attachment.etcDirectory) }
        if let first { throw first }
        try store.removeAttachment(attachment.containerID)
    }

    /// Disconnects a container: removes its veth, namespace, port rules and /etc files
    /// and releases its addresses. Containers that joined its namespace keep it until they exit.
    /// - Parameter containerID: the container id.
    /// - Returns: false when the container was not attached.
    @discardableResult
    public func detach(containerID: String) async throws(NetworkError) -> Bool {
        try await blocking { [self] () throws(NetworkError) -> Bool in
            try Names.check(containerID, what: "container id", max: 100)
            return try store.locked { () throws(NetworkError) -> Bool in
                guard let attachment = try store.attachment(containerID) else { return false }
                try release(attachment)
                logger.info("detached container", metadata: ["container": "\(containerID)"])
                return true
            }
        }
    }

    /// A container's attachment.
    /// - Parameter containerID: the container id.
    /// - Returns: the attachment, or nil when it is not attached.
    public func attachment(containerID: String) throws(NetworkError) -> NetworkAttachment? {
        try Names.check(containerID, what: "container id", max: 100)
        return try store.attachment(containerID)
    }

    /// Every recorded attachment.
    public func attachments() throws(NetworkError) -> [NetworkAttachment] {
        try store.attachments()
    }

    /// The firewall table as `nft list table inet <table>` prints it (empty if absent).
    public func firewallListing() throws(NetworkError) -> String {
        try firewall.listing()
    }

    /// Deletes the whole firewall table, every network's and container's rules with it.
    /// The next attach to a network re-creates that network's rules (not the port rules
    /// of containers already attached: detach and attach them again).
    /// - Returns: true if the table existed.
    @discardableResult
    public func deleteFirewallTable() async throws(NetworkError) -> Bool {
        try await blocking { [self] () throws(NetworkError) -> Bool in
            try store.locked { () throws(NetworkError) -> Bool in try firewall.deleteTable() }
        }
    }

    /// Refuses ports claimed twice in the request or by another container.
    private func checkPorts(_ ports: [PortMapping], containerID: String) throws(NetworkError) {
        for (i, port) in ports.enumerated() {
            if let twin = ports[..<i].first(where: { $0.conflicts(with: port) }) {
                throw NetworkError(.portInUse, "container \"\(containerID)\": port \(port) clashes with \(twin) in the same request")
            }
        }
        for other in try store.attachments() {
            for theirs in other.ports {
                if let mine = ports.first(where: { $0.conflicts(with: theirs) }) {
                    throw NetworkError(.portInUse,
                                       "container \"\(containerID)\": host port \(mine.hostPort)/\(mine.transport.rawValue) is already published by container \"\(other.containerID)\" (\(theirs))")
                }
            }
        }
    }

    /// The host-side veth name: the prefix and a hash of the store and the id, within
    /// IFNAMSIZ (two stores may each have a container of the same id).
    func vethName(for containerID: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stateRoot.utf8 + [0] + containerID.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        let padded = String(repeating: "0", count: 16 - hex.count) + hex
        return interfacePrefix + padded.prefix(15 - interfacePrefix.count)
    }

    /// Runs `body` on a thread of its own: netlink, nftables commits (which wait for RCU
    /// grace periods) and the state lock block, and must not hold a cooperative thread.
    func blocking<R: Sendable>(_ body: @escaping @Sendable () throws(NetworkError) -> R) async throws(NetworkError) -> R {
        let result: Result<R, NetworkError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                do throws(NetworkError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = "caisson.network"
            thread.start()
        }
        return try result.get()
    }

    /// A blocking step run on a thread of its own while the caller does another.
    final class ConcurrentStep: Sendable {
        private let outcome = Mutex<NetworkError??>(nil)
        private let done = DispatchSemaphore(value: 0)

        init(_ body: @escaping @Sendable () throws(NetworkError) -> Void) {
            let thread = Thread { [self] in
                var failure: NetworkError?
                do throws(NetworkError) { try body() } catch { failure = error }
                let result = failure
                outcome.withLock { $0 = .some(result) }
                done.signal()
            }
            thread.name = "caisson.network.step"
            thread.start()
        }

        /// Waits for the step; throws what it threw.
        func wait() throws(NetworkError) {
            done.wait()
            if let error = outcome.withLock({ $0 ?? nil }) { throw error }
        }
    }

    static func hostHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
