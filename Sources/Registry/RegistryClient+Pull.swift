import Foundation
import ImageStore
import NIOCore
import OCISpec

extension RegistryClient {
    /// Pulls an image into a store: resolves the reference for `platform`, downloads the
    /// configuration and layers (``RegistryConfiguration/maxConcurrentDownloads`` at a
    /// time, resuming partial downloads left in the store's ingest area), stores the
    /// verified manifests and names the image.
    ///
    /// Nothing unverified is committed: each blob is hashed as it is written and
    /// committed only if it matches its descriptor; manifests are verified when fetched.
    ///
    /// With `unpack`, the pull also unpacks the layers into the store's snapshots (what
    /// `ImageStore.prepare` mounts) while it downloads: the config comes first (its diff
    /// IDs key the snapshots), then one task unpacks the layers in order, each from its
    /// ingest as the bytes arrive, while the downloads run ahead. A snapshot is committed
    /// only after its blob verified (see `ImageStore.unpack(_:config:options:ingests:)`).
    /// - Parameters:
    ///   - reference: the image; `latest` if it has neither tag nor digest.
    ///   - store: the image store.
    ///   - name: the name in the store; the fully qualified reference by default.
    ///   - platform: the platform to select from an index; the host's by default.
    ///   - unpack: unpack the layers into snapshots with these options while
    ///     downloading; `nil` (the default) downloads only.
    ///   - progress: called with progress reports, from any task. Unpack progress goes to
    ///     `unpack`'s own `UnpackOptions.progress`.
    /// - Returns: the stored image and what the pull did (with the snapshot directories
    ///   when it unpacked).
    /// - Throws: ``RegistryError`` naming the reference or digest at fault; when
    ///   unpacking, `ImageStoreError` naming the layer (and entry) that could not be
    ///   unpacked: `unsafeLayer`, `corrupt`, `digestMismatch` for a diff ID — only ever for
    ///   a layer whose blob verified. `CancellationError` when the calling task is cancelled.
    @discardableResult
    public func pull(
        _ reference: Reference, into store: ImageStore, name: String? = nil, platform: Platform = .current,
        unpack: UnpackOptions? = nil, progress: (@Sendable (PullProgress) -> Void)? = nil
    ) async throws -> PulledImage {
        let reference = reference.withDefaultTag()
        // Until the image is named its blobs are unreachable: the lease keeps garbage
        // collection (in any process) from sweeping them meanwhile.
        let lease = try store.lease()
        defer { lease.release() }
        let resolved = try await resolve(reference, platform: platform)
        let manifest = resolved.manifest
        let blobs = Self.unique([manifest.config] + manifest.layers)
        for blob in blobs where blob.size > configuration.maxBlobSize {
            throw RegistryError(
                .tooLarge, "\(reference): blob \(blob.digest) of \(blob.size) bytes exceeds the bound of \(configuration.maxBlobSize) bytes")
        }
        guard manifest.config.size <= configuration.maxConfigSize else {
            throw RegistryError(
                .tooLarge, "\(reference): config \(manifest.config.digest) of \(manifest.config.size) bytes exceeds the bound of \(configuration.maxConfigSize) bytes")
        }
        let totals = PullTotals(total: blobs.reduce(0) { $0 + $1.size })
        progress?(PullProgress(event: .resolved, descriptor: nil, blobBytes: 0, completedBytes: 0, totalBytes: totals.snapshot.total))

        var snapshots: [String] = []
        if let unpack {
            snapshots = try await downloadAndUnpack(
                manifest, from: reference, into: store, options: unpack, totals: totals, progress: progress)
        } else {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var pending = blobs[...]
                var running = 0
                while running < configuration.maxConcurrentDownloads, let blob = pending.popFirst() {
                    group.addTask { try await self.download(blob, from: reference, into: store, totals: totals, progress: progress) }
                    running += 1
                }
                while try await group.next() != nil {
                    if let blob = pending.popFirst() {
                        group.addTask { try await self.download(blob, from: reference, into: store, totals: totals, progress: progress) }
                    }
                }
            }
        }

        // Manifests last, child before parent, so a named image is always complete.
        for document in resolved.chain.reversed() {
            do {
                try await store.ingest(
                    data: document.data, digest: document.descriptor.digest, size: document.descriptor.size,
                    mediaType: document.descriptor.mediaType)
            } catch {
                throw RegistryError(.transport, "\(reference): storing manifest \(document.descriptor.digest) failed", underlying: error)
            }
        }
        let imageName = name ?? reference.description
        let stored: StoredImage
        do {
            var root = resolved.root.descriptor
            if resolved.chain.count > 1 { root.platform = nil }
            try store.tag(imageName, root)
            stored = try store.image(named: imageName, platform: platform)
        } catch {
            throw RegistryError(.transport, "\(reference): naming the image \(imageName) in \(store.root) failed", underlying: error)
        }
        let final = totals.snapshot
        return PulledImage(
            reference: resolved.pinned, image: stored, downloadedBytes: final.downloaded, reusedBlobs: final.reused,
            snapshots: snapshots)
    }

    /// Downloads the config, then the layers (``RegistryConfiguration/maxConcurrentDownloads``
    /// at a time, in layer order) while one task unpacks them, base first, each following
    /// its ingest as the download fills it.
    /// - Returns: the snapshot directories, base first.
    private func downloadAndUnpack(
        _ manifest: ImageManifest, from reference: Reference, into store: ImageStore, options: UnpackOptions,
        totals: PullTotals, progress: (@Sendable (PullProgress) -> Void)?
    ) async throws -> [String] {
        // The config's diff IDs name the snapshots, so it comes before the layers.
        try await download(manifest.config, from: reference, into: store, totals: totals, progress: progress)
        let config: ImageConfiguration
        do {
            config = try OCIJSON.decode(ImageConfiguration.self, from: store.readBlob(manifest.config.digest))
        } catch {
            throw RegistryError(
                .protocolError, "\(reference): config \(manifest.config.digest) is not an image configuration", underlying: error)
        }
        guard config.rootfs.diffIDs.count == manifest.layers.count else {
            throw RegistryError(
                .protocolError,
                "\(reference): the manifest has \(manifest.layers.count) layers but config \(manifest.config.digest) lists \(config.rootfs.diffIDs.count) diff_ids")
        }

        enum Finished: Sendable {
            case download
            case unpack([String])
        }
        let handoff = IngestHandoff()
        return try await withThrowingTaskGroup(of: Finished.self) { group in
            group.addTask {
                .unpack(try await store.unpack(manifest, config: config, options: options) { layer in
                    try await handoff.writer(for: layer.digest)
                })
            }
            var pending = Self.unique(manifest.layers)[...]
            var running = 0
            while running < configuration.maxConcurrentDownloads, let blob = pending.popFirst() {
                group.addTask {
                    try await self.download(blob, from: reference, into: store, totals: totals, progress: progress, handoff: handoff)
                    return .download
                }
                running += 1
            }
            var snapshots: [String] = []
            var failures: [any Error] = []
            while !group.isEmpty {
                do {
                    switch try await group.next() {
                    case .download?:
                        if failures.isEmpty, let blob = pending.popFirst() {
                            group.addTask {
                                try await self.download(
                                    blob, from: reference, into: store, totals: totals, progress: progress, handoff: handoff)
                                return .download
                            }
                        }
                    case .unpack(let paths)?:
                        snapshots = paths
                    case nil:
                        break
                    }
                } catch {
                    failures.append(error)
                    // An unpack that lost its ingest is the consequence of that layer's
                    // download failing, whose own error follows: wait for it rather
                    // than cancel it into a CancellationError.
                    if !Self.isConsequence(error) { group.cancelAll() }
                }
            }
            if let failure = failures.first(where: { !Self.isConsequence($0) && !($0 is CancellationError) })
                ?? failures.first(where: { $0 is CancellationError }) ?? failures.first
            {
                throw failure
            }
            return snapshots
        }
    }

    /// Whether a pull task's error only follows from another task's failure: an unpack
    /// whose ingest was closed or discarded by the download that failed.
    private static func isConsequence(_ error: any Error) -> Bool {
        (error as? ImageStoreError)?.code == .incomplete
    }

    /// Pulls an image as ``pull(_:into:name:platform:unpack:progress:)`` does, reporting
    /// progress as an async sequence that ends with ``PullEvent/pulled(_:)``. Cancelling
    /// the iteration (or dropping the sequence) cancels the pull.
    /// - Parameters:
    ///   - reference: the image.
    ///   - store: the image store.
    ///   - name: the name in the store; the fully qualified reference by default.
    ///   - platform: the platform to select from an index.
    ///   - unpack: unpack the layers into snapshots while downloading, with these options.
    /// - Returns: the events; the sequence throws what the pull throws.
    public func pullEvents(
        _ reference: Reference, into store: ImageStore, name: String? = nil, platform: Platform = .current,
        unpack: UnpackOptions? = nil
    ) -> AsyncThrowingStream<PullEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: PullEvent.self, throwing: (any Error).self)
        let task = Task {
            do {
                let pulled = try await self.pull(reference, into: store, name: name, platform: platform, unpack: unpack) { report in
                    continuation.yield(.progress(report))
                }
                continuation.yield(.pulled(pulled))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Downloads one blob into the store's ingest area, resuming a partial copy, and
    /// commits it once its size and digest are verified.
    /// - Parameters:
    ///   - descriptor: the blob.
    ///   - repository: the repository holding it.
    ///   - store: the image store.
    ///   - progress: called with progress reports.
    /// - Returns: the committed blob's descriptor.
    /// - Throws: ``RegistryError`` `digestMismatch` (nothing committed, partial removed),
    ///   `tooLarge`, `notFound`, `transport` (partial kept for the next attempt).
    @discardableResult
    public func download(
        _ descriptor: Descriptor, from repository: Reference, into store: ImageStore,
        progress: (@Sendable (PullProgress) -> Void)? = nil
    ) async throws -> Descriptor {
        let totals = PullTotals(total: descriptor.size)
        try await download(descriptor, from: repository, into: store, totals: totals, progress: progress)
        return descriptor
    }

    /// Downloads one blob; with a handoff, offers its writer there before the first byte
    /// so that the layer can be unpacked as it arrives.
    private func download(
        _ descriptor: Descriptor, from repository: Reference, into store: ImageStore, totals: PullTotals,
        progress: (@Sendable (PullProgress) -> Void)?, handoff: IngestHandoff? = nil
    ) async throws {
        let subject = "blob \(descriptor.digest) of \(repository.repository)"
        let writer: BlobWriter
        do {
            writer = try await store.openIngest(digest: descriptor.digest, size: descriptor.size)
        } catch {
            let failure = RegistryError(.transport, "\(subject): cannot open an ingest in \(store.root)", underlying: error)
            handoff?.fail(descriptor.digest, failure)
            throw failure
        }
        handoff?.offer(writer)
        func report(_ event: PullProgress.Event, blobBytes: Int64, added: Int64, downloaded: Int64 = 0) {
            let snapshot = totals.record(completed: added, downloaded: downloaded, reused: event == .alreadyPresent)
            progress?(PullProgress(
                event: event, descriptor: descriptor, blobBytes: blobBytes, completedBytes: snapshot.completed,
                totalBytes: snapshot.total))
        }
        if writer.alreadyExists {
            report(.alreadyPresent, blobBytes: descriptor.size, added: descriptor.size)
            return
        }
        let resumedAt = writer.offset
        report(.started(resumedAt: resumedAt), blobBytes: resumedAt, added: resumedAt)
        var unreported: Int64 = 0
        do {
            // The writer hashes every byte (the resumed prefix included) and commits
            // nothing that does not match, so the stream need not hash them again.
            let stream = BlobStream(
                client: self, repository: repository, descriptor: descriptor, offset: min(resumedAt, descriptor.size),
                verifiesDigest: false)
            for try await chunk in stream {
                // Buffered chunks arrive without a suspension that would notice a
                // cancelled pull: check, so that a cancelled pull stops writing at once.
                try Task.checkCancellation()
                try writer.write(chunk)
                unreported += Int64(chunk.count)
                if unreported >= 1 << 20 {
                    report(.downloading, blobBytes: writer.offset, added: unreported, downloaded: unreported)
                    unreported = 0
                }
            }
        } catch let error as RegistryError where error.code == .transport {
            writer.close()  // keep the partial: the next pull resumes it
            throw error
        } catch let error as RegistryError {
            writer.abort()
            throw error
        } catch let error as ImageStoreError {
            writer.abort()
            throw RegistryError(
                error.code == .sizeMismatch ? .tooLarge : .transport, "\(subject): writing to \(store.root) failed", underlying: error)
        } catch {
            writer.close()
            throw error
        }
        do {
            _ = try await BlockingWork.run { try writer.commit(mediaType: descriptor.mediaType) }
        } catch let error as ImageStoreError where error.code == .digestMismatch || error.code == .sizeMismatch {
            throw RegistryError(.digestMismatch, "\(subject): downloaded content does not match; nothing committed", underlying: error)
        } catch {
            writer.close()
            throw RegistryError(.transport, "\(subject): committing to \(store.root) failed", underlying: error)
        }
        report(.committed, blobBytes: descriptor.size, added: unreported, downloaded: unreported)
    }

    static func unique(_ descriptors: [Descriptor]) -> [Descriptor] {
        var seen = Set<Digest>()
        return descriptors.filter { seen.insert($0.digest).inserted }
    }
}
