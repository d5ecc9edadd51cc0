/// What ``Networking/prune(liveContainers:)`` removed.
public struct PruneReport: Hashable, Sendable {
    /// Containers whose attachment was released (their container is gone).
    public var attachments: [String] = []
    /// Namespace files that no attachment owned, unmounted and removed.
    public var namespaces: [String] = []
    /// Host-side veths that no attachment owned, deleted.
    public var interfaces: [String] = []
    /// Firewall rules of containers without an attachment, deleted (count).
    public var rules: Int = 0
    /// Addresses whose holder had no attachment, released.
    public var addresses: [IPAddress] = []
    /// /etc file directories that no attachment owned, removed.
    public var etcDirectories: [String] = []
    /// Cached CNI results (`network/container`) that no attachment owned, deleted with DEL.
    public var cniResults: [String] = []

    /// slirp4netns processes that served containers without an attachment, stopped.
    public var processes: [Int32] = []

    /// True when nothing was left over.
    public var isEmpty: Bool {
        attachments.isEmpty && namespaces.isEmpty && interfaces.isEmpty && rules == 0 && addresses.isEmpty && etcDirectories.isEmpty
            && cniResults.isEmpty && processes.isEmpty
    }
}
