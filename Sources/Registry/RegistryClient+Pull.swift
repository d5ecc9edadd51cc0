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
    /// - Parameters:
    ///   - reference: the image; `latest` if it has neither tag nor digest.
    ///   - store: the image store.
    ///   - name: the name in the store; the fully qualified reference by default.
    ///   - platform: the platform to select from an index; the host's by default.
    ///   - progress: called with progress reports, from any task.
    /// - Returns: the stored image and what the pull did.
    /// - Throws: ``RegistryError`` naming the reference or digest at fault.
    @discardableResult
    public func pull(
        _ reference: Reference, into store: ImageStore, name: String? = nil, platform: Platform = .current,
        progress: (@Sendable (PullProgress) -> Void)? = nil
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
            reference: resolved.pinned, image: stored, downloadedBytes: final.downloaded, reusedBlobs: final.reused)
    }

    /// Pulls an image as ``pull(_:into:name:platform:progress:)`` does, reporting progress
    /// as an async sequence that ends with ``PullEvent/pulled(_:)``. Cancelling the
    /// iteration (or dropping the sequence) cancels the pull.
    /// - Parameters:
    ///   - reference: the image.
    ///   - store: the image store.
    ///   - name: the name in the store; the fully qualified reference by default.
    ///   - platform: the platform to select from an index.
    /// - Returns: the events; the sequence throws what the pull throws.
    public func pullEvents(
        _ reference: Reference, into store: ImageStore, name: String? = nil, platform: Platform = .current
    ) -> AsyncThrowingStream<PullEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: PullEvent.self, throwing: (any Error).self)
        let task = Task {
            do {
                let pulled = try await self.pull(reference, into: store, name: name, platform: platform) { report in
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

    private func download(
        _ descriptor: Descriptor, from repository: Reference, into store: ImageStore, totals: PullTotals,
        progress: (@Sendable (PullProgress) -> Void)?
    ) async throws {
        let subject = "blob \(descriptor.digest) of \(repository.repository)"
        let writer: BlobWriter
        do {
            writer = try await store.openIngest(digest: descriptor.digest, size: descriptor.size)
        } catch {
            throw RegistryError(.transport, "\(subject): cannot open an ingest in \(store.root)", underlying: error)
        }
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
            for try await chunk in blob(descriptor, in: repository, from: resumedAt) {
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
