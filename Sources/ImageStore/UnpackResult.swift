import OCISpec

/// What a verified layer unpack found.
public struct UnpackResult: Sendable, Hashable {
    /// The digest of the compressed blob (verified against the descriptor).
    public var digest: Digest
    /// The digest of the uncompressed tar stream (the diff ID).
    public var diffID: Digest
    /// The uncompressed size in bytes.
    public var uncompressedSize: Int64
    /// How many tar entries were processed.
    public var entries: Int

    /// Creates a result.
    /// - Parameters:
    ///   - digest: the compressed digest.
    ///   - diffID: the uncompressed digest.
    ///   - uncompressedSize: uncompressed bytes.
    ///   - entries: entry count.
    public init(digest: Digest, diffID: Digest, uncompressedSize: Int64, entries: Int) {
        self.digest = digest
        self.diffID = diffID
        self.uncompressedSize = uncompressedSize
        self.entries = entries
    }
}
