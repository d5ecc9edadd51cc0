// Spec: image-spec v1.1 media-types.md
/// A media type string (`application/vnd.oci.image.manifest.v1+json`), with constants for
/// every OCI image-spec and Docker distribution media type Caisson knows.
///
/// Comparison is exact on the string, as registries and the image spec compare them.
/// Decoding validates the RFC 6838 `type/subtype` grammar the image-spec JSON schema uses.
public struct MediaType: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The media type string.
    public let rawValue: String

    /// Wraps a media type string without validating it.
    /// - Parameter rawValue: the media type.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Wraps a media type literal without validating it.
    /// - Parameter value: the media type.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Parses a media type, as found in a document or an HTTP `Content-Type` header.
    ///
    /// Parameters after a `;` (`; charset=utf-8`) and surrounding whitespace are dropped.
    /// - Parameter string: the media type.
    /// - Throws: ``OCISpecError`` with code `invalidMediaType` naming the string if it is
    ///   not `type/subtype` (RFC 6838 restricted names, at most 127 characters each).
    public init(parsing string: String) throws {
        let essence = string.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let trimmed = essence.trimmingASCIIWhitespace()
        guard Self.isValid(trimmed) else {
            throw OCISpecError(.invalidMediaType, "invalid media type \"\(string)\": expected type/subtype")
        }
        self.rawValue = trimmed
    }

    /// The media type string.
    public var description: String { rawValue }

    /// Orders media types by string.
    public static func < (lhs: MediaType, rhs: MediaType) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Whether `value` is `type/subtype` with RFC 6838 restricted names.
    static func isValid(_ value: String) -> Bool {
        let parts = value.utf8.split(separator: UInt8(ascii: "/"), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            guard let first = part.first, part.count <= 127, isAlphanumeric(first) else { return false }
            return part.allSatisfy(isRestrictedNameCharacter)
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default: return false
        }
    }

    private static func isRestrictedNameCharacter(_ byte: UInt8) -> Bool {
        if isAlphanumeric(byte) { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "^"),
            UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"):
            return true
        default: return false
        }
    }
}

extension Substring {
    fileprivate func trimmingASCIIWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}

// MARK: - OCI image-spec media types

extension MediaType {
    // Spec: image-spec v1.1 media-types.md#oci-image-media-types

    /// An OCI image index (`application/vnd.oci.image.index.v1+json`).
    public static let imageIndex: MediaType = "application/vnd.oci.image.index.v1+json"
    /// An OCI image manifest (`application/vnd.oci.image.manifest.v1+json`).
    public static let imageManifest: MediaType = "application/vnd.oci.image.manifest.v1+json"
    /// An OCI image configuration (`application/vnd.oci.image.config.v1+json`).
    public static let imageConfig: MediaType = "application/vnd.oci.image.config.v1+json"
    /// An uncompressed OCI layer tar (`application/vnd.oci.image.layer.v1.tar`).
    public static let imageLayer: MediaType = "application/vnd.oci.image.layer.v1.tar"
    /// A gzip-compressed OCI layer (`application/vnd.oci.image.layer.v1.tar+gzip`).
    public static let imageLayerGzip: MediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
    /// A zstd-compressed OCI layer (`application/vnd.oci.image.layer.v1.tar+zstd`).
    public static let imageLayerZstd: MediaType = "application/vnd.oci.image.layer.v1.tar+zstd"
    /// An uncompressed non-distributable layer (deprecated in image-spec 1.1).
    public static let imageLayerNonDistributable: MediaType =
        "application/vnd.oci.image.layer.nondistributable.v1.tar"
    /// A gzip-compressed non-distributable layer (deprecated in image-spec 1.1).
    public static let imageLayerNonDistributableGzip: MediaType =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    /// A zstd-compressed non-distributable layer (deprecated in image-spec 1.1).
    public static let imageLayerNonDistributableZstd: MediaType =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
    /// The `oci-layout` file of an image layout (`application/vnd.oci.layout.header.v1+json`).
    public static let imageLayoutHeader: MediaType = "application/vnd.oci.layout.header.v1+json"
    /// The empty descriptor's content, `{}` (`application/vnd.oci.empty.v1+json`).
    public static let empty: MediaType = "application/vnd.oci.empty.v1+json"

    // MARK: Docker (distribution manifest v2 schema 2 and schema 1)

    /// A Docker v2 schema 2 image manifest.
    public static let dockerManifest: MediaType = "application/vnd.docker.distribution.manifest.v2+json"
    /// A Docker v2 schema 2 manifest list (multi-platform image).
    public static let dockerManifestList: MediaType = "application/vnd.docker.distribution.manifest.list.v2+json"
    /// A Docker image configuration.
    public static let dockerImageConfig: MediaType = "application/vnd.docker.container.image.v1+json"
    /// A gzip-compressed Docker layer.
    public static let dockerLayerGzip: MediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    /// An uncompressed Docker layer (written by some tools; not in the schema 2 spec).
    public static let dockerLayer: MediaType = "application/vnd.docker.image.rootfs.diff.tar"
    /// A zstd-compressed Docker layer (as containerd names it).
    public static let dockerLayerZstd: MediaType = "application/vnd.docker.image.rootfs.diff.tar.zstd"
    /// A foreign (non-distributable) gzip-compressed Docker layer.
    public static let dockerForeignLayerGzip: MediaType = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    /// A Docker plugin configuration.
    public static let dockerPluginConfig: MediaType = "application/vnd.docker.plugin.v1+json"
    /// A Docker v2 schema 1 manifest (unsupported by Caisson).
    public static let dockerSchema1Manifest: MediaType = "application/vnd.docker.distribution.manifest.v1+json"
    /// A signed Docker v2 schema 1 manifest (unsupported by Caisson).
    public static let dockerSchema1SignedManifest: MediaType =
        "application/vnd.docker.distribution.manifest.v1+prettyjws"
}

// MARK: - Classification

extension MediaType {
    /// How a layer blob is compressed.
    public enum LayerCompression: String, Hashable, Sendable, CaseIterable {
        /// A plain tar stream.
        case none
        /// A gzip-compressed tar stream.
        case gzip
        /// A zstd-compressed tar stream.
        case zstd
    }

    /// Whether this is an image index or a Docker manifest list.
    public var isIndex: Bool { self == .imageIndex || self == .dockerManifestList }

    /// Whether this is an OCI image manifest or a Docker v2 schema 2 manifest.
    public var isManifest: Bool { self == .imageManifest || self == .dockerManifest }

    /// Whether this is a Docker v2 schema 1 manifest, signed or not.
    public var isDockerSchema1: Bool { self == .dockerSchema1Manifest || self == .dockerSchema1SignedManifest }

    /// Whether this is an OCI or Docker image configuration.
    public var isImageConfig: Bool { self == .imageConfig || self == .dockerImageConfig }

    /// Whether this is a filesystem layer (OCI or Docker, distributable or not).
    public var isLayer: Bool { layerCompression != nil }

    /// Whether this is a non-distributable (foreign) layer.
    public var isNonDistributableLayer: Bool {
        rawValue.hasPrefix("application/vnd.oci.image.layer.nondistributable.")
            || self == .dockerForeignLayerGzip
    }

    /// The compression of a layer media type, or `nil` if this is not a layer media type.
    public var layerCompression: LayerCompression? {
        switch self {
        case .imageLayer, .imageLayerNonDistributable, .dockerLayer:
            return LayerCompression.none
        case .imageLayerGzip, .imageLayerNonDistributableGzip, .dockerLayerGzip, .dockerForeignLayerGzip:
            return .gzip
        case .imageLayerZstd, .imageLayerNonDistributableZstd, .dockerLayerZstd:
            return .zstd
        default:
            return nil
        }
    }
}

extension MediaType: Codable {
    /// Decodes and validates a media type string.
    /// - Throws: a `DecodingError` carrying ``OCISpecError`` code `invalidMediaType`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        guard Self.isValid(string) else {
            throw DecodingError.ociDataCorrupted(
                in: container,
                OCISpecError(.invalidMediaType, "invalid media type \"\(string)\": expected type/subtype"))
        }
        self.rawValue = string
    }

    /// Encodes the media type string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
