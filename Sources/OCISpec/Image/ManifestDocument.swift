#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A manifest-like document of unknown kind, as fetched from a registry or read from a
/// store: either an ``ImageIndex`` (or Docker manifest list) or an ``ImageManifest`` (OCI
/// or Docker v2 schema 2). Docker schema 1 manifests are recognised and refused.
public enum ManifestDocument: Hashable, Sendable {
    /// An image index or Docker manifest list.
    case index(ImageIndex)
    /// An image manifest or Docker v2 schema 2 manifest.
    case manifest(ImageManifest)

    /// Decodes a manifest or an index.
    ///
    /// The kind is taken from `mediaType` (e.g. the HTTP `Content-Type`), else from the
    /// document's own `mediaType` field, else from its shape (`manifests` → index,
    /// `config`/`layers` → manifest). If both media types are given they must agree.
    /// - Parameters:
    ///   - data: the JSON bytes.
    ///   - mediaType: the media type the document was served or stored with, if known.
    /// - Returns: the decoded document.
    /// - Throws: ``OCISpecError``: `unsupported` for Docker schema 1 or non-manifest media
    ///   types, `invalidDocument` (naming the field path) for malformed documents.
    public static func decode(_ data: Data, mediaType: MediaType?) throws -> ManifestDocument {
        if let mediaType, mediaType.isDockerSchema1 {
            throw schema1Error(mediaType.rawValue)
        }
        let probe = try OCIJSON.decode(Probe.self, from: data)
        if probe.schemaVersion == 1 || (probe.fsLayers && probe.schemaVersion != 2) || probe.mediaType.map(MediaType.init(rawValue:))?.isDockerSchema1 == true {
            throw schema1Error(probe.mediaType ?? "schemaVersion 1")
        }
        let declared = probe.mediaType.map(MediaType.init(rawValue:))
        if let mediaType, let declared, mediaType != declared {
            throw OCISpecError(
                .invalidDocument,
                "mediaType: document declares \"\(declared)\" but was served as \"\(mediaType)\"")
        }
        let kind = mediaType ?? declared
        let isIndex: Bool
        if let kind {
            if kind.isIndex {
                isIndex = true
            } else if kind.isManifest {
                isIndex = false
            } else {
                throw OCISpecError(.unsupported, "media type \"\(kind)\" is not an image manifest or index")
            }
        } else if probe.manifests {
            isIndex = true
        } else if probe.config || probe.layers {
            isIndex = false
        } else {
            throw OCISpecError(
                .invalidDocument, "(document): neither an image index (manifests) nor a manifest (config, layers)")
        }
        return isIndex ? .index(try OCIJSON.decode(ImageIndex.self, from: data))
            : .manifest(try OCIJSON.decode(ImageManifest.self, from: data))
    }

    /// The document's declared media type, if any.
    public var mediaType: MediaType? {
        switch self {
        case .index(let index): return index.mediaType
        case .manifest(let manifest): return manifest.mediaType
        }
    }

    /// The index, if this is one.
    public var index: ImageIndex? {
        if case .index(let index) = self { return index }
        return nil
    }

    /// The manifest, if this is one.
    public var manifest: ImageManifest? {
        if case .manifest(let manifest) = self { return manifest }
        return nil
    }

    private static func schema1Error(_ what: String) -> OCISpecError {
        OCISpecError(
            .unsupported,
            "manifest is Docker schema 1 (\(what)): Docker schema 1 manifests are not supported; "
                + "push the image again with a current client to convert it to schema 2 or OCI")
    }

    /// The fields needed to tell documents apart; everything else is ignored and any
    /// field of an unexpected type counts as absent.
    private struct Probe: Decodable {
        var schemaVersion: Int?
        var mediaType: String?
        var manifests = false
        var config = false
        var layers = false
        var fsLayers = false

        private enum CodingKeys: String, CodingKey {
            case schemaVersion, mediaType, manifests, config, layers, fsLayers
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            schemaVersion = try? c.decodeIfPresent(Int.self, forKey: .schemaVersion)
            mediaType = try? c.decodeIfPresent(String.self, forKey: .mediaType)
            manifests = c.contains(.manifests)
            config = c.contains(.config)
            layers = c.contains(.layers)
            fsLayers = c.contains(.fsLayers)
        }
    }
}
