import ImageStore
import OCISpec

/// The result of a pull: the image as the store now holds it and what the pull did.
public struct PulledImage: Sendable {
    /// The reference pulled, pinned to the digest of the document it named.
    public var reference: Reference
    /// The image in the store, under its name.
    public var image: StoredImage
    /// Bytes downloaded by this pull (blobs already stored and resumed parts excluded).
    public var downloadedBytes: Int64
    /// Blobs that were already complete in the store.
    public var reusedBlobs: Int
    /// The layers' snapshot directories, base first, when the pull unpacked the image
    /// (`unpack:` of ``RegistryClient/pull(_:into:name:platform:unpack:progress:)``); empty otherwise.
    public var snapshots: [String]

    /// Creates a pull result.
    /// - Parameters:
    ///   - reference: the pinned reference.
    ///   - image: the stored image.
    ///   - downloadedBytes: bytes downloaded.
    ///   - reusedBlobs: blobs already present.
    ///   - snapshots: the snapshot directories, if the pull unpacked the image.
    public init(reference: Reference, image: StoredImage, downloadedBytes: Int64, reusedBlobs: Int, snapshots: [String] = []) {
        self.reference = reference
        self.image = image
        self.downloadedBytes = downloadedBytes
        self.reusedBlobs = reusedBlobs
        self.snapshots = snapshots
    }
}
