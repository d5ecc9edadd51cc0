import AsyncHTTPClient
import NIOCore
import NIOFoundationCompat
import OCIHashing
import OCISpec

/// A blob's bytes as they arrive from a registry, from some offset to the end.
///
/// Interrupted transfers are resumed with an HTTP `Range` request from the last byte
/// delivered, with the client's retry policy; more bytes than the descriptor's size are
/// refused before they are handed out. When the stream starts at offset 0 it also
/// hashes the bytes and, at the end, throws ``RegistryError`` `digestMismatch` instead of
/// finishing if they do not match the descriptor: a consumer must not use the content
/// until the sequence has finished without error.
///
/// ```swift
/// let stream = client.blob(layer, in: reference)
/// try await store.ingest(stream, digest: layer.digest, size: layer.size)
/// ```
public struct BlobStream: AsyncSequence, Sendable {
    /// Chunks of the blob, in order (`DataProtocol` with NIOFoundationCompat, so the
    /// stream can feed `ImageStore.ingest` directly).
    public typealias Element = ByteBufferView

    let client: RegistryClient
    /// The repository the blob is read from.
    public let repository: Reference
    /// The blob's descriptor; its size and digest are enforced.
    public let descriptor: Descriptor
    /// The first byte delivered.
    public let offset: Int64
    /// Whether the stream hashes what it delivers (from offset 0 only). A pull turns it
    /// off: the store's ingest hashes every byte it writes and commits nothing that does
    /// not match, so a second hash of the same bytes would only cost CPU.
    let verifiesDigest: Bool

    init(client: RegistryClient, repository: Reference, descriptor: Descriptor, offset: Int64, verifiesDigest: Bool = true) {
        self.client = client
        self.repository = repository
        self.descriptor = descriptor
        self.offset = offset
        self.verifiesDigest = verifiesDigest
    }

    /// Creates the iterator; each iterator makes its own requests.
    public func makeAsyncIterator() -> Iterator {
        Iterator(stream: self)
    }

    /// Reads the blob, resuming and retrying as needed.
    public struct Iterator: AsyncIteratorProtocol {
        private let stream: BlobStream
        private var position: Int64
        private var skip: Int64 = 0
        private var hasher: Digest.Hasher?
        private var body: HTTPClientResponse.Body.AsyncIterator?
        private var failures = 0
        private var finished = false

        init(stream: BlobStream) {
            self.stream = stream
            self.position = stream.offset
            self.hasher = stream.offset == 0 && stream.verifiesDigest ? Digest.Hasher(algorithm: stream.descriptor.digest.algorithm) : nil
        }

        /// The next chunk, or `nil` once the whole blob has arrived (and verified, when
        /// the stream started at 0).
        /// - Throws: ``RegistryError``: `tooLarge`, `digestMismatch`, `notFound`,
        ///   `transport` once the retries are spent.
        public mutating func next() async throws -> ByteBufferView? {
            guard !finished else { return nil }
            let descriptor = stream.descriptor
            let subject = "blob \(descriptor.digest) of \(stream.repository.repository)"
            while true {
                if position == descriptor.size {
                    finished = true
                    body = nil
                    if let hasher {
                        let actual = hasher.finalize()
                        guard actual == descriptor.digest else {
                            throw RegistryError(.digestMismatch, "\(subject): content hashes to \(actual)")
                        }
                    }
                    return nil
                }
                do {
                    if body == nil {
                        let opened = try await stream.client.openBlob(
                            stream.repository, descriptor: descriptor, from: position, subject: subject)
                        body = opened.body.makeAsyncIterator()
                        skip = opened.skip
                    }
                    let chunk: ByteBuffer?
                    do {
                        chunk = try await body!.next()
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        throw RegistryError(.transport, "\(subject): transfer interrupted at byte \(position)", underlying: error)
                    }
                    guard var buffer = chunk else {
                        throw RegistryError(
                            .transport, "\(subject): connection closed at byte \(position) of \(descriptor.size)")
                    }
                    if skip > 0 {
                        let drop = Int(Swift.min(skip, Int64(buffer.readableBytes)))
                        buffer.moveReaderIndex(forwardBy: drop)
                        skip -= Int64(drop)
                        if buffer.readableBytes == 0 { continue }
                    }
                    guard position + Int64(buffer.readableBytes) <= descriptor.size else {
                        finished = true
                        body = nil
                        throw RegistryError(
                            .tooLarge, "\(subject): registry sent more than the descriptor's \(descriptor.size) bytes")
                    }
                    hasher?.update(buffer.readableBytesView)
                    position += Int64(buffer.readableBytes)
                    failures = 0
                    return buffer.readableBytesView
                } catch let error as RegistryError where error.code == .transport {
                    body = nil
                    failures += 1
                    let policy = stream.client.configuration.retry
                    guard failures < policy.maxAttempts else {
                        finished = true
                        throw error
                    }
                    stream.client.logger.debug(
                        "resuming blob download", metadata: ["digest": "\(descriptor.digest)", "offset": "\(position)"])
                    try await Task.sleep(for: policy.delay(beforeRetry: failures))
                } catch {
                    finished = true
                    body = nil
                    throw error
                }
            }
        }
    }
}
