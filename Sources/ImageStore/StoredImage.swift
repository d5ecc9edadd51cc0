import Foundation
import OCISpec

/// An image resolved from the store: the named entry of `index.json`, the platform
/// manifest it leads to (kept as its exact stored bytes) and its configuration.
public struct StoredImage: Sendable, Hashable {
    /// The name (`org.opencontainers.image.ref.name`) it was found by, if any.
    public var name: String?
    /// The `index.json` entry (may point to a nested index).
    public var descriptor: Descriptor
    /// The descriptor of the platform manifest.
    public var manifestDescriptor: Descriptor
    /// The manifest.
    public var manifest: ImageManifest
    /// The manifest's exact bytes, as stored.
    public var manifestData: Data
    /// The image configuration.
    public var config: ImageConfiguration

    /// Creates a resolved image record.
    /// - Parameters:
    ///   - name: the name it was found by.
    ///   - descriptor: the `index.json` entry.
    ///   - manifestDescriptor: the platform manifest's descriptor.
    ///   - manifest: the manifest.
    ///   - manifestData: the manifest's stored bytes.
    ///   - config: the configuration.
    public init(
        name: String?, descriptor: Descriptor, manifestDescriptor: Descriptor, manifest: ImageManifest,
        manifestData: Data, config: ImageConfiguration
    ) {
        self.name = name
        self.descriptor = descriptor
        self.manifestDescriptor = manifestDescriptor
        self.manifest = manifest
        self.manifestData = manifestData
        self.config = config
    }

    /// The chain IDs of the layers, base first: the snapshot keys.
    public var chainIDs: [Digest] { ChainID.chain(config.rootfs.diffIDs) }
}
