import OCISpec

/// A container's root filesystem made by ``ImageStore/prepare(key:image:mode:options:)``.
public struct PreparedRootfs: Sendable, Hashable {
    /// How the rootfs is made.
    public enum Mode: String, Sendable, Hashable, Codable {
        /// An overlay mount of the image's snapshots with a writable per-container upper dir.
        case overlay
        /// A read-only mount of the image's snapshots (no upper dir).
        case view
        /// A private flat copy of the image's layers (no mount; works without overlayfs).
        /// As root, files are reflinked from the snapshots where the filesystem supports
        /// `FICLONE` (btrfs, XFS), and copied elsewhere.
        case copy
    }

    /// The container key it was prepared for.
    public var key: String
    /// The rootfs directory (`containers/<key>/rootfs`).
    public var path: String
    /// How it was made.
    public var mode: Mode
    /// The chain ID of the image's top layer (nil for an image without layers).
    public var chainID: Digest?
    /// The overlay upper directory holding the container's changes (overlay mode only).
    public var upperDirectory: String?

    /// Creates a record.
    /// - Parameters:
    ///   - key: the container key.
    ///   - path: the rootfs path.
    ///   - mode: overlay, view or copy.
    ///   - chainID: the top chain ID.
    ///   - upperDirectory: the upper dir in overlay mode.
    public init(key: String, path: String, mode: Mode, chainID: Digest?, upperDirectory: String?) {
        self.key = key
        self.path = path
        self.mode = mode
        self.chainID = chainID
        self.upperDirectory = upperDirectory
    }
}
