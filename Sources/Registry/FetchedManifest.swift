import Foundation
import OCISpec

/// A manifest or index fetched from a registry and verified: its descriptor (media
/// type, digest, size), its exact bytes, and the decoded document.
public struct FetchedManifest: Hashable, Sendable {
    /// The document's media type, digest and size.
    public var descriptor: Descriptor
    /// The bytes exactly as served; they hash to ``descriptor``'s digest.
    public var data: Data
    /// The decoded document.
    public var document: ManifestDocument

    /// Creates a fetched manifest.
    /// - Parameters:
    ///   - descriptor: the document's descriptor.
    ///   - data: its bytes.
    ///   - document: the decoded document.
    public init(descriptor: Descriptor, data: Data, document: ManifestDocument) {
        self.descriptor = descriptor
        self.data = data
        self.document = document
    }
}
