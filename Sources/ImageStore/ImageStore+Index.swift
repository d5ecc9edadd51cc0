import Foundation
import OCISpec

extension ImageStore {
    /// Reads `index.json`.
    /// - Returns: the layout's index.
    /// - Throws: ``ImageStoreError`` `invalidLayout` naming the field at fault.
    public func index() throws -> ImageIndex {
        let data = try Sys.readFile(indexPath)
        do {
            return try OCIJSON.decode(ImageIndex.self, from: data)
        } catch {
            throw ImageStoreError(.invalidLayout, "\(indexPath) is not a valid image index", underlying: error)
        }
    }

    /// The named entries of `index.json`, in index order.
    /// - Returns: (name, descriptor) pairs.
    /// - Throws: as ``index()``.
    public func images() throws -> [(name: String, descriptor: Descriptor)] {
        try index().manifests.compactMap { descriptor in descriptor.referenceName.map { ($0, descriptor) } }
    }

    /// Names a manifest or index already in the store, replacing any entry of that name.
    /// `index.json` is rewritten with write-new-then-rename under the store's index lock.
    /// - Parameters:
    ///   - name: the `org.opencontainers.image.ref.name` value.
    ///   - descriptor: the manifest or index descriptor.
    /// - Throws: ``ImageStoreError`` `notFound` if the blob is missing.
    public func tag(_ name: String, _ descriptor: Descriptor) throws {
        guard !name.isEmpty else { throw ImageStoreError(.invalidLayout, "empty image name for \(descriptor.digest)") }
        guard contains(descriptor.digest) else {
            throw ImageStoreError(.notFound, "cannot name \(name): blob \(descriptor.digest) not in \(root)")
        }
        try updateIndex { index in
            index.manifests.removeAll { $0.referenceName == name }
            var entry = descriptor
            var annotations = entry.annotations ?? [:]
            annotations[ImageAnnotations.refName] = name
            entry.annotations = annotations
            index.manifests.append(entry)
        }
    }

    /// Removes the `index.json` entries of a name. The blobs stay until garbage collection.
    /// - Parameter name: the image name.
    /// - Throws: ``ImageStoreError`` `notFound` if no entry has that name.
    public func untag(_ name: String) throws {
        try updateIndex { index in
            let before = index.manifests.count
            index.manifests.removeAll { $0.referenceName == name }
            if index.manifests.count == before {
                throw ImageStoreError(.notFound, "no image named \(name) in \(root)")
            }
        }
    }

    /// Read-modify-write of index.json under the exclusive index lock; the new file
    /// replaces the old with a rename, so readers never see a torn index.
    func updateIndex(_ change: (inout ImageIndex) throws -> Void) throws {
        try StoreLock.with(indexLockPath, mode: .exclusive) {
            var current = try index()
            try change(&current)
            try Sys.writeFileAtomically(indexPath, try OCIJSON.encode(current))
        }
    }

    /// Resolves a named image to its platform manifest and configuration.
    /// - Parameters:
    ///   - name: the `org.opencontainers.image.ref.name` in `index.json`.
    ///   - platform: the platform to pick from a multi-platform index; the host's by default.
    /// - Returns: the image.
    /// - Throws: ``ImageStoreError`` `notFound` if no entry has that name or no manifest
    ///   matches the platform; `corrupt` if a document fails its digest or does not decode.
    public func image(named name: String, platform: Platform = .current) throws -> StoredImage {
        let entries = try index().manifests(named: name)
        guard !entries.isEmpty else { throw ImageStoreError(.notFound, "no image named \(name) in \(root)") }
        let entry: Descriptor
        if entries.count == 1 {
            entry = entries[0]
        } else if let best = ImageIndex(manifests: entries).manifest(for: platform) {
            entry = best
        } else {
            throw ImageStoreError(.notFound, "no image named \(name) for platform \(platform) in \(root)")
        }
        var resolved = try image(descriptor: entry, platform: platform)
        resolved.name = name
        return resolved
    }

    /// Resolves a manifest or index descriptor to its platform manifest and configuration.
    /// - Parameters:
    ///   - descriptor: a manifest or index in the store.
    ///   - platform: the platform to pick from an index.
    /// - Returns: the image (without a name).
    /// - Throws: as ``image(named:platform:)``.
    public func image(descriptor: Descriptor, platform: Platform = .current) throws -> StoredImage {
        var current = descriptor
        for _ in 0..<8 {
            let data = try readBlob(current.digest)
            let document: ManifestDocument
            do {
                document = try ManifestDocument.decode(data, mediaType: current.mediaType.isIndex || current.mediaType.isManifest ? current.mediaType : nil)
            } catch {
                throw ImageStoreError(.corrupt, "blob \(current.digest) is not a manifest or index", underlying: error)
            }
            switch document {
            case .index(let index):
                guard let next = index.manifest(for: platform) ?? (index.manifests.count == 1 ? index.manifests.first : nil) else {
                    throw ImageStoreError(.notFound, "index \(current.digest) has no manifest for platform \(platform)")
                }
                current = next
            case .manifest(let manifest):
                let configData = try readBlob(manifest.config.digest)
                let config: ImageConfiguration
                do {
                    config = try OCIJSON.decode(ImageConfiguration.self, from: configData)
                } catch {
                    throw ImageStoreError(.corrupt, "config \(manifest.config.digest) does not decode", underlying: error)
                }
                guard config.rootfs.diffIDs.count == manifest.layers.count else {
                    throw ImageStoreError(
                        .corrupt,
                        "manifest \(current.digest) has \(manifest.layers.count) layers but config \(manifest.config.digest) lists \(config.rootfs.diffIDs.count) diff_ids")
                }
                return StoredImage(
                    name: nil, descriptor: descriptor, manifestDescriptor: current, manifest: manifest,
                    manifestData: data, config: config)
            }
        }
        throw ImageStoreError(.corrupt, "index \(descriptor.digest) nests more than 8 levels deep")
    }
}
