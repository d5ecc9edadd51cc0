import OCISpec

/// What ``ImageStore/collectGarbage(dryRun:gracePeriod:)`` removed, or would remove in a dry run.
public struct GarbageCollectionReport: Sendable, Hashable {
    /// Whether this was a dry run (nothing deleted).
    public var dryRun: Bool
    /// Unreachable blobs.
    public var blobs: [Digest]
    /// Snapshots (by chain ID) of no named image and no container.
    public var snapshots: [Digest]
    /// Stale partial ingests and temporary files (names under `ingest/` and `snapshots/`).
    public var stale: [String]
    /// Bytes freed (or that would be).
    public var bytes: Int64
    /// Unreachable blobs and snapshots (chain IDs) kept because they are younger than the
    /// grace period or were committed under a live lease.
    public var kept: [Digest]

    /// Creates a report.
    /// - Parameters:
    ///   - dryRun: whether nothing was deleted.
    ///   - blobs: unreachable blobs.
    ///   - snapshots: unused snapshots.
    ///   - stale: stale ingests and temporaries.
    ///   - bytes: bytes reclaimed.
    ///   - kept: unreachable but young or leased blobs and snapshots.
    public init(dryRun: Bool, blobs: [Digest], snapshots: [Digest], stale: [String], bytes: Int64, kept: [Digest] = []) {
        self.kept = kept
        self.dryRun = dryRun
        self.blobs = blobs
        self.snapshots = snapshots
        self.stale = stale
        self.bytes = bytes
    }
}
