import OCISpec

/// A reference resolved to one platform's image manifest: the documents from the one
/// the reference names (an index or a manifest) down to the manifest, each verified.
public struct ResolvedManifest: Hashable, Sendable {
    /// The reference that was resolved.
    public var reference: Reference
    /// The documents from the reference's target to the selected manifest; never empty,
    /// and the last one is the image manifest.
    public let chain: [FetchedManifest]
    /// The selected image manifest (the last document of ``chain``).
    public let manifest: ImageManifest

    /// Made by ``RegistryClient/resolve(_:platform:)``, which guarantees the chain's shape.
    init(reference: Reference, chain: [FetchedManifest], manifest: ImageManifest) {
        self.reference = reference
        self.chain = chain
        self.manifest = manifest
    }

    /// The document the reference names (index or manifest).
    public var root: FetchedManifest { chain[0] }

    /// The selected image manifest document.
    public var manifestDocument: FetchedManifest { chain[chain.count - 1] }

    /// The reference pinned to the root document's digest.
    public var pinned: Reference { reference.withDigest(root.descriptor.digest) }
}
