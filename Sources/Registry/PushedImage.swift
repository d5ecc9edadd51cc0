import OCISpec

/// The result of a push: the pushed root document and how each blob got there.
public struct PushedImage: Hashable, Sendable {
    /// The target reference, pinned to the pushed root document's digest.
    public var reference: Reference
    /// The root document (manifest or index) as pushed.
    public var descriptor: Descriptor
    /// How each blob reached the repository.
    public var blobs: [Digest: BlobPushOutcome]

    /// Creates a push result.
    /// - Parameters:
    ///   - reference: the pinned target reference.
    ///   - descriptor: the root document's descriptor.
    ///   - blobs: the outcome per blob.
    public init(reference: Reference, descriptor: Descriptor, blobs: [Digest: BlobPushOutcome]) {
        self.reference = reference
        self.descriptor = descriptor
        self.blobs = blobs
    }
}
