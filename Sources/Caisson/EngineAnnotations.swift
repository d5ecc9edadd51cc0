/// The annotations the engine records in a container's runtime spec, so that any engine
/// over the same roots can find the container's image, rootfs and stop policy.
enum EngineAnnotations {
    /// The image name the container was made from.
    static let imageName = "dev.caisson.engine.image"
    /// The image's manifest descriptor (JSON), the base of ``Engine/commit(_:as:configuration:)``.
    static let manifest = "dev.caisson.engine.manifest"
    /// The container's key in the image store (its rootfs and overlay upper dir).
    static let rootfsKey = "dev.caisson.engine.rootfs-key"
    /// The container's root filesystem path.
    static let rootfsPath = "dev.caisson.engine.rootfs"
    /// How long a stop waits before SIGKILL, in milliseconds.
    static let stopTimeout = "dev.caisson.engine.stop-timeout-ms"
}
