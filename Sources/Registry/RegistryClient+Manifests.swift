import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OCIHashing
import OCISpec

// Spec: distribution-spec v1.1 spec.md#pulling-manifests, #pushing-manifests
extension RegistryClient {
    /// The media types a manifest request accepts: OCI and Docker v2 schema 2
    /// manifests and indexes (never schema 1).
    public static let manifestAcceptTypes: [MediaType] = [
        .imageIndex, .imageManifest, .dockerManifestList, .dockerManifest,
    ]

    /// Resolves a reference to one platform's image manifest: fetches what the reference
    /// names, and from an index the best match for `platform`, verifying every document.
    /// - Parameters:
    ///   - reference: the image; `latest` is used when it has neither tag nor digest.
    ///   - platform: the platform to select from an index; the host's by default.
    /// - Returns: the verified documents down to the manifest.
    /// - Throws: ``RegistryError``: `notFound` (also when no manifest matches the
    ///   platform), `digestMismatch`, `tooLarge`, `unsupported` (Docker schema 1),
    ///   `unauthorized`, `transport`.
    public func resolve(_ reference: Reference, platform: Platform = .current) async throws -> ResolvedManifest {
        let reference = reference.withDefaultTag()
        var chain = [try await fetchManifest(reference)]
        while true {
            let current = chain[chain.count - 1]
            guard case .index(let index) = current.document else {
                guard let manifest = current.document.manifest else { break }
                return ResolvedManifest(reference: reference, chain: chain, manifest: manifest)
            }
            guard chain.count < 5 else {
                throw RegistryError(.protocolError, "\(reference): indexes nest more than 4 levels deep")
            }
            guard let entry = index.manifest(for: platform) ?? (index.manifests.count == 1 ? index.manifests.first : nil)
            else {
                let available = index.manifests.compactMap { $0.platform?.description }.joined(separator: ", ")
                throw RegistryError(
                    .notFound, "\(reference): no manifest for platform \(platform) (index has: \(available.isEmpty ? "none" : available))")
            }
            chain.append(try await fetchManifest(reference, descriptor: entry))
        }
        throw RegistryError(.protocolError, "\(reference): resolution ended on a document that is not a manifest")
    }

    /// Fetches and verifies the manifest or index a reference names (its digest if it
    /// has one, else its tag). By digest, the bytes must hash to it; by tag, to the
    /// registry's `Docker-Content-Digest` if it sends one.
    /// - Parameter reference: the manifest's reference; `latest` if it has no tag or digest.
    /// - Returns: the verified document.
    /// - Throws: ``RegistryError`` as ``resolve(_:platform:)``.
    public func fetchManifest(_ reference: Reference) async throws -> FetchedManifest {
        let reference = reference.withDefaultTag()
        let target = reference.digest?.description ?? reference.tag ?? Reference.defaultTag
        return try await fetchManifest(reference, target: target, expected: reference.digest, expectedSize: nil)
    }

    /// Fetches and verifies the manifest or index a descriptor points to in a repository.
    /// - Parameters:
    ///   - repository: the repository (its tag and digest are ignored).
    ///   - descriptor: the document's descriptor; its digest and size are enforced.
    /// - Returns: the verified document.
    /// - Throws: ``RegistryError`` as ``resolve(_:platform:)``.
    public func fetchManifest(_ repository: Reference, descriptor: Descriptor) async throws -> FetchedManifest {
        let reference = repository.repository.withDigest(descriptor.digest)
        guard descriptor.size <= Int64(configuration.maxManifestSize) else {
            throw RegistryError(
                .tooLarge, "\(reference): manifest of \(descriptor.size) bytes exceeds the bound of \(configuration.maxManifestSize) bytes")
        }
        return try await fetchManifest(
            reference, target: descriptor.digest.description, expected: descriptor.digest, expectedSize: descriptor.size)
    }

    /// Asks for a manifest's descriptor without downloading it (`HEAD`).
    /// - Parameter reference: the manifest's reference.
    /// - Returns: the descriptor the registry reports, or `nil` if it has no such manifest.
    /// - Throws: ``RegistryError`` for failures other than 404.
    public func manifestDescriptor(_ reference: Reference) async throws -> Descriptor? {
        let reference = reference.withDefaultTag()
        return try await fromPullEndpoints(reference, subject: "\(reference)") { endpoint in
            try await manifestDescriptor(reference, at: endpoint)
        }
    }

    private func manifestDescriptor(_ reference: Reference, at endpoint: RegistryEndpoint) async throws -> Descriptor? {
        let target = reference.digest?.description ?? reference.tag ?? Reference.defaultTag
        let url = endpoint.url("\(reference.path)/manifests/\(target)")
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: Self.manifestAcceptTypes.map(\.rawValue).joined(separator: ", "))
        let response = try await send(RegistryRequest(
            .HEAD, url, headers: headers, scopes: [Self.pullScope(reference)], subject: "\(reference)",
            retryable: !endpoint.isMirror, timeout: configuration.requestTimeout))
        if response.status == .notFound {
            await Self.discard(response)
            // A mirror lacking the manifest is a miss, not an answer: the registry decides.
            if endpoint.isMirror { throw RegistryError(.notFound, "\(reference): not on mirror \(endpoint.host)") }
            return nil
        }
        guard response.status == .ok else { throw await failure(response, subject: "\(reference)", url: url) }
        await Self.discard(response)
        let mediaType = try Self.contentType(response.headers, reference: reference)
        guard let digestHeader = response.headers.first(name: "Docker-Content-Digest") else {
            if let digest = reference.digest, let size = response.headers.first(name: "Content-Length").flatMap(Int64.init) {
                return Descriptor(mediaType: mediaType ?? .imageManifest, digest: digest, size: size)
            }
            throw RegistryError(.protocolError, "\(reference): HEAD \(url) sent no Docker-Content-Digest")
        }
        let digest = try Self.parseDigest(digestHeader, reference: reference)
        if let expected = reference.digest, expected != digest {
            throw RegistryError(.digestMismatch, "\(reference): registry reports digest \(digest)")
        }
        guard let size = response.headers.first(name: "Content-Length").flatMap(Int64.init) else {
            throw RegistryError(.protocolError, "\(reference): HEAD \(url) sent no Content-Length")
        }
        return Descriptor(mediaType: mediaType ?? .imageManifest, digest: digest, size: size)
    }

    /// Uploads a manifest or index under a tag or its digest.
    /// - Parameters:
    ///   - data: the document's exact bytes.
    ///   - mediaType: its media type (sent as `Content-Type`).
    ///   - reference: where to put it: its tag if it has one, else its digest, else the
    ///     bytes' own digest.
    /// - Returns: the document's descriptor.
    /// - Throws: ``RegistryError``: `digestMismatch` if the registry reports another
    ///   digest, `tooLarge`, `unauthorized`, `denied`, `protocolError`.
    ///
    /// A document with a `subject` pushed to a registry without the referrers API (no
    /// `OCI-Subject` in the answer) is also added to the subject's referrers tag index
    /// (see ``referrers(of:artifactType:)``).
    @discardableResult
    public func pushManifest(_ data: Data, mediaType: MediaType, to reference: Reference) async throws -> Descriptor {
        guard data.count <= configuration.maxManifestSize else {
            throw RegistryError(.tooLarge, "\(reference): manifest of \(data.count) bytes exceeds the bound of \(configuration.maxManifestSize) bytes")
        }
        let descriptor = Descriptor.of(data, mediaType: mediaType)
        if let digest = reference.digest, reference.tag == nil, digest != descriptor.digest {
            throw RegistryError(.digestMismatch, "\(reference): manifest content hashes to \(descriptor.digest)")
        }
        let target = reference.tag ?? descriptor.digest.description
        let url = endpoint(reference).url("\(reference.path)/manifests/\(target)")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: mediaType.rawValue)
        let response = try await send(RegistryRequest(
            .PUT, url, headers: headers, body: ByteBuffer(data: data), scopes: [Self.pushScope(reference)],
            subject: "\(reference)", timeout: configuration.requestTimeout))
        guard response.status == .created || response.status == .ok else {
            throw await failure(response, subject: "push manifest \(reference)", url: url)
        }
        await Self.discard(response)
        if let header = response.headers.first(name: "Docker-Content-Digest") {
            let reported = try Self.parseDigest(header, reference: reference)
            guard reported == descriptor.digest else {
                throw RegistryError(
                    .digestMismatch, "\(reference): registry stored manifest as \(reported), content hashes to \(descriptor.digest)")
            }
        }
        // A registry with the referrers API confirms a subject with OCI-Subject; without
        // it, the client keeps the subject's referrers tag index up to date.
        if response.headers.first(name: "OCI-Subject") == nil,
            let document = try? ManifestDocument.decode(data, mediaType: mediaType),
            let subject = Self.subject(of: document)
        {
            try await recordReferrer(descriptor, document: document, subject: subject.digest, in: reference.repository)
        }
        return descriptor
    }

    // MARK: - Internals

    private func fetchManifest(
        _ reference: Reference, target: String, expected: Digest?, expectedSize: Int64?
    ) async throws -> FetchedManifest {
        try await fromPullEndpoints(reference, subject: "\(reference)") { endpoint in
            try await fetchManifest(reference, target: target, expected: expected, expectedSize: expectedSize, at: endpoint)
        }
    }

    /// Fetches and verifies a manifest from one endpoint (a mirror or the registry).
    func fetchManifest(
        _ reference: Reference, target: String, expected: Digest?, expectedSize: Int64?, at endpoint: RegistryEndpoint
    ) async throws -> FetchedManifest {
        let url = endpoint.url("\(reference.path)/manifests/\(target)")
        var headers = HTTPHeaders()
        headers.add(name: "Accept", value: Self.manifestAcceptTypes.map(\.rawValue).joined(separator: ", "))
        let response = try await send(RegistryRequest(
            .GET, url, headers: headers, scopes: [Self.pullScope(reference)], subject: "\(reference)",
            retryable: !endpoint.isMirror, timeout: configuration.requestTimeout))
        guard response.status == .ok else { throw await failure(response, subject: "\(reference)", url: url) }
        let contentType = try Self.contentType(response.headers, reference: reference)
        if let contentType, contentType.isDockerSchema1 {
            await Self.discard(response)
            throw RegistryError(
                .unsupported, "\(reference): manifest is Docker schema 1 (\(contentType)), which Caisson does not support")
        }
        let digestHeader = response.headers.first(name: "Docker-Content-Digest")
        let data = try await collect(response, limit: configuration.maxManifestSize, subject: "\(reference)")
        if let expectedSize, Int64(data.count) != expectedSize {
            throw RegistryError(
                .digestMismatch, "\(reference): manifest is \(data.count) bytes, its descriptor says \(expectedSize)")
        }
        let digest: Digest
        if let expected {
            let actual = Digest.hash(data, algorithm: expected.algorithm)
            guard actual == expected else {
                throw RegistryError(.digestMismatch, "\(reference): manifest content hashes to \(actual)")
            }
            digest = expected
        } else if let digestHeader {
            let reported = try Self.parseDigest(digestHeader, reference: reference)
            let actual = Digest.hash(data, algorithm: reported.algorithm)
            guard actual == reported else {
                throw RegistryError(
                    .digestMismatch, "\(reference): manifest content hashes to \(actual), registry reports \(reported)")
            }
            digest = Digest.sha256(of: data)
        } else {
            digest = Digest.sha256(of: data)
        }
        let document: ManifestDocument
        do {
            let declared = contentType.flatMap { $0.isIndex || $0.isManifest ? $0 : nil }
            document = try ManifestDocument.decode(data, mediaType: declared)
        } catch let error as OCISpecError where error.code == .unsupported {
            throw RegistryError(.unsupported, "\(reference): \(error.message)")
        } catch {
            throw RegistryError(.protocolError, "\(reference): manifest \(digest) does not decode", underlying: error)
        }
        let mediaType = document.mediaType ?? contentType.flatMap { $0.isIndex || $0.isManifest ? $0 : nil }
            ?? (document.index != nil ? MediaType.imageIndex : MediaType.imageManifest)
        let descriptor = Descriptor(mediaType: mediaType, digest: digest, size: Int64(data.count))
        return FetchedManifest(descriptor: descriptor, data: data, document: document)
    }

    /// The `subject` of a manifest or index.
    static func subject(of document: ManifestDocument) -> Descriptor? {
        switch document {
        case .manifest(let manifest): return manifest.subject
        case .index(let index): return index.subject
        }
    }

    static func contentType(_ headers: HTTPHeaders, reference: Reference) throws -> MediaType? {
        guard let value = headers.first(name: "Content-Type"), !value.isEmpty else { return nil }
        return try? MediaType(parsing: value)
    }

    static func parseDigest(_ value: String, reference: Reference) throws -> Digest {
        do {
            return try Digest(parsing: value.trimmingCharacters(in: .whitespaces))
        } catch {
            throw RegistryError(.protocolError, "\(reference): registry sent an invalid digest \"\(value.prefix(140))\"")
        }
    }
}
