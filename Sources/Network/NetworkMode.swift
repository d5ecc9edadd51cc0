/// How a container is connected, as podman's `--network` says it.
public enum NetworkMode: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A new network namespace with only loopback up.
    case none
    /// The host's network namespace (no namespace entry in the spec).
    case host
    /// The network namespace of another container attached by the same ``Networking``.
    case container(String)
    /// An existing network namespace file (`/proc/<pid>/ns/net`, `/run/netns/x`).
    case namespacePath(String)
    /// A new namespace connected to the named bridge network.
    case bridge(String)
    /// A new namespace set up by a CNI configuration list: the name of a network in
    /// ``Networking/cniConfigDirectory``, or the absolute path of a `.conflist` file.
    case cni(String)
    /// A new namespace whose traffic slirp4netns carries in user mode (no root needed:
    /// rootless containers). The namespace is the container's own (a new one in its user
    /// namespace), so slirp4netns is started after the container is created, by
    /// ``Networking/connect(containerID:pid:networkNamespace:)``.
    case slirp4netns(SlirpOptions)

    /// Parses `none`, `host`, `container:ID`, `ns:PATH`, `cni:NAME` or `cni:/PATH`,
    /// `slirp4netns` or `slirp4netns:OPTION=VALUE,…` (``SlirpOptions/init(parsing:)``),
    /// `bridge` (the network `defaultNetwork`) or `bridge:NAME`/`NAME` (a named bridge network).
    /// - Parameters:
    ///   - text: the `--network` value.
    ///   - defaultNetwork: the network plain `bridge` means.
    /// - Throws: ``NetworkError/Code/invalidArgument`` when a form lacks its argument.
    public init(parsing text: String, defaultNetwork: String = "caisson") throws(NetworkError) {
        func argument(_ prefix: String) throws(NetworkError) -> String {
            let value = String(text.dropFirst(prefix.count))
            guard !value.isEmpty else { throw NetworkError(.invalidArgument, "network mode \"\(text)\": \(prefix) needs a value") }
            return value
        }
        switch text {
        case "none": self = .none
        case "host": self = .host
        case "bridge": self = .bridge(defaultNetwork)
        case "slirp4netns": self = .slirp4netns(SlirpOptions())
        case _ where text.hasPrefix("slirp4netns:"): self = .slirp4netns(try SlirpOptions(parsing: try argument("slirp4netns:")))
        case _ where text.hasPrefix("container:"): self = .container(try argument("container:"))
        case _ where text.hasPrefix("ns:"): self = .namespacePath(try argument("ns:"))
        case _ where text.hasPrefix("bridge:"): self = .bridge(try argument("bridge:"))
        case _ where text.hasPrefix("cni:"): self = .cni(try argument("cni:"))
        case "": throw NetworkError(.invalidArgument, "network mode is empty")
        default: self = .bridge(text)
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .host: return "host"
        case .container(let id): return "container:\(id)"
        case .namespacePath(let path): return "ns:\(path)"
        case .bridge(let name): return "bridge:\(name)"
        case .cni(let name): return "cni:\(name)"
        case .slirp4netns(let options):
            let text = options.description
            return text.isEmpty ? "slirp4netns" : "slirp4netns:" + text
        }
    }
}
