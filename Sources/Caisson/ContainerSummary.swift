/// One engine-managed container, as ``Engine/containers()`` lists it.
public struct ContainerSummary: Sendable, Hashable {
    /// The container id.
    public var id: String
    /// The image it was made from.
    public var image: String
    /// `created`, `running` or `stopped`, read live.
    public var status: ContainerState.Status
    /// Its first process's pid in the host, while it exists.
    public var pid: Int32?
    /// Its root filesystem.
    public var rootfs: String

    /// Creates a summary.
    /// - Parameters:
    ///   - id: the container id.
    ///   - image: the image name.
    ///   - status: the container's status.
    ///   - pid: its process id, if alive.
    ///   - rootfs: its root filesystem path.
    public init(id: String, image: String, status: ContainerState.Status, pid: Int32?, rootfs: String) {
        self.id = id
        self.image = image
        self.status = status
        self.pid = pid
        self.rootfs = rootfs
    }
}
