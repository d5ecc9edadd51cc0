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
        /// The overlay's directories (the snapshots, a per-container upper and work dir),
        /// prepared but not mounted: the container's setup mounts the overlay inside its
        /// own user namespace (`userxattr`, Linux 5.11 or later), which is where an
        /// unprivileged user may mount one. Snapshots unpacked by an unprivileged user
        /// mark opaque directories with `user.overlay.opaque`. The rootfs directory stays
        /// empty on the host; pass ``lowerDirectories``, ``upperDirectory`` and
        /// ``workDirectory`` to the runtime (Sandbox's `OverlayRootfs`).
        case userNamespaceOverlay
    }

    /// The container key it was prepared for.
    public var key: String
    /// The rootfs directory (`containers/<key>/rootfs`).
    public var path: String
    /// How it was made.
    public var mode: Mode
    /// The chain ID of the image's top layer (nil for an image without layers).
    public var chainID: Digest?
    /// The overlay upper directory holding the container's changes (overlay and
    /// userNamespaceOverlay modes).
    public var upperDirectory: String?
    /// The overlay's lower directories, top first (userNamespaceOverlay mode; empty otherwise).
    public var lowerDirectories: [String]
    /// The overlay's work directory (userNamespaceOverlay mode).
    public var workDirectory: String?

    /// Creates a record.
    /// - Parameters:
    ///   - key: the container key.
    ///   - path: the rootfs path.
    ///   - mode: overlay, view or copy.
    ///   - chainID: the top chain ID.
    ///   - upperDirectory: the upper dir in overlay modes.
    ///   - lowerDirectories: the lower dirs, top first, for an overlay mounted later.
    ///   - workDirectory: the work dir for an overlay mounted later.
    public init(key: String, path: String, mode: Mode, chainID: Digest?, upperDirectory: String?,
                lowerDirectories: [String] = [], workDirectory: String? = nil) {
        self.key = key
        self.path = path
        self.mode = mode
        self.chainID = chainID
        self.upperDirectory = upperDirectory
        self.lowerDirectories = lowerDirectories
        self.workDirectory = workDirectory
    }
}
