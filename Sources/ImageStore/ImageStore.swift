import Foundation
import Logging
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// The on-disk image store. Its root *is* an OCI image layout (`oci-layout`,
/// `index.json`, `blobs/<alg>/<hex>`), so skopeo and umoci read and write it too; images
/// are named by the `org.opencontainers.image.ref.name` annotation in `index.json`.
///
/// Next to the layout it keeps:
/// - `ingest/`: partial blobs (`<alg>-<hex>`), resumable from their offset, and the
///   staging directories of imports (`.import-*`);
/// - `snapshots/<alg>-<hex>/fs`: one unpacked directory per layer, keyed by chain ID;
/// - `containers/<key>/`: per-container `upper`, `work` and `rootfs`;
/// - `locks/`: `flock(2)` files, so several processes can share one store, and
///   `locks/leases/` (see ``ImageStoreLease``).
///
/// Images also come from and go to files: ``importImages(from:format:name:)`` reads OCI
/// layouts, OCI archives and `docker save` tarballs; ``exportArchive(images:to:)`` writes
/// OCI archives.
///
/// ```swift
/// let store = try ImageStore(root: "/var/lib/caisson/images")
/// let image = try store.image(named: "busybox")
/// let rootfs = try await store.prepare(key: "c1", image: image)
/// defer { try? store.remove(key: "c1") }
/// ```
public final class ImageStore: Sendable {
    /// The absolute path of the store root (the OCI image layout).
    public let root: String
    let logger: Logger

    /// Opens a store at `root`, creating the layout if the directory is empty or missing.
    /// - Parameters:
    ///   - root: the store directory; created if missing.
    ///   - logger: where to log; a no-op logger by default.
    /// - Throws: ``ImageStoreError`` `invalidLayout` if `root` holds an `oci-layout` of an
    ///   unsupported version or an unreadable `index.json`; `io` if it cannot be created.
    public init(root: String, logger: Logger = Logger(label: "caisson.imagestore", factory: { _ in SwiftLogNoOpLogHandler() })) throws {
        let absolute = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        self.root = (absolute as NSString).standardizingPath
        self.logger = logger
        try Sys.mkdirs(self.root)
        for directory in ["blobs", "blobs/sha256", "ingest", "snapshots", "containers", "locks"] {
            try Sys.mkdir("\(self.root)/\(directory)")
        }
        try StoreLock.with(indexLockPath, mode: .exclusive) {
            let layoutPath = "\(self.root)/\(ImageLayout.layoutFileName)"
            if let existing = try? Sys.readFile(layoutPath) {
                let layout: ImageLayout
                do {
                    layout = try OCIJSON.decode(ImageLayout.self, from: existing)
                } catch {
                    throw ImageStoreError(.invalidLayout, "\(layoutPath) is not an OCI layout header", underlying: error)
                }
                guard layout.imageLayoutVersion == ImageLayout.currentVersion else {
                    throw ImageStoreError(
                        .invalidLayout,
                        "\(layoutPath): unsupported imageLayoutVersion \(layout.imageLayoutVersion) (supported: \(ImageLayout.currentVersion))")
                }
            } else {
                try Sys.writeFileAtomically(layoutPath, try OCIJSON.encode(ImageLayout()))
            }
            if Sys.lstat(indexPath) == nil {
                try Sys.writeFileAtomically(indexPath, try OCIJSON.encode(ImageIndex(manifests: [])))
            }
        }
    }

    // MARK: Paths

    /// The path of `index.json`.
    public var indexPath: String { "\(root)/\(ImageLayout.indexFileName)" }

    /// The path a committed blob has in the layout (it may not exist).
    /// - Parameter digest: the blob's digest.
    /// - Returns: `ROOT/blobs/<alg>/<hex>`.
    public func blobPath(_ digest: Digest) -> String {
        "\(root)/\(ImageLayout.blobPath(for: digest))"
    }

    var indexLockPath: String { "\(root)/locks/index.lock" }
    var gcLockPath: String { "\(root)/locks/gc.lock" }
    var ingestDirectory: String { "\(root)/ingest" }
    var snapshotsDirectory: String { "\(root)/snapshots" }
    var containersDirectory: String { "\(root)/containers" }

    static func encoded(_ digest: Digest) -> String { "\(digest.algorithm.name)-\(digest.encoded)" }

    static func decoded(_ name: String) -> Digest? {
        guard let dash = name.firstIndex(of: "-") else { return nil }
        return try? Digest(parsing: name[..<dash] + ":" + name[name.index(after: dash)...])
    }

    /// Holds the store's shared lock while `body` runs, so garbage collection (which takes
    /// it exclusively) never sweeps what `body` is creating.
    func withSharedStoreLock<R>(_ body: () throws -> R) throws -> R {
        try StoreLock.with(gcLockPath, mode: .shared, body)
    }
}
