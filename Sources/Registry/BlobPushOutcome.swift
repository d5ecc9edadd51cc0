/// How a blob reached the target repository of a push.
public enum BlobPushOutcome: Hashable, Sendable {
    /// The repository already had it.
    case existed
    /// The registry mounted it from another repository (`POST ?mount=&from=`).
    case mounted
    /// It was uploaded in one request.
    case uploaded
    /// It was uploaded in `PATCH` chunks.
    case uploadedInChunks
}
