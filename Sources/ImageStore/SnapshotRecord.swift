import OCISpec

/// What `snapshots/<alg>-<hex>/info.json` records about one unpacked layer.
struct SnapshotRecord: Codable, Sendable {
    var chainID: Digest
    var parent: Digest?
    var layer: Digest
    var diffID: Digest
    var entries: Int
    var uncompressedSize: Int64
}
