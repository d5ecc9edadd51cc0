// Spec: image-spec v1.1 image-index.md#image-index-property-descriptions
/// An image index: a list of manifests, usually one per platform. Also the `index.json`
/// of an image layout, where each manifest's ``Descriptor/referenceName`` is its tag.
///
/// Docker manifest lists (`application/vnd.docker.distribution.manifest.list.v2+json`)
/// have the same shape and decode into this type; ``mediaType`` says which it is.
public struct ImageIndex: Hashable, Sendable {
    /// Always `2`.
    public var schemaVersion: Int
    /// `application/vnd.oci.image.index.v1+json`, the Docker manifest list type, or absent.
    public var mediaType: MediaType?
    /// The artifact type, when this index describes an artifact.
    public var artifactType: MediaType?
    /// The manifests (or nested indexes).
    public var manifests: [Descriptor]
    /// The manifest this one refers to (referrers API).
    public var subject: Descriptor?
    /// Arbitrary metadata.
    public var annotations: [String: String]?

    /// Creates an OCI image index.
    /// - Parameters:
    ///   - mediaType: the index media type; OCI by default.
    ///   - artifactType: the artifact type.
    ///   - manifests: the manifest descriptors.
    ///   - subject: the manifest this one refers to.
    ///   - annotations: metadata.
    public init(
        mediaType: MediaType? = .imageIndex, artifactType: MediaType? = nil, manifests: [Descriptor],
        subject: Descriptor? = nil, annotations: [String: String]? = nil
    ) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.manifests = manifests
        self.subject = subject
        self.annotations = annotations
    }

    /// Whether this is a Docker manifest list rather than an OCI index.
    public var isDocker: Bool { mediaType == .dockerManifestList }

    /// The manifests tagged `name` by the `org.opencontainers.image.ref.name` annotation.
    /// - Parameter name: the tag within an image layout.
    /// - Returns: the matching descriptors, in index order.
    public func manifests(named name: String) -> [Descriptor] {
        manifests.filter { $0.referenceName == name }
    }

    /// The manifest a host should run: the best platform match among the entries that
    /// carry a platform, as containerd selects it.
    /// - Parameter platform: the host platform; ``Platform/current`` by default.
    /// - Returns: the chosen descriptor, or `nil` if no entry can run there.
    public func manifest(for platform: Platform = .current) -> Descriptor? {
        let candidates = manifests.enumerated().compactMap { entry in
            entry.element.platform.map { (entry.offset, $0) }
        }
        guard let best = platform.bestMatch(in: candidates.map(\.1)) else { return nil }
        return manifests[candidates[best].0]
    }
}

extension ImageIndex: Codable {
    private enum CodingKeys: String, CodingKey {
        case schemaVersion, mediaType, artifactType, manifests, subject, annotations
    }

    /// Decodes an index, requiring `schemaVersion` 2 and an index media type if one is given.
    /// - Throws: a `DecodingError` naming the field at fault.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        guard schemaVersion == 2 else {
            throw DecodingError.dataCorruptedError(
                forKey: .schemaVersion, in: c, debugDescription: "expected 2, found \(schemaVersion)")
        }
        mediaType = try c.decodeIfPresent(MediaType.self, forKey: .mediaType)
        if let mediaType, !mediaType.isIndex {
            throw DecodingError.ociDataCorrupted(
                forKey: .mediaType, in: c,
                OCISpecError(.invalidMediaType, "\"\(mediaType)\" is not an image index media type"))
        }
        artifactType = try c.decodeIfPresent(MediaType.self, forKey: .artifactType)
        manifests = try c.decode([Descriptor].self, forKey: .manifests)
        subject = try c.decodeIfPresent(Descriptor.self, forKey: .subject)
        annotations = try c.decodeIfPresent([String: String].self, forKey: .annotations)
    }
}
