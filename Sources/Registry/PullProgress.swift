import OCISpec

/// One progress report of a pull: what happened to which blob, and the totals so far.
public struct PullProgress: Hashable, Sendable {
    /// What happened.
    public enum Event: Hashable, Sendable {
        /// The reference was resolved; ``PullProgress/totalBytes`` is now known.
        case resolved
        /// A blob download started, resuming a partial copy at `resumedAt` bytes (0 if new).
        case started(resumedAt: Int64)
        /// Bytes of a blob arrived.
        case downloading
        /// A blob was already in the store; nothing was downloaded.
        case alreadyPresent
        /// A blob was verified and committed to the store.
        case committed
    }

    /// What happened.
    public var event: Event
    /// The blob concerned; `nil` for ``Event/resolved``.
    public var descriptor: Descriptor?
    /// Bytes of that blob in the store so far.
    public var blobBytes: Int64
    /// Bytes of all the image's blobs in the store so far.
    public var completedBytes: Int64
    /// Bytes of all the image's blobs (config and layers).
    public var totalBytes: Int64

    /// Creates a progress report.
    /// - Parameters:
    ///   - event: what happened.
    ///   - descriptor: the blob concerned.
    ///   - blobBytes: bytes of the blob so far.
    ///   - completedBytes: bytes of all blobs so far.
    ///   - totalBytes: bytes of all blobs.
    public init(event: Event, descriptor: Descriptor?, blobBytes: Int64, completedBytes: Int64, totalBytes: Int64) {
        self.event = event
        self.descriptor = descriptor
        self.blobBytes = blobBytes
        self.completedBytes = completedBytes
        self.totalBytes = totalBytes
    }
}
