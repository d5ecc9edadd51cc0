/// An overlay filesystem the container's setup mounts as its root, inside the container's
/// own user and mount namespaces (see ``Runtime/CreateOptions/rootfsOverlay``).
///
/// Mounted in a new user namespace it uses `userxattr` (kernel 5.11 or later): overlay
/// metadata (opaque directories, redirects) lives in `user.overlay.*` xattrs, which is
/// what an image store unpacking as an unprivileged user writes.
public struct OverlayRootfs: Sendable, Hashable {
    /// The read-only layers, top first (overlayfs's `lowerdir` order).
    public var lowerDirectories: [String]
    /// The writable layer, or nil for a read-only root.
    public var upperDirectory: String?
    /// overlayfs's work directory, on the same filesystem as the upper one (with it).
    public var workDirectory: String?

    /// Creates an overlay description.
    /// - Parameters:
    ///   - lowerDirectories: the read-only layers, top first; at least one.
    ///   - upperDirectory: the writable layer, or nil.
    ///   - workDirectory: the work directory; required with an upper directory.
    public init(lowerDirectories: [String], upperDirectory: String? = nil, workDirectory: String? = nil) {
        self.lowerDirectories = lowerDirectories
        self.upperDirectory = upperDirectory
        self.workDirectory = workDirectory
    }
}
