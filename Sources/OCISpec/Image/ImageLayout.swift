// Spec: image-spec v1.1 image-layout.md#oci-layout-file
/// The `oci-layout` file at the root of an OCI image layout, plus the layout's fixed
/// names. The layout's `index.json` is an ``ImageIndex`` whose manifests carry their
/// tag in ``ImageAnnotations/refName``.
public struct ImageLayout: Hashable, Sendable, Codable {
    /// The layout version, `1.0.0`.
    public var imageLayoutVersion: String

    /// Creates the `oci-layout` document.
    /// - Parameter imageLayoutVersion: the layout version; ``currentVersion`` by default.
    public init(imageLayoutVersion: String = ImageLayout.currentVersion) {
        self.imageLayoutVersion = imageLayoutVersion
    }

    /// The layout version this module writes and reads.
    public static let currentVersion = "1.0.0"
    /// The name of the layout header file.
    public static let layoutFileName = "oci-layout"
    /// The name of the layout's index file.
    public static let indexFileName = "index.json"
    /// The name of the blobs directory.
    public static let blobsDirectoryName = "blobs"

    /// The path of a blob relative to the layout root: `blobs/sha256/<hex>`.
    /// - Parameter digest: the blob's digest.
    /// - Returns: the relative path.
    public static func blobPath(for digest: Digest) -> String {
        "\(blobsDirectoryName)/\(digest.algorithm.name)/\(digest.encoded)"
    }
}
