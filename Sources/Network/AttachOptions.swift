/// What a container asks of its network besides the mode.
public struct AttachOptions: Hashable, Sendable {
    /// The container's hostname (written to /etc/hostname and /etc/hosts); nil: the
    /// container id's first 12 characters, as docker does (the host's name in `host` mode).
    public var hostname: String?
    /// Ports to publish (bridge mode; CNI mode through a plugin with the `portMappings` capability).
    public var ports: [PortMapping]
    /// Name servers for /etc/resolv.conf; nil: the host's, without loopback ones.
    public var dnsServers: [IPAddress]?
    /// Search domains for /etc/resolv.conf; nil: the host's.
    public var dnsSearch: [String]?
    /// Extra `name address` lines for /etc/hosts.
    public var extraHosts: [String: IPAddress]
    /// CNI mode: `CNI_ARGS` key-value pairs for the plugins (`IgnoreUnknown=1`, …).
    public var cniArguments: [String: String]

    /// Creates options.
    /// - Parameters:
    ///   - hostname: the container's hostname.
    ///   - ports: ports to publish.
    ///   - dnsServers: name servers, nil for the host's.
    ///   - dnsSearch: search domains, nil for the host's.
    ///   - extraHosts: extra /etc/hosts entries.
    ///   - cniArguments: `CNI_ARGS` pairs (CNI mode).
    public init(hostname: String? = nil, ports: [PortMapping] = [], dnsServers: [IPAddress]? = nil,
                dnsSearch: [String]? = nil, extraHosts: [String: IPAddress] = [:], cniArguments: [String: String] = [:]) {
        self.hostname = hostname
        self.ports = ports
        self.dnsServers = dnsServers
        self.dnsSearch = dnsSearch
        self.extraHosts = extraHosts
        self.cniArguments = cniArguments
    }
}
