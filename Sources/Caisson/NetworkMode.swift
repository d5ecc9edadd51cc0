/// Which network a container sees.
public enum NetworkMode: Hashable, Sendable {
    /// A new network namespace with only the loopback interface, up: the container can
    /// talk to itself and to nothing else (`docker run --network none`). The default.
    case none
    /// The host's network namespace (`--network host`): every host interface and port.
    case host
    /// An existing network namespace, joined by path (e.g. `/run/netns/web` or
    /// `/proc/<pid>/ns/net`), prepared by whoever owns it.
    case namespace(path: String)
}
