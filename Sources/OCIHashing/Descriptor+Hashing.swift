#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import OCISpec

extension Descriptor {
    /// A descriptor of some bytes: their sha256 digest and size.
    /// - Parameters:
    ///   - mediaType: the content's media type.
    ///   - content: the bytes.
    ///   - annotations: metadata.
    ///   - platform: the platform, for manifests in an index.
    /// - Returns: the descriptor.
    public static func of(
        _ content: some DataProtocol, mediaType: MediaType, annotations: [String: String]? = nil,
        platform: Platform? = nil
    ) -> Descriptor {
        Descriptor(
            mediaType: mediaType, digest: .sha256(of: content), size: Int64(content.count),
            annotations: annotations, platform: platform)
    }

    /// Checks that `content` has this descriptor's size and digest.
    /// - Parameter content: the fetched bytes.
    /// - Throws: ``OCISpecError`` with code `digestMismatch` naming both digests (or
    ///   both sizes).
    public func verify(_ content: some DataProtocol) throws {
        guard Int64(content.count) == size else {
            throw OCISpecError(
                .digestMismatch, "size mismatch for \(digest): expected \(size) bytes, found \(content.count)")
        }
        try digest.verify(content)
    }

    /// Checks embedded ``data``, if any, against the size and digest.
    /// - Throws: ``OCISpecError`` with code `digestMismatch`.
    public func verifyEmbeddedData() throws {
        if let data { try verify(data) }
    }
}
