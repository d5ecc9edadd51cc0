// Spec: image-spec v1.1 manifest.md#image-manifest-property-descriptions
/// An image manifest: one image's configuration and layers.
///
/// Docker v2 schema 2 manifests (`application/vnd.docker.distribution.manifest.v2+json`)
/// have the same shape and decode into this type; ``mediaType`` says which it is.
public struct ImageManifest: Hashable, Sendable {
    /// Always `2`.
    public var schemaVersion: Int
    /// `application/vnd.oci.image.manifest.v1+json`, the Docker schema 2 type, or absent.
    public var mediaType: MediaType?
    /// The artifact type, when this manifest describes an artifact.
    public var artifactType: MediaType?
    /// The image configuration blob.
    public var config: Descriptor
    /// The layers, base first.
    public var layers: [Descriptor]
    /// The manifest this one refers to (referrers API).
    public var subject: Descriptor?
    /// Arbitrary metadata.
    public var annotations: [String: String]?

    /// Creates an OCI image manifest.
    /// - Parameters:
    ///   - mediaType: the manifest media type; OCI by default.
    ///   - artifactType: the artifact type.
    ///   - config: the configuration descriptor.
    ///   - layers: the layer descriptors, base first.
    ///   - subject: the manifest this one refers to.
    ///   - annotations: metadata.
    public init(
        mediaType: MediaType? = .imageManifest, artifactType: MediaType? = nil, config: Descriptor,
        layers: [Descriptor], subject: Descriptor? = nil, annotations: [String: String]? = nil
    ) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.subject = subject
        self.annotations = annotations
    }

    /// Whether this is a Docker v2 schema 2 manifest rather than an OCI one.
    public var isDocker: Bool { mediaType == .dockerManifest }
}

extension ImageManifest: Codable {
    private enum CodingKeys: String, CodingKey {
        case schemaVersion, mediaType, artifactType, config, layers, subject, annotations
    }

    /// Decodes a manifest, requiring `schemaVersion` 2 and a manifest media type if one is given.
    /// - Throws: a `DecodingError` naming the field at fault.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        guard schemaVersion == 2 else {
            throw DecodingError.dataCorruptedError(
                forKey: .schemaVersion, in: c, debugDescription: "expected 2, found \(schemaVersion)")
        }
        mediaType = try c.decodeIfPresent(MediaType.self, forKey: .mediaType)
        if let mediaType, !mediaType.isManifest {
            throw DecodingError.ociDataCorrupted(
                forKey: .mediaType, in: c,
                OCISpecError(.invalidMediaType, "\"\(mediaType)\" is not an image manifest media type"))
        }
        artifactType = try c.decodeIfPresent(MediaType.self, forKey: .artifactType)
        config = try c.decode(Descriptor.self, forKey: .config)
        layers = try c.decode([Descriptor].self, forKey: .layers)
        subject = try c.decodeIfPresent(Descriptor.self, forKey: .subject)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
    }
}
