import OCISpec

/// What ``ImageStore/verify()`` found.
public struct VerifyReport: Sendable, Hashable {
    /// How many blobs were re-hashed.
    public var checked: Int
    /// Blobs whose content does not hash to their name: name → actual digest.
    public var corrupt: [Digest: Digest]
    /// Files in `blobs/` whose name is not a valid digest.
    public var unexpected: [String]

    /// Whether every blob is intact.
    public var isClean: Bool { corrupt.isEmpty && unexpected.isEmpty }

    /// Creates a report.
    /// - Parameters:
    ///   - checked: blobs re-hashed.
    ///   - corrupt: corrupt blobs and what they hash to.
    ///   - unexpected: stray files.
    public init(checked: Int, corrupt: [Digest: Digest], unexpected: [String]) {
        self.checked = checked
        self.corrupt = corrupt
        self.unexpected = unexpected
    }
}
