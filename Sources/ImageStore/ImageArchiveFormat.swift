/// The image archive formats ``ImageStore/importImages(from:format:name:)`` reads.
public enum ImageArchiveFormat: String, Sendable, Hashable, CaseIterable {
    /// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`), as
    /// `skopeo copy … oci:DIR` or `umoci init` write it. Names come from the
    /// `org.opencontainers.image.ref.name` annotations of `index.json`.
    case ociLayout
    /// A tar of an OCI image layout, as `skopeo copy … oci-archive:FILE` writes it.
    case ociArchive
    /// A `docker save` tarball: `manifest.json` listing each image's config file, layer
    /// tars and `RepoTags`, as `docker save` and `skopeo copy … docker-archive:FILE` write
    /// it (also gzip-compressed). Images are converted to OCI manifests.
    case dockerArchive
}
