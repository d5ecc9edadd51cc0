import OCISpec

/// What `containers/<key>/info.json` records, for ``ImageStore/remove(key:)``,
/// ``ImageStore/diff(key:compression:)`` and garbage collection.
struct ContainerRecord: Codable, Sendable {
    var mode: PreparedRootfs.Mode
    var manifest: Digest
    var chainIDs: [Digest]
}
