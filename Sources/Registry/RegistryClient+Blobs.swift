import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OCIHashing
import OCISpec

// Spec: distribution-spec v1.1 spec.md#pulling-blobs, #pushing-blobs, #mounting-a-blob-from-another-repository
extension RegistryClient {
    /// Streams a blob from a registry, resuming interrupted transfers. See ``BlobStream``.
    /// - Parameters:
    ///   - descriptor: the blob's descriptor (digest and size are enforced).
    ///   - repository: the repository holding it.
    ///   - offset: the first byte wanted (for resuming a partial copy); 0 verifies the digest.
    /// - Returns: the byte stream.
    public func blob(_ descriptor: Descriptor, in repository: Reference, from offset: Int64 = 0) -> BlobStream {
        BlobStream(client: self, repository: repository, descriptor: descriptor, offset: max(0, min(offset, descriptor.size)))
    }

    /// Downloads a small blob (an image configuration) into memory and verifies it.
    /// - Parameters:
    ///   - descriptor: the blob's descriptor.
    ///   - repository: the repository holding it.
    /// - Returns: the verified bytes.
    /// - Throws: ``RegistryError`` `tooLarge` if the descriptor exceeds
    ///   ``RegistryConfiguration/maxConfigSize``, `digestMismatch`, `notFound`, `transport`.
    public func fetchBlob(_ descriptor: Descriptor, in repository: Reference) async throws -> Data {
        guard descriptor.size <= configuration.maxConfigSize else {
            throw RegistryError(
                .tooLarge,
                "blob \(descriptor.digest) of \(repository.repository): \(descriptor.size) bytes exceeds the in-memory bound of \(configuration.maxConfigSize) bytes")
        }
        var data = Data()
        data.reserveCapacity(Int(descriptor.size))
        for try await chunk in blob(descriptor, in: repository) {
            data.append(contentsOf: chunk)
        }
        return data
    }

    /// Whether a repository has a blob (`HEAD`).
    /// - Parameters:
    ///   - digest: the blob's digest.
    ///   - repository: the repository.
    /// - Returns: `true` if the registry has it.
    /// - Throws: ``RegistryError`` for failures other than 404.
    public func blobExists(_ digest: Digest, in repository: Reference) async throws -> Bool {
        let url = endpoint(repository).url("\(repository.path)/blobs/\(digest)")
        let response = try await send(RegistryRequest(
            .HEAD, url, scopes: [Self.pullScope(repository)], subject: "blob \(digest) of \(repository.repository)",
            followsRedirects: true, timeout: configuration.requestTimeout))
        await Self.discard(response)
        switch response.status {
        case .ok: return true
        case .notFound: return false
        default: throw await failure(response, subject: "blob \(digest) of \(repository.repository)", url: url)
        }
    }

    /// Opens a GET of a blob from `offset`; returns the body and how many leading bytes
    /// of it to drop (when the registry ignored the Range header).
    func openBlob(
        _ repository: Reference, descriptor: Descriptor, from offset: Int64, subject: String
    ) async throws -> (body: HTTPClientResponse.Body, skip: Int64) {
        guard descriptor.size <= configuration.maxBlobSize else {
            throw RegistryError(
                .tooLarge, "\(subject): \(descriptor.size) bytes exceeds the bound of \(configuration.maxBlobSize) bytes")
        }
        return try await fromPullEndpoints(repository, subject: subject) { endpoint in
            try await openBlob(repository, descriptor: descriptor, from: offset, subject: subject, at: endpoint)
        }
    }

    private func openBlob(
        _ repository: Reference, descriptor: Descriptor, from offset: Int64, subject: String, at endpoint: RegistryEndpoint
    ) async throws -> (body: HTTPClientResponse.Body, skip: Int64) {
        let url = endpoint.url("\(repository.path)/blobs/\(descriptor.digest)")
        var headers = HTTPHeaders()
        if offset > 0 { headers.add(name: "Range", value: "bytes=\(offset)-") }
        let response = try await send(RegistryRequest(
            .GET, url, headers: headers, scopes: [Self.pullScope(repository)], subject: subject,
            retryable: !endpoint.isMirror, followsRedirects: true, timeout: configuration.blobTimeout))
        let length = response.headers.first(name: "Content-Length").flatMap(Int64.init)
        switch response.status {
        case .ok:
            if let length, length != descriptor.size {
                await Self.discard(response)
                throw RegistryError(
                    length > descriptor.size ? .tooLarge : .digestMismatch,
                    "\(subject): registry serves \(length) bytes, the descriptor says \(descriptor.size)")
            }
            return (response.body, offset)
        case .partialContent:
            guard let range = response.headers.first(name: "Content-Range"), Self.rangeStart(range) == offset else {
                await Self.discard(response)
                throw RegistryError(.protocolError, "\(subject): registry answered Range bytes=\(offset)- with another range")
            }
            if let length, offset + length > descriptor.size {
                await Self.discard(response)
                throw RegistryError(
                    .tooLarge, "\(subject): registry serves \(offset + length) bytes, the descriptor says \(descriptor.size)")
            }
            return (response.body, 0)
        default:
            throw await failure(response, subject: subject, url: url)
        }
    }

    /// The first byte of a `Content-Range: bytes START-END/TOTAL` header.
    static func rangeStart(_ header: String) -> Int64? {
        var value = Substring(header).drop { $0 == " " }
        if value.hasPrefix("bytes") { value = value.dropFirst(5).drop { $0 == " " || $0 == "=" } }
        guard let dash = value.firstIndex(of: "-") else { return nil }
        return Int64(value[..<dash])
    }

    // MARK: - Push

    /// Uploads a blob from memory, unless the repository already has it.
    /// - Parameters:
    ///   - data: the blob.
    ///   - repository: the target repository.
    ///   - mediaType: the media type for the returned descriptor.
    /// - Returns: the blob's descriptor.
    /// - Throws: ``RegistryError`` on failure.
    @discardableResult
    public func pushBlob(
        _ data: Data, to repository: Reference, mediaType: MediaType = "application/octet-stream"
    ) async throws -> Descriptor {
        let descriptor = Descriptor.of(data, mediaType: mediaType)
        _ = try await pushBlob(descriptor, to: repository, mountFrom: nil) { offset, count in
            data.subdata(in: Int(offset)..<Int(offset) + count)
        }
        return descriptor
    }

    /// Uploads a blob from a file, unless the repository already has it, mounting it
    /// from another repository of the same registry when one is given. Blobs larger than
    /// ``RegistryConfiguration/uploadChunkSize`` go up in `PATCH` chunks. The file is
    /// hashed while it is read: if it does not match `descriptor`, the upload is
    /// abandoned before it is completed.
    /// - Parameters:
    ///   - descriptor: the blob's descriptor.
    ///   - path: the file holding the blob.
    ///   - repository: the target repository.
    ///   - mountFrom: a repository of the same registry that has the blob.
    /// - Returns: how the blob got there.
    /// - Throws: ``RegistryError`` on failure.
    @discardableResult
    public func pushBlob(
        _ descriptor: Descriptor, contentsOf path: String, to repository: Reference, mountFrom: Reference? = nil
    ) async throws -> BlobPushOutcome {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } catch {
            throw RegistryError(.notFound, "blob \(descriptor.digest): cannot read \(path)", underlying: error)
        }
        defer { try? handle.close() }
        let reader = FileChunkReader(handle: handle)
        return try await pushBlob(descriptor, to: repository, mountFrom: mountFrom) { offset, count in
            try await BlockingWork.run { try reader.read(at: offset, count: count) }
        }
    }

    /// The upload protocol: HEAD, mount or POST, then one PUT or PATCH chunks and a PUT.
    func pushBlob(
        _ descriptor: Descriptor, to repository: Reference, mountFrom: Reference?,
        read: (Int64, Int) async throws -> Data
    ) async throws -> BlobPushOutcome {
        let subject = "blob \(descriptor.digest) to \(repository.repository)"
        if try await blobExists(descriptor.digest, in: repository) { return .existed }
        let endpoint = endpoint(repository)
        var scopes = [Self.pushScope(repository)]
        var url = endpoint.url("\(repository.path)/blobs/uploads/")
        if let mountFrom, mountFrom.registryHost == repository.registryHost, mountFrom.path != repository.path {
            scopes.append(Self.pullScope(mountFrom))
            url += "?mount=\(descriptor.digest)&from=\(mountFrom.path)"
        }
        let start = try await send(RegistryRequest(
            .POST, url, scopes: scopes, subject: subject, timeout: configuration.requestTimeout))
        if start.status == .created {
            await Self.discard(start)
            return .mounted
        }
        guard start.status == .accepted else { throw await failure(start, subject: subject, url: url) }
        await Self.discard(start)
        guard var location = start.headers.first(name: "Location").flatMap({ RegistryEndpoint.resolve($0, against: url) }) else {
            throw RegistryError(.protocolError, "\(subject): upload started without a Location")
        }
        var hasher = Digest.Hasher(algorithm: descriptor.digest.algorithm)
        let chunkSize = configuration.uploadChunkSize
        var offset: Int64 = 0
        var finalBody: ByteBuffer?
        if descriptor.size <= Int64(chunkSize) {
            let data = try await read(0, Int(descriptor.size))
            guard Int64(data.count) == descriptor.size else {
                throw RegistryError(.digestMismatch, "\(subject): source has \(data.count) bytes, descriptor says \(descriptor.size)")
            }
            hasher.update(data)
            finalBody = ByteBuffer(data: data)
            offset = descriptor.size
        } else {
            while offset < descriptor.size {
                let count = Int(min(Int64(chunkSize), descriptor.size - offset))
                let data = try await read(offset, count)
                guard data.count == count else {
                    throw RegistryError(.digestMismatch, "\(subject): source ends at byte \(offset + Int64(data.count)), descriptor says \(descriptor.size)")
                }
                hasher.update(data)
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/octet-stream")
                headers.add(name: "Content-Range", value: "\(offset)-\(offset + Int64(count) - 1)")
                let response = try await send(RegistryRequest(
                    .PATCH, location, headers: headers, body: ByteBuffer(data: data), scopes: scopes, subject: subject,
                    retryable: false, timeout: configuration.blobTimeout))
                guard response.status == .accepted else { throw await failure(response, subject: subject, url: location) }
                await Self.discard(response)
                if let range = response.headers.first(name: "Range"), let end = Self.rangeEnd(range),
                    end != offset + Int64(count) - 1
                {
                    throw RegistryError(
                        .protocolError, "\(subject): registry holds bytes up to \(end), expected \(offset + Int64(count) - 1)")
                }
                if let next = response.headers.first(name: "Location").flatMap({ RegistryEndpoint.resolve($0, against: location) }) {
                    location = next
                }
                offset += Int64(count)
            }
        }
        let actual = hasher.finalize()
        guard actual == descriptor.digest else {
            throw RegistryError(.digestMismatch, "\(subject): source content hashes to \(actual); upload abandoned")
        }
        let separator = location.contains("?") ? "&" : "?"
        let putURL = "\(location)\(separator)digest=\(descriptor.digest)"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/octet-stream")
        let response = try await send(RegistryRequest(
            .PUT, putURL, headers: headers, body: finalBody, scopes: scopes, subject: subject,
            retryable: finalBody != nil, timeout: configuration.blobTimeout))
        guard response.status == .created else { throw await failure(response, subject: subject, url: location) }
        await Self.discard(response)
        if let header = response.headers.first(name: "Docker-Content-Digest"),
            let reported = try? Digest(parsing: header), reported != descriptor.digest
        {
            throw RegistryError(.digestMismatch, "\(subject): registry stored it as \(reported)")
        }
        return finalBody == nil ? .uploadedInChunks : .uploaded
    }

    /// The last byte of a `Range: 0-END` upload status header.
    static func rangeEnd(_ header: String) -> Int64? {
        guard let dash = header.lastIndex(of: "-") else { return nil }
        return Int64(header[header.index(after: dash)...].trimmingCharacters(in: .whitespaces))
    }
}
