import Foundation
import OCIHashing
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

extension ImageStore {
    /// Imports the images of an OCI layout directory, an OCI archive or a `docker save`
    /// tarball into the store and names them.
    ///
    /// Every file is copied into a staging directory under `ingest/` and every blob is
    /// verified against its digest and size (for Docker archives, every layer against the
    /// config's diff ID) before anything is committed: a bad archive — a missing blob, a
    /// digest mismatch, an entry or link escaping the archive root — commits nothing.
    ///
    /// Docker images are converted to OCI manifests (config and layers keep their bytes
    /// and digests; layer media types follow their compression).
    /// - Parameters:
    ///   - path: the layout directory or the archive file.
    ///   - format: the format; detected when nil (a directory is a layout, a tar with
    ///     `manifest.json` a Docker archive, a tar with `oci-layout` an OCI archive).
    ///   - name: the name to give the image when the archive holds exactly one; when nil,
    ///     every image gets the names the archive gives it (`ref.name` annotations, or
    ///     Docker `RepoTags`).
    /// - Returns: the names given and the `index.json` entries they point to, in archive order.
    /// - Throws: ``ImageStoreError`` `invalidArchive` naming the file or entry at fault
    ///   (also for an image without a name, or `name` with several images),
    ///   `digestMismatch`/`sizeMismatch` naming the blob and both values, `io` on failures.
    @discardableResult
    public func importImages(
        from path: String, format: ImageArchiveFormat? = nil, name: String? = nil
    ) async throws -> [(name: String, descriptor: Descriptor)] {
        let results = try await BlockingIO.run {
            try self.withSharedStoreLock { try self.importBlocking(from: path, format: format, name: name) }
        }
        return results.map { (name: $0.0, descriptor: $0.1) }
    }

    private struct ImportPlan {
        /// Verified blobs to commit, by digest.
        var blobs: [Digest: ImportStaging.File] = [:]
        /// The images in archive order: names and the descriptor to put in `index.json`.
        var images: [([String], Descriptor)] = []
    }

    func importBlocking(from path: String, format: ImageArchiveFormat?, name: String?) throws -> [(String, Descriptor)] {
        if let name, name.isEmpty { throw ImageStoreError(.invalidArchive, "\(path): empty image name") }
        guard let st = Sys.lstat(path) else { throw ImageStoreError(.notFound, "no image archive or layout at \(path)") }
        let staging = try ImportStaging(in: ingestDirectory, origin: path)
        defer { staging.remove() }
        let isDirectory = st.st_mode & Sys.fileTypeMask == Sys.typeDirectory
        let resolved: ImageArchiveFormat
        if isDirectory {
            guard format == nil || format == .ociLayout else {
                throw staging.invalid("is a directory, not a \(format?.rawValue ?? "") file")
            }
            try staging.useDirectory(path)
            resolved = .ociLayout
        } else {
            guard format != .ociLayout else { throw staging.invalid("is a file, not an OCI layout directory") }
            try staging.extractTar(path)
            if let format {
                resolved = format
            } else if try staging.contains("manifest.json") {
                resolved = .dockerArchive
            } else if try staging.contains(ImageLayout.layoutFileName) {
                resolved = .ociArchive
            } else {
                throw staging.invalid("holds neither manifest.json (docker save) nor oci-layout (OCI archive)")
            }
        }
        var plan = ImportPlan()
        switch resolved {
        case .ociLayout, .ociArchive: try planOCI(staging, &plan)
        case .dockerArchive: try planDocker(staging, &plan)
        }
        if let name {
            guard plan.images.count == 1 else {
                throw staging.invalid("holds \(plan.images.count) images; a name can be given to exactly one")
            }
            plan.images[0].0 = [name]
        }
        for (names, descriptor) in plan.images where names.isEmpty {
            throw staging.invalid("image \(descriptor.digest) has no name in the archive; pass a name")
        }

        // Everything is verified: commit the blobs, then name the images in one index write.
        var directories: Set<String> = []
        for (digest, staged) in plan.blobs {
            let target = blobPath(digest)
            if contains(digest) {
                touch(target)
                continue
            }
            let directory = (target as NSString).deletingLastPathComponent
            if directories.insert(directory).inserted { try Sys.mkdirs(directory) }
            let fd = try Sys.open(staged.path, O_RDONLY)
            defer { Sys.close(fd) }
            try Sys.fsync(fd, staged.path)
            _ = fchmod(fd, 0o644)
            try Sys.rename(staged.path, target)
        }
        for directory in directories { try Sys.fsyncDirectory(directory) }
        var named: [(String, Descriptor)] = []
        try updateIndex { index in
            for (names, descriptor) in plan.images {
                for imageName in names {
                    index.manifests.removeAll { $0.referenceName == imageName }
                    var entry = descriptor
                    var annotations = entry.annotations ?? [:]
                    annotations[ImageAnnotations.refName] = imageName
                    entry.annotations = annotations
                    index.manifests.append(entry)
                    named.append((imageName, entry))
                }
            }
        }
        return named
    }

    // MARK: OCI layouts and archives

    private func planOCI(_ staging: ImportStaging, _ plan: inout ImportPlan) throws {
        let header: ImageLayout
        do {
            header = try OCIJSON.decode(ImageLayout.self, from: staging.read(ImageLayout.layoutFileName))
        } catch let error as ImageStoreError {
            throw error
        } catch {
            throw staging.invalid("oci-layout does not decode: \(error)")
        }
        guard header.imageLayoutVersion == ImageLayout.currentVersion else {
            throw staging.invalid("unsupported imageLayoutVersion \(header.imageLayoutVersion) (supported: \(ImageLayout.currentVersion))")
        }
        let index: ImageIndex
        do {
            index = try OCIJSON.decode(ImageIndex.self, from: staging.read(ImageLayout.indexFileName))
        } catch let error as ImageStoreError {
            throw error
        } catch {
            throw staging.invalid("index.json is not an image index: \(error)")
        }
        guard !index.manifests.isEmpty else { throw staging.invalid("index.json lists no image") }
        for (position, entry) in index.manifests.enumerated() {
            let what = "index.json entry \(position)" + (entry.referenceName.map { " (\($0))" } ?? "")
            try collect(entry, what: what, staging, &plan, depth: 0)
            plan.images.append((entry.referenceName.map { [$0] } ?? [], entry))
        }
    }

    /// Verifies a manifest or index and everything it references, adding them to the plan.
    private func collect(_ descriptor: Descriptor, what: String, _ staging: ImportStaging, _ plan: inout ImportPlan, depth: Int) throws {
        guard depth < 8 else { throw staging.invalid("\(what): indexes nest more than 8 levels deep") }
        guard plan.blobs[descriptor.digest] == nil else { return }
        guard let staged = try staging.verifiedBlob(descriptor, what: what) else { return }
        plan.blobs[descriptor.digest] = staged
        guard descriptor.size <= 4 << 20 else { throw staging.invalid("\(what) \(descriptor.digest) is larger than a manifest may be (4 MiB)") }
        let data = try Sys.readFile(staged.path)
        let document: ManifestDocument
        do {
            document = try ManifestDocument.decode(data, mediaType: descriptor.mediaType.isIndex || descriptor.mediaType.isManifest ? descriptor.mediaType : nil)
        } catch {
            throw staging.invalid("\(what) \(descriptor.digest) is not a manifest or index: \(error)")
        }
        switch document {
        case .index(let index):
            for (position, child) in index.manifests.enumerated() {
                try collect(child, what: "manifest \(position) of index \(descriptor.digest)", staging, &plan, depth: depth + 1)
            }
        case .manifest(let manifest):
            let config = manifest.config
            guard let configFile = try staging.verifiedBlob(config, what: "config of manifest \(descriptor.digest)") else { return }
            plan.blobs[config.digest] = configFile
            if config.mediaType.isImageConfig {
                let decoded: ImageConfiguration
                do {
                    decoded = try OCIJSON.decode(ImageConfiguration.self, from: Sys.readFile(configFile.path))
                } catch {
                    throw staging.invalid("config \(config.digest) of manifest \(descriptor.digest) does not decode: \(error)")
                }
                guard decoded.rootfs.diffIDs.count == manifest.layers.count else {
                    throw staging.invalid(
                        "manifest \(descriptor.digest) has \(manifest.layers.count) layers but its config lists \(decoded.rootfs.diffIDs.count) diff_ids")
                }
            }
            for (position, layer) in manifest.layers.enumerated() {
                // Non-distributable layers with URLs may be absent from a layout.
                let optional = !(layer.urls ?? []).isEmpty
                let what = "layer \(position) of manifest \(descriptor.digest)"
                if let file = try staging.verifiedBlob(layer, what: what, optional: optional) {
                    plan.blobs[layer.digest] = file
                }
            }
        }
    }

    // MARK: Docker archives

    /// One image of `manifest.json` in a `docker save` tarball.
    private struct DockerArchiveEntry: Decodable {
        var config: String
        var repoTags: [String]?
        var layers: [String]

        enum CodingKeys: String, CodingKey {
            case config = "Config", repoTags = "RepoTags", layers = "Layers"
        }
    }

    private func planDocker(_ staging: ImportStaging, _ plan: inout ImportPlan) throws {
        let entries: [DockerArchiveEntry]
        do {
            entries = try JSONDecoder().decode([DockerArchiveEntry].self, from: staging.read("manifest.json"))
        } catch let error as ImageStoreError {
            throw error
        } catch {
            throw staging.invalid("manifest.json is not a docker save manifest: \(error)")
        }
        guard !entries.isEmpty else { throw staging.invalid("manifest.json lists no image") }
        for (position, entry) in entries.enumerated() {
            let what = "image \(position) of manifest.json"
            guard let configFile = try staging.file(entry.config) else {
                throw staging.invalid("\(what): config \(entry.config) is missing")
            }
            guard configFile.size <= 4 << 20 else { throw staging.invalid("\(what): config \(entry.config) is larger than 4 MiB") }
            let config: ImageConfiguration
            do {
                config = try OCIJSON.decode(ImageConfiguration.self, from: Sys.readFile(configFile.path))
            } catch {
                throw staging.invalid("\(what): config \(entry.config) does not decode: \(error)")
            }
            // Docker names the config by its digest (`<hex>.json` or `blobs/sha256/<hex>`):
            // check the name when it is one.
            let configName = ((entry.config as NSString).lastPathComponent as NSString).deletingPathExtension
            if configName.count == 64, let named = try? Digest(algorithm: .sha256, encoded: configName) {
                try staging.verify(configFile, named, size: nil, path: entry.config, what: "config of \(what)")
            }
            guard config.rootfs.diffIDs.count == entry.layers.count else {
                throw staging.invalid("\(what) has \(entry.layers.count) layers but its config lists \(config.rootfs.diffIDs.count) diff_ids")
            }
            let configDescriptor = Descriptor(mediaType: .imageConfig, digest: configFile.sha256, size: configFile.size)
            plan.blobs[configFile.sha256] = configFile
            var layers: [Descriptor] = []
            for (index, layerPath) in entry.layers.enumerated() {
                guard let layerFile = try staging.file(layerPath) else {
                    throw staging.invalid("layer \(index) of \(what): \(layerPath) is missing")
                }
                let compression = try staging.compression(of: layerFile)
                let diffID = compression == .none ? layerFile.sha256 : try staging.uncompressedDigest(of: layerFile, path: layerPath)
                let expected = config.rootfs.diffIDs[index]
                guard diffID == expected else {
                    throw ImageStoreError(
                        .digestMismatch,
                        "\(staging.origin): layer \(index) of \(what) (\(layerPath)) hashes to \(diffID), the config's diff_id is \(expected); nothing imported")
                }
                let mediaType: MediaType = switch compression {
                case .none: .imageLayer
                case .gzip: .imageLayerGzip
                case .zstd: .imageLayerZstd
                }
                layers.append(Descriptor(mediaType: mediaType, digest: layerFile.sha256, size: layerFile.size))
                plan.blobs[layerFile.sha256] = layerFile
            }
            let manifestData = try OCIJSON.encode(ImageManifest(config: configDescriptor, layers: layers))
            let manifestFile = try staging.stage(data: manifestData)
            plan.blobs[manifestFile.sha256] = manifestFile
            var descriptor = Descriptor(mediaType: .imageManifest, digest: manifestFile.sha256, size: manifestFile.size)
            descriptor.platform = config.platform
            plan.images.append((entry.repoTags ?? [], descriptor))
        }
    }
}
