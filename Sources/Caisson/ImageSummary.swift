/// One named image of the store, as ``Engine/images()`` lists it.
public struct ImageSummary: Sendable, Hashable {
    /// The image's name in the store.
    public var name: String
    /// The digest of its manifest or index.
    public var digest: Digest
    /// The compressed size of its config and layers for the host platform, if resolvable.
    public var size: Int64?
    /// Its configuration for the host platform, if resolvable.
    public var configuration: ImageConfiguration?

    /// Creates a summary.
    /// - Parameters:
    ///   - name: the image name.
    ///   - digest: the manifest or index digest.
    ///   - size: the compressed size, if known.
    ///   - configuration: the image configuration, if known.
    public init(name: String, digest: Digest, size: Int64?, configuration: ImageConfiguration?) {
        self.name = name
        self.digest = digest
        self.size = size
        self.configuration = configuration
    }
}
