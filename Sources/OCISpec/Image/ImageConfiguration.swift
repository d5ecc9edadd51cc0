// Spec: image-spec v1.1 config.md#properties
/// An image configuration: the platform, the default execution parameters and the
/// layer diff IDs of an image. Docker image configs
/// (`application/vnd.docker.container.image.v1+json`) decode into this type too; fields
/// outside the OCI schema (`container_config`, `docker_version`…) are dropped, except
/// `Healthcheck`, which is kept.
public struct ImageConfiguration: Hashable, Sendable {
    /// When the image was created, RFC 3339 as written (`2024-01-01T00:00:00Z`).
    public var created: String?
    /// The person or entity that created the image.
    public var author: String?
    /// The CPU architecture (`amd64`).
    public var architecture: String
    /// The operating system (`linux`).
    public var os: String
    /// The operating system version (`os.version`).
    public var osVersion: String?
    /// Required operating system features (`os.features`).
    public var osFeatures: [String]?
    /// The CPU variant (`v8`).
    public var variant: String?
    /// Default execution parameters.
    public var config: Config?
    /// The layer diff IDs.
    public var rootfs: RootFS
    /// How each layer was built.
    public var history: [History]?

    /// Creates an image configuration.
    /// - Parameters:
    ///   - created: creation time, RFC 3339.
    ///   - author: the author.
    ///   - platform: the platform the image runs on.
    ///   - config: default execution parameters.
    ///   - rootfs: the layer diff IDs.
    ///   - history: layer history.
    public init(
        created: String? = nil, author: String? = nil, platform: Platform, config: Config? = nil,
        rootfs: RootFS, history: [History]? = nil
    ) {
        self.created = created
        self.author = author
        self.architecture = platform.architecture
        self.os = platform.os
        self.osVersion = platform.osVersion
        self.osFeatures = platform.osFeatures
        self.variant = platform.variant
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }

    /// The platform this image is built for.
    public var platform: Platform {
        Platform(os: os, architecture: architecture, variant: variant, osVersion: osVersion, osFeatures: osFeatures)
    }

    // Spec: image-spec v1.1 config.md#properties (rootfs)
    /// The layers of the root filesystem, by uncompressed digest.
    public struct RootFS: Hashable, Sendable, Codable {
        /// Always `layers`.
        public var type: String
        /// The digests of the uncompressed layer tars, base first.
        public var diffIDs: [Digest]

        /// Creates a rootfs section.
        /// - Parameter diffIDs: uncompressed layer digests, base first.
        public init(diffIDs: [Digest]) {
            self.type = "layers"
            self.diffIDs = diffIDs
        }

        private enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }

    // Spec: image-spec v1.1 config.md#properties (history)
    /// How one layer was built.
    public struct History: Hashable, Sendable, Codable {
        /// When the layer was created, RFC 3339.
        public var created: String?
        /// Who built it.
        public var author: String?
        /// The command that created it.
        public var createdBy: String?
        /// A comment.
        public var comment: String?
        /// Whether this step left the filesystem unchanged (no entry in `rootfs.diff_ids`).
        public var emptyLayer: Bool?

        /// Creates a history entry.
        /// - Parameters:
        ///   - created: creation time, RFC 3339.
        ///   - author: who built it.
        ///   - createdBy: the command.
        ///   - comment: a comment.
        ///   - emptyLayer: whether it added no layer.
        public init(
            created: String? = nil, author: String? = nil, createdBy: String? = nil, comment: String? = nil,
            emptyLayer: Bool? = nil
        ) {
            self.created = created
            self.author = author
            self.createdBy = createdBy
            self.comment = comment
            self.emptyLayer = emptyLayer
        }

        private enum CodingKeys: String, CodingKey {
            case created, author, comment
            case createdBy = "created_by"
            case emptyLayer = "empty_layer"
        }
    }
}

extension ImageConfiguration: Codable {
    private enum CodingKeys: String, CodingKey {
        case created, author, architecture, os, variant, config, rootfs, history
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }
}
