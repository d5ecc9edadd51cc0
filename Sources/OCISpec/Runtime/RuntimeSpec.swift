// Spec: config.md#configuration
/// An OCI runtime configuration: the `config.json` of a bundle.
///
/// Every field of runtime-spec v1.2 (and the Linux additions of v1.3: `memoryPolicy`,
/// `netDevices`, `execCPUAffinity`) is modelled. Fields the spec marks REQUIRED are
/// non-optional; OPTIONAL fields are optionals, so a field absent from a document stays
/// absent when the value is encoded again with ``OCIJSON/encode(_:pretty:)``.
///
/// Platform sections other than `linux` (`windows`, `solaris`, `vm`, `zos`) are ignored
/// when decoding.
///
/// ```swift
/// let spec = try OCIJSON.decode(RuntimeSpec.self, from: data)
/// let cwd = spec.process?.cwd
/// ```
public struct RuntimeSpec: Codable, Hashable, Sendable {
    /// The runtime-spec version this package writes by default.
    public static let currentVersion = "1.2.0"

    // Spec: config.md#specification-version
    /// The version of the runtime specification the document complies with (SemVer).
    public var ociVersion: String
    // Spec: config.md#process
    /// The container process. Required by `start`, optional for `create`.
    public var process: Process?
    // Spec: config.md#root
    /// The container's root filesystem.
    public var root: Root?
    // Spec: config.md#hostname
    /// The container's hostname as seen from inside (needs a UTS namespace).
    public var hostname: String?
    // Spec: config.md#domainname
    /// The container's NIS domain name (needs a UTS namespace).
    public var domainname: String?
    // Spec: config.md#mounts
    /// Additional mounts, in order, on top of ``root``.
    public var mounts: [Mount]?
    // Spec: config.md#posix-platform-hooks
    /// Lifecycle hooks.
    public var hooks: Hooks?
    // Spec: config.md#annotations
    /// Arbitrary metadata (reverse-domain keys).
    public var annotations: [String: String]?
    // Spec: config-linux.md
    /// Linux-specific configuration.
    public var linux: Linux?

    /// Creates a configuration.
    /// - Parameters:
    ///   - ociVersion: the runtime-spec version; defaults to ``currentVersion``.
    ///   - process: the container process.
    ///   - root: the root filesystem.
    ///   - hostname: the container hostname.
    ///   - domainname: the container NIS domain name.
    ///   - mounts: additional mounts.
    ///   - hooks: lifecycle hooks.
    ///   - annotations: metadata.
    ///   - linux: Linux-specific configuration.
    public init(
        ociVersion: String = RuntimeSpec.currentVersion,
        process: Process? = nil,
        root: Root? = nil,
        hostname: String? = nil,
        domainname: String? = nil,
        mounts: [Mount]? = nil,
        hooks: Hooks? = nil,
        annotations: [String: String]? = nil,
        linux: Linux? = nil
    ) {
        self.ociVersion = ociVersion
        self.process = process
        self.root = root
        self.hostname = hostname
        self.domainname = domainname
        self.mounts = mounts
        self.hooks = hooks
        self.annotations = annotations
        self.linux = linux
    }

    // Spec: config.md#root
    /// The container's root filesystem.
    public struct Root: Codable, Hashable, Sendable {
        /// Path to the root filesystem, absolute or relative to the bundle.
        public var path: String
        /// Make the root filesystem read-only inside the container.
        public var readonly: Bool?

        /// Creates a root.
        /// - Parameters:
        ///   - path: path to the root filesystem.
        ///   - readonly: whether to mount it read-only.
        public init(path: String, readonly: Bool? = nil) {
            self.path = path
            self.readonly = readonly
        }
    }
}
