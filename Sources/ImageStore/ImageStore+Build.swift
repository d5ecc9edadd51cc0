import Foundation
import OCISpec

extension ImageStore {
    /// Builds a one-layer image from a directory and names it: the directory's contents
    /// (ownership, modes, xattrs, hardlinks, devices) become the layer root.
    /// - Parameters:
    ///   - directory: the directory to archive.
    ///   - name: the image name in `index.json`.
    ///   - config: entrypoint, cmd, env… of the image.
    ///   - platform: the image's platform; the host's by default.
    ///   - compression: the layer's compression.
    ///   - created: the RFC 3339 creation time to record, if any (omit for reproducible images).
    /// - Returns: the stored image.
    /// - Throws: ``ImageStoreError`` `io` naming the path that could not be read.
    @discardableResult
    public func build(
        from directory: String, name: String, config: ImageConfiguration.Config? = nil, platform: Platform = .current,
        compression: MediaType.LayerCompression = .gzip, created: String? = nil
    ) async throws -> StoredImage {
        try await BlockingIO.run {
            try self.withSharedStoreLock {
                let layer = try self.writeLayer(compression: compression) { try $0.addTree(from: directory) }
                return try self.createImage(layers: [layer], name: name, config: config, platform: platform, created: created)
            }
        }
    }

    /// Builds an image from layers already in the store (e.g. from ``diff(key:compression:)``
    /// on top of a base image's layers) and names it.
    /// - Parameters:
    ///   - layers: the layers, base first.
    ///   - name: the image name.
    ///   - config: execution parameters.
    ///   - platform: the platform.
    ///   - created: the creation time to record.
    /// - Returns: the stored image.
    /// - Throws: ``ImageStoreError`` `notFound` if a layer blob is missing.
    @discardableResult
    public func createImage(
        layers: [LayerWriter.Result], name: String, config: ImageConfiguration.Config? = nil,
        platform: Platform = .current, created: String? = nil
    ) throws -> StoredImage {
        for layer in layers where !contains(layer.descriptor.digest) {
            throw ImageStoreError(.notFound, "layer \(layer.descriptor.digest) not in \(root)")
        }
        let configuration = ImageConfiguration(
            created: created, platform: platform, config: config,
            rootfs: .init(diffIDs: layers.map(\.diffID)),
            history: layers.map { _ in .init(created: created, createdBy: "caisson build") })
        let configData = try OCIJSON.encode(configuration)
        let configDescriptor = try putDocument(configData, mediaType: .imageConfig)
        let manifest = ImageManifest(config: configDescriptor, layers: layers.map(\.descriptor))
        let manifestData = try OCIJSON.encode(manifest)
        var manifestDescriptor = try putDocument(manifestData, mediaType: .imageManifest)
        manifestDescriptor.platform = platform
        try tag(name, manifestDescriptor)
        return StoredImage(
            name: name, descriptor: manifestDescriptor, manifestDescriptor: manifestDescriptor, manifest: manifest,
            manifestData: manifestData, config: configuration)
    }
}
