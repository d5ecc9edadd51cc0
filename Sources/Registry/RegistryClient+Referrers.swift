import Foundation
import NIOHTTP1
import OCISpec

// Spec: distribution-spec v1.1 spec.md#listing-referrers, #referrers-tag-schema,
// #pushing-manifests-with-subject
extension RegistryClient {
    /// The manifests that refer to a manifest through their `subject` (signatures,
    /// SBOMs, attestations): from the registry's referrers API, or, where the registry
    /// has none (HTTP 404), from the referrers tag schema (the index tagged
    /// `<alg>-<hex>` of the subject's digest).
    /// - Parameters:
    ///   - subject: the manifest referred to; by digest, or by tag (resolved with `HEAD`).
    ///   - artifactType: only referrers of this artifact type; all when nil. Filtered here
    ///     when the registry does not say it filtered (`OCI-Filters-Applied`).
    /// - Returns: the referrers' descriptors (media type, digest, size, artifact type,
    ///   annotations), in the registry's order.
    /// - Throws: ``RegistryError`` `notFound` when a tag does not resolve, `protocolError`
    ///   when the answer or the fallback tag is not an image index, and the registry's
    ///   refusals.
    public func referrers(of subject: Reference, artifactType: MediaType? = nil) async throws -> [Descriptor] {
        let digest: Digest
        if let pinned = subject.digest {
            digest = pinned
        } else {
            guard let descriptor = try await manifestDescriptor(subject) else {
                throw RegistryError(.notFound, "referrers of \(subject.withDefaultTag()): no such manifest")
            }
            digest = descriptor.digest
        }
        let repository = subject.repository
        let label = "referrers of \(repository.withDigest(digest))"
        var url = endpoint(repository).url("\(repository.path)/referrers/\(digest)")
        if let artifactType {
            var query = URLComponents()
            query.queryItems = [URLQueryItem(name: "artifactType", value: artifactType.rawValue)]
            url += "?" + (query.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: MediaType.imageIndex.rawValue)
        var found: [Descriptor] = []
        var filtered = true
        for _ in 0..<1_000 {
            let response = try await send(RegistryRequest(
                .GET, url, headers: headers, scopes: [Self.pullScope(repository)], subject: label,
                timeout: configuration.requestTimeout))
            if response.status == .notFound, found.isEmpty {
                await Self.discard(response)
                return try await referrersFromTagSchema(of: digest, in: repository, artifactType: artifactType)
            }
            guard response.status == .ok else { throw await failure(response, subject: label, url: url) }
            let applied = response.headers[canonicalForm: "OCI-Filters-Applied"].map { $0.lowercased() }
            if !applied.contains("artifacttype") { filtered = false }
            let next = response.headers.first(name: "Link").flatMap(Self.nextLink)
            let data = try await collect(response, limit: configuration.maxManifestSize, subject: label)
            guard let index = try? OCIJSON.decode(ImageIndex.self, from: data) else {
                throw RegistryError(.protocolError, "\(label): \(url) answered no image index")
            }
            found += index.manifests
            guard let next, let resolved = RegistryEndpoint.resolve(next, against: url) else {
                return Self.filter(found, artifactType: filtered ? nil : artifactType)
            }
            guard RegistryEndpoint.authority(of: resolved) == RegistryEndpoint.authority(of: url) else {
                throw RegistryError(.protocolError, "\(label): pagination link leaves the registry (\(resolved))")
            }
            url = resolved
        }
        throw RegistryError(.protocolError, "\(label): more than 1,000 pages")
    }

    /// The referrers tag of a digest: `<alg>-<encoded>`, the algorithm cut to 32 and the
    /// encoded part to 64 characters, anything outside the tag grammar replaced by `-`.
    /// - Parameter digest: the subject's digest.
    /// - Returns: the tag (`sha256-<64 hex>` for sha256).
    public static func referrersTag(for digest: Digest) -> String {
        func clean(_ text: Substring) -> String {
            String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") ? $0 : "-" })
        }
        return clean(digest.algorithm.name.prefix(32)) + "-" + clean(digest.encoded.prefix(64))
    }

    /// The referrers listed by the tag schema's index; none when the tag does not exist.
    private func referrersFromTagSchema(
        of digest: Digest, in repository: Reference, artifactType: MediaType?
    ) async throws -> [Descriptor] {
        guard let index = try await referrersTagIndex(of: digest, in: repository) else { return [] }
        return Self.filter(index.manifests, artifactType: artifactType)
    }

    /// The index under a digest's referrers tag, or nil if the tag does not exist. Read
    /// from the registry itself when it is about to be rewritten (a mirror may be stale),
    /// else from the pull endpoints.
    private func referrersTagIndex(of digest: Digest, in repository: Reference, forUpdate: Bool = false) async throws
        -> ImageIndex?
    {
        let tag = Self.referrersTag(for: digest)
        let tagged = try repository.withTag(tag)
        let fetched: FetchedManifest
        do {
            fetched = forUpdate
                ? try await fetchManifest(tagged, target: tag, expected: nil, expectedSize: nil, at: endpoint(tagged))
                : try await fetchManifest(tagged)
        } catch let error as RegistryError where error.code == .notFound {
            return nil
        }
        guard case .index(let index) = fetched.document else {
            throw RegistryError(.protocolError, "\(tagged): the referrers tag names a manifest, not an image index")
        }
        return index
    }

    /// After pushing a manifest with a `subject` to a registry that did not confirm it
    /// (no `OCI-Subject` header): adds the manifest to the subject's referrers tag index,
    /// as the spec asks of clients. Concurrent writers can lose each other's entries; the
    /// spec accepts that race.
    func recordReferrer(_ descriptor: Descriptor, document: ManifestDocument, subject: Digest, in repository: Reference)
        async throws
    {
        var entry = descriptor
        entry.platform = nil
        entry.data = nil
        switch document {
        case .manifest(let manifest):
            entry.artifactType = manifest.artifactType ?? manifest.config.mediaType
            entry.annotations = manifest.annotations
        case .index(let index):
            entry.artifactType = index.artifactType
            entry.annotations = index.annotations
        }
        var index = try await referrersTagIndex(of: subject, in: repository, forUpdate: true) ?? ImageIndex(manifests: [])
        guard !index.manifests.contains(where: { $0.digest == entry.digest }) else { return }
        index.manifests.append(entry)
        let tagged = try repository.withTag(Self.referrersTag(for: subject))
        try await pushManifest(try OCIJSON.encode(index), mediaType: .imageIndex, to: tagged)
    }

    static func filter(_ descriptors: [Descriptor], artifactType: MediaType?) -> [Descriptor] {
        guard let artifactType else { return descriptors }
        return descriptors.filter { $0.artifactType == artifactType }
    }
}
