// Spec: image-spec v1.1 annotations.md#pre-defined-annotation-keys
/// The pre-defined annotation keys of the image spec.
public enum ImageAnnotations {
    /// Date and time the image was built (RFC 3339).
    public static let created = "org.opencontainers.image.created"
    /// Contact details of the people or organisation responsible for the image.
    public static let authors = "org.opencontainers.image.authors"
    /// URL to find more information on the image.
    public static let url = "org.opencontainers.image.url"
    /// URL to the image's documentation.
    public static let documentation = "org.opencontainers.image.documentation"
    /// URL to the image's source code.
    public static let source = "org.opencontainers.image.source"
    /// Version of the packaged software.
    public static let version = "org.opencontainers.image.version"
    /// Source control revision identifier.
    public static let revision = "org.opencontainers.image.revision"
    /// Name of the distributing entity.
    public static let vendor = "org.opencontainers.image.vendor"
    /// SPDX licence expression.
    public static let licenses = "org.opencontainers.image.licenses"
    /// Name of a reference within an image layout: the tag (`index.json` manifests).
    public static let refName = "org.opencontainers.image.ref.name"
    /// Human-readable title.
    public static let title = "org.opencontainers.image.title"
    /// Human-readable description.
    public static let description = "org.opencontainers.image.description"
    /// Digest of the image this one is based on.
    public static let baseDigest = "org.opencontainers.image.base.digest"
    /// Reference of the image this one is based on.
    public static let baseName = "org.opencontainers.image.base.name"
    /// The stop signal of the image config, carried into a runtime spec
    /// (as containerd and CRI-O do).
    public static let stopSignal = "org.opencontainers.image.stopSignal"
}
