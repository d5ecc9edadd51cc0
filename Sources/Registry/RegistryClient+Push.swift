import Foundation
import ImageStore
import OCISpec

extension RegistryClient {
    /// Pushes an image from a store: its blobs (skipping those the repository has,
    /// mounting from `mountFrom` when possible), its platform manifests by digest, and
    /// the root document under the reference's tag (or by digest if it has none).
    /// - Parameters:
    ///   - name: the image's name in the store.
    ///   - store: the image store.
    ///   - reference: the target; `latest` if it has neither tag nor digest.
    ///   - mountFrom: a repository of the same registry to mount blobs from.
    /// - Returns: the pushed root descriptor and the outcome per blob.
    /// - Throws: ``RegistryError``: `notFound` if the store lacks the image or a blob it
    ///   needs, `digestMismatch` if a stored blob is corrupt, and the registry's refusals.
    @discardableResult
    public func push(
        _ name: String, from store: ImageStore, to reference: Reference, mountFrom: Reference? = nil
    ) async throws -> PushedImage {
        let reference = reference.withDefaultTag()
        let entries: [Descriptor]
        do {
            entries = try store.index().manifests(named: name)
        } catch {
            throw RegistryError(.notFound, "push \(reference): cannot read the index of \(store.root)", underlying: error)
        }
        guard entries.count == 1, var root = entries.first else {
            throw RegistryError(
                .notFound, entries.isEmpty
                    ? "push \(reference): no image named \(name) in \(store.root)"
                    : "push \(reference): \(entries.count) entries named \(name) in \(store.root); push one index")
        }
        root.annotations = nil
        root.platform = nil
        var outcomes: [Digest: BlobPushOutcome] = [:]
        let pushed = try await pushDocument(
            root, from: store, to: reference, asRoot: true, mountFrom: mountFrom, outcomes: &outcomes, depth: 0)
        return PushedImage(reference: reference.withDigest(pushed.digest), descriptor: pushed, blobs: outcomes)
    }

    private func pushDocument(
        _ descriptor: Descriptor, from store: ImageStore, to reference: Reference, asRoot: Bool, mountFrom: Reference?,
        outcomes: inout [Digest: BlobPushOutcome], depth: Int
    ) async throws -> Descriptor {
        guard depth < 5 else { throw RegistryError(.protocolError, "push \(reference): indexes nest more than 4 levels deep") }
        let data: Data
        do {
            data = try store.readBlob(descriptor.digest)
        } catch {
            throw RegistryError(.notFound, "push \(reference): manifest \(descriptor.digest) unreadable in \(store.root)", underlying: error)
        }
        let document: ManifestDocument
        do {
            let declared = descriptor.mediaType.isIndex || descriptor.mediaType.isManifest ? descriptor.mediaType : nil
            document = try ManifestDocument.decode(data, mediaType: declared)
        } catch {
            throw RegistryError(.protocolError, "push \(reference): \(descriptor.digest) is not a manifest or index", underlying: error)
        }
        switch document {
        case .index(let index):
            for child in index.manifests {
                _ = try await pushDocument(
                    child, from: store, to: reference, asRoot: false, mountFrom: mountFrom, outcomes: &outcomes,
                    depth: depth + 1)
            }
        case .manifest(let manifest):
            for blob in Self.unique([manifest.config] + manifest.layers) where outcomes[blob.digest] == nil {
                guard store.contains(blob.digest) else {
                    throw RegistryError(.notFound, "push \(reference): blob \(blob.digest) is not in \(store.root)")
                }
                outcomes[blob.digest] = try await pushBlob(
                    blob, contentsOf: store.blobPath(blob.digest), to: reference, mountFrom: mountFrom)
            }
        }
        let mediaType = document.mediaType
            ?? (descriptor.mediaType.isIndex || descriptor.mediaType.isManifest ? descriptor.mediaType
                : (document.index != nil ? .imageIndex : .imageManifest))
        let target = asRoot ? reference : reference.repository.withDigest(descriptor.digest)
        var pinned = target
        if asRoot, reference.tag == nil { pinned = reference.repository.withDigest(descriptor.digest) }
        return try await pushManifest(data, mediaType: mediaType, to: pinned)
    }
}
