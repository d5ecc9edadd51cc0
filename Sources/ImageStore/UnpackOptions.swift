import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How a layer is extracted and what it may contain.
public struct UnpackOptions: Sendable {
    /// How whiteouts are represented in the target.
    public enum Mode: Sendable, Hashable {
        /// The layer gets its own directory (a snapshot): whiteouts become overlayfs
        /// whiteouts (0/0 character devices) and opaque directories get
        /// `trusted.overlay.opaque=y`.
        case snapshot
        /// Layers are applied on top of each other in one directory: whiteouts delete.
        case flat
    }

    /// Snapshot or flat extraction.
    public var mode: Mode
    /// The most uncompressed bytes (the tar stream) a layer may expand to: bounds
    /// decompression bombs. 32 GiB by default.
    public var maxUncompressedSize: Int64
    /// Whether character and block device entries are created (needs root); when false
    /// they are refused. FIFOs are always allowed.
    public var allowDeviceNodes: Bool
    /// Whether setuid/setgid bits are allowed; when false (rootless) such entries are refused.
    public var allowSetuid: Bool
    /// Whether uid/gid from the layer are applied (needs root or a user namespace).
    public var preserveOwnership: Bool
    /// How many layers of one image ``ImageStore/unpack(_:options:)`` unpacks at once
    /// (each into its own snapshot); one by default. Measured (Benchmarks/README.md,
    /// "Images"): on tmpfs two at a time gain nothing over one, and on ext4 two unpacks
    /// creating files side by side ran 0.9–2.6× slower than one at a time.
    public var maxParallelLayers: Int
    /// Called as the unpack progresses (every few MiB or entries, and once at the end),
    /// on the unpacking thread.
    public var progress: (@Sendable (UnpackProgress) -> Void)?

    /// Creates options; the defaults fit the effective user (root gets devices and ownership).
    /// - Parameters:
    ///   - mode: snapshot (overlay whiteouts) or flat (deletions).
    ///   - maxUncompressedSize: the decompression bomb bound in bytes.
    ///   - allowDeviceNodes: create device nodes; default: running as root.
    ///   - allowSetuid: allow setuid/setgid bits; default true.
    ///   - preserveOwnership: apply uid/gid; default: running as root.
    ///   - progress: progress callback (called from several threads when layers unpack
    ///     in parallel).
    ///   - maxParallelLayers: layers unpacked at once; one by default.
    public init(
        mode: Mode = .snapshot, maxUncompressedSize: Int64 = 32 << 30, allowDeviceNodes: Bool = geteuid() == 0,
        allowSetuid: Bool = true, preserveOwnership: Bool = geteuid() == 0,
        progress: (@Sendable (UnpackProgress) -> Void)? = nil,
        maxParallelLayers: Int = 1
    ) {
        self.maxParallelLayers = maxParallelLayers
        self.mode = mode
        self.maxUncompressedSize = maxUncompressedSize
        self.allowDeviceNodes = allowDeviceNodes
        self.allowSetuid = allowSetuid
        self.preserveOwnership = preserveOwnership
        self.progress = progress
    }
}
