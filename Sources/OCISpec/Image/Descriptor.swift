#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// Spec: image-spec v1.1 descriptor.md#properties
/// A content descriptor: what a blob is (media type), how to find and verify it
/// (digest, size) and optional metadata.
public struct Descriptor: Hashable, Sendable {
    /// The media type of the referenced content.
    public var mediaType: MediaType
    /// The digest of the referenced content.
    public var digest: Digest
    /// The size of the referenced content in bytes; never negative.
    public var size: Int64
    /// URLs the content may be downloaded from (non-distributable layers).
    public var urls: [String]?
    /// Arbitrary metadata.
    public var annotations: [String: String]?
    /// The content itself, embedded (base64 in JSON). Verify it with `verifyEmbeddedData()` (OCIHashing).
    public var data: Data?
    /// The type of an artifact when the descriptor points to an artifact manifest.
    public var artifactType: MediaType?
    /// The platform of the referenced manifest (in an index).
    public var platform: Platform?

    /// Creates a descriptor.
    /// - Parameters:
    ///   - mediaType: the content's media type.
    ///   - digest: the content's digest.
    ///   - size: the content's size in bytes.
    ///   - urls: download URLs.
    ///   - annotations: metadata.
    ///   - data: embedded content.
    ///   - artifactType: the artifact type.
    ///   - platform: the platform, for manifests in an index.
    public init(
        mediaType: MediaType, digest: Digest, size: Int64, urls: [String]? = nil,
        annotations: [String: String]? = nil, data: Data? = nil, artifactType: MediaType? = nil,
        platform: Platform? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.urls = urls
        self.annotations = annotations
        self.data = data
        self.artifactType = artifactType
        self.platform = platform
    }

    // Spec: image-spec v1.1 manifest.md#guidance-for-an-empty-descriptor
    /// The empty descriptor: `{}` of media type `application/vnd.oci.empty.v1+json`.
    public static let empty = Descriptor(
        mediaType: .empty,
        // sha256 of the two bytes `{}` (OCISpec computes no digests: see OCIHashing).
        digest: Digest(uncheckedAlgorithm: .sha256, encoded: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
        size: 2, data: Data("{}".utf8))

    /// The `org.opencontainers.image.ref.name` annotation (the tag in an image layout).
    public var referenceName: String? { annotations?[ImageAnnotations.refName] }
}

extension Descriptor: Codable {
    private enum CodingKeys: String, CodingKey {
        case mediaType, digest, size, urls, annotations, data, artifactType, platform
    }

    /// Decodes a descriptor, rejecting a negative size.
    /// - Throws: a `DecodingError` naming the field.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mediaType = try c.decode(MediaType.self, forKey: .mediaType)
        digest = try c.decode(Digest.self, forKey: .digest)
        size = try c.decode(Int64.self, forKey: .size)
        guard size >= 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .size, in: c, debugDescription: "size must not be negative, found \(size)")
        }
        urls = try c.decodeIfPresent([String].self, forKey: .urls)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
        data = try c.decodeIfPresent(Data.self, forKey: .data)
        artifactType = try c.decodeIfPresent(MediaType.self, forKey: .artifactType)
        platform = try c.decodeIfPresent(Platform.self, forKey: .platform)
    }
}
