import Foundation
import OCISpec

extension ImageStore {
    /// Unpacks an image's layers into their snapshots while the layer blobs are still
    /// being downloaded: each layer is extracted from its ingest as the bytes arrive, so
    /// unpacking hides behind the download (and the download behind unpacking).
    ///
    /// Layers are unpacked one at a time, base first (a snapshot is keyed by its chain
    /// ID, which depends on the layers below it). For each layer whose snapshot is
    /// missing, `ingests` is asked for the ``BlobWriter`` that receives the layer's blob
    /// (it may wait until the download opens it); the unpack follows the partial file as
    /// the writer fills it. Layers already unpacked are skipped without asking.
    ///
    /// Nothing unverified is committed: a snapshot appears (by rename) only after the
    /// writer committed the blob — its size and digest verified — and the uncompressed
    /// content matched the config's diff ID. If the writer is discarded (a digest
    /// mismatch) or closed (an interrupted download), the partial snapshot is removed and
    /// this throws `incomplete`; the writer's owner reports the cause. Cancelling the
    /// calling task stops the unpack within a read and removes the partial snapshot.
    ///
    /// ```swift
    /// let snapshots = try await store.unpack(manifest, config: config) { layer in
    ///     try await downloads.writer(for: layer.digest)  // opened by the task downloading it
    /// }
    /// ```
    /// - Parameters:
    ///   - manifest: the image manifest (its config need not be in the store).
    ///   - config: the image configuration; its diff IDs key the snapshots.
    ///   - options: limits, policies and progress; the mode is forced to `.snapshot` and
    ///     layers go one at a time whatever ``UnpackOptions/maxParallelLayers`` says.
    ///   - ingests: gives the writer of a layer's blob: open (being written) or committed.
    ///     A writer that found the blob already stored (``BlobWriter/alreadyExists``) is
    ///     unpacked from the stored blob, which is re-hashed as it is read.
    /// - Returns: the snapshot directories, base first.
    /// - Throws: ``ImageStoreError``: `incomplete` if a layer's ingest ended without a
    ///   commit; `corrupt` if the config's diff IDs do not match the manifest's layers, or
    ///   for a broken layer; `unsafeLayer`, `digestMismatch` (diff ID) and `io` from the
    ///   unpack, naming the layer; what `ingests` throws; `CancellationError` when cancelled.
    @discardableResult
    public func unpack(
        _ manifest: ImageManifest, config: ImageConfiguration, options: UnpackOptions = UnpackOptions(),
        ingests: @Sendable (Descriptor) async throws -> BlobWriter
    ) async throws -> [String] {
        let diffIDs = config.rootfs.diffIDs
        guard diffIDs.count == manifest.layers.count else {
            throw ImageStoreError(
                .corrupt,
                "manifest with config \(manifest.config.digest) has \(manifest.layers.count) layers but the config lists \(diffIDs.count) diff_ids")
        }
        var snapshotOptions = options
        snapshotOptions.mode = .snapshot
        let chain = ChainID.chain(diffIDs)
        var paths: [String] = []
        for (index, layer) in manifest.layers.enumerated() {
            let path = snapshotPath(chain[index])
            paths.append(path)
            if Sys.lstat(path) != nil { continue }
            let writer = try await ingests(layer)
            guard writer.digest == layer.digest, writer.size == layer.size else {
                throw ImageStoreError(
                    .invalidLayout,
                    "layer \(layer.digest) of \(layer.size) bytes: the ingest given for it is of \(writer.digest), \(writer.size) bytes")
            }
            try await unpackLayer(
                layer, diffID: diffIDs[index], chainID: chain[index], parent: index > 0 ? chain[index - 1] : nil, from: writer,
                options: snapshotOptions)
        }
        return paths
    }

    /// Unpacks one layer from its ingest (or its stored blob) into its snapshot, off the
    /// cooperative pool; the task's cancellation reaches the unpacking thread.
    private func unpackLayer(
        _ layer: Descriptor, diffID: Digest, chainID: Digest, parent: Digest?, from writer: BlobWriter, options: UnpackOptions
    ) async throws {
        let cancellation = UnpackCancellation()
        try await withTaskCancellationHandler {
            do {
                try await BlockingIO.run {
                    try self.withSharedStoreLock {
                        try self.commitSnapshot(chainID: chainID, parent: parent, layer: layer) { directory in
                            if writer.alreadyExists {
                                return try LayerUnpacker.unpack(
                                    blobAt: self.blobPath(layer.digest), descriptor: layer, diffID: diffID, into: directory,
                                    options: options, cancellation: cancellation)
                            }
                            let follower = try writer.follow(cancellation: cancellation)
                            return try LayerUnpacker.unpack(
                                following: follower, descriptor: layer, diffID: diffID, into: directory, options: options,
                                cancellation: cancellation)
                        }
                    }
                }
            } catch where cancellation.isCancelled {
                throw CancellationError()
            }
        } onCancel: {
            cancellation.cancel()
        }
    }
}
