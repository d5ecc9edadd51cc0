import OCISpec

/// How far a layer unpack has got, for progress bars.
public struct UnpackProgress: Sendable, Hashable {
    /// The layer being unpacked (its compressed digest).
    public var layer: Digest
    /// Compressed bytes read from the blob so far.
    public var compressedBytes: Int64
    /// The blob's total size.
    public var totalCompressedBytes: Int64
    /// Uncompressed (tar) bytes produced so far.
    public var uncompressedBytes: Int64
    /// Entries extracted so far.
    public var entries: Int
    /// True on the last report, after the digests were verified.
    public var finished: Bool

    /// Creates a progress report.
    /// - Parameters:
    ///   - layer: the layer digest.
    ///   - compressedBytes: compressed bytes read.
    ///   - totalCompressedBytes: the blob size.
    ///   - uncompressedBytes: tar bytes produced.
    ///   - entries: entries extracted.
    ///   - finished: whether this is the final report.
    public init(
        layer: Digest, compressedBytes: Int64, totalCompressedBytes: Int64, uncompressedBytes: Int64, entries: Int,
        finished: Bool
    ) {
        self.layer = layer
        self.compressedBytes = compressedBytes
        self.totalCompressedBytes = totalCompressedBytes
        self.uncompressedBytes = uncompressedBytes
        self.entries = entries
        self.finished = finished
    }
}
