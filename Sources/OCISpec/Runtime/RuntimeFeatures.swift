// Spec: features.md
/// What a runtime supports: the output of `runc features` (`features.json`).
///
/// Per the spec, an absent list or flag means "unknown", not "unsupported".
public struct RuntimeFeatures: Codable, Hashable, Sendable {
    /// Minimum runtime-spec version recognised.
    public var ociVersionMin: String?
    /// Maximum runtime-spec version recognised.
    public var ociVersionMax: String?
    /// Recognised hook names (`createRuntime`, ...).
    public var hooks: [String]?
    /// Recognised mount options (`ro`, `rbind`, ...).
    public var mountOptions: [String]?
    /// Linux features.
    public var linux: Linux?
    /// Implementation-specific annotations (versions, extensions).
    public var annotations: [String: String]?
    /// Config annotations that may change behaviour unsafely; an entry ending in `.`
    /// is a prefix.
    public var potentiallyUnsafeConfigAnnotations: [String]?

    /// Creates a features document.
    /// - Parameters:
    ///   - ociVersionMin: minimum spec version.
    ///   - ociVersionMax: maximum spec version.
    ///   - hooks: recognised hooks.
    ///   - mountOptions: recognised mount options.
    ///   - linux: Linux features.
    ///   - annotations: implementation annotations.
    ///   - potentiallyUnsafeConfigAnnotations: unsafe annotation names or prefixes.
    public init(
        ociVersionMin: String? = nil,
        ociVersionMax: String? = nil,
        hooks: [String]? = nil,
        mountOptions: [String]? = nil,
        linux: Linux? = nil,
        annotations: [String: String]? = nil,
        potentiallyUnsafeConfigAnnotations: [String]? = nil
    ) {
        self.ociVersionMin = ociVersionMin
        self.ociVersionMax = ociVersionMax
        self.hooks = hooks
        self.mountOptions = mountOptions
        self.linux = linux
        self.annotations = annotations
        self.potentiallyUnsafeConfigAnnotations = potentiallyUnsafeConfigAnnotations
    }

    // Spec: features-linux.md
    /// Linux features.
    public struct Linux: Codable, Hashable, Sendable {
        /// Recognised namespaces (`mount`, `user`, ...).
        public var namespaces: [RuntimeSpec.Linux.NamespaceType]?
        /// Recognised capabilities (`CAP_SYS_ADMIN`, ...).
        public var capabilities: [String]?
        /// Cgroup support.
        public var cgroup: Cgroup?
        /// Seccomp support.
        public var seccomp: Seccomp?
        /// AppArmor support.
        public var apparmor: Enabled?
        /// SELinux support.
        public var selinux: Enabled?
        /// Intel RDT support.
        public var intelRdt: IntelRdt?
        /// NUMA memory policy support.
        public var memoryPolicy: MemoryPolicy?
        /// Mount extensions.
        public var mountExtensions: MountExtensions?
        /// Network device support (`linux.netDevices`).
        public var netDevices: Enabled?

        /// Creates Linux features.
        /// - Parameters:
        ///   - namespaces: recognised namespaces.
        ///   - capabilities: recognised capabilities.
        ///   - cgroup: cgroup support.
        ///   - seccomp: seccomp support.
        ///   - apparmor: AppArmor support.
        ///   - selinux: SELinux support.
        ///   - intelRdt: Intel RDT support.
        ///   - memoryPolicy: memory policy support.
        ///   - mountExtensions: mount extensions.
        ///   - netDevices: network device support.
        public init(
            namespaces: [RuntimeSpec.Linux.NamespaceType]? = nil,
            capabilities: [String]? = nil,
            cgroup: Cgroup? = nil,
            seccomp: Seccomp? = nil,
            apparmor: Enabled? = nil,
            selinux: Enabled? = nil,
            intelRdt: IntelRdt? = nil,
            memoryPolicy: MemoryPolicy? = nil,
            mountExtensions: MountExtensions? = nil,
            netDevices: Enabled? = nil
        ) {
            self.namespaces = namespaces
            self.capabilities = capabilities
            self.cgroup = cgroup
            self.seccomp = seccomp
            self.apparmor = apparmor
            self.selinux = selinux
            self.intelRdt = intelRdt
            self.memoryPolicy = memoryPolicy
            self.mountExtensions = mountExtensions
            self.netDevices = netDevices
        }

        // Spec: features-linux.md#cgroup
        /// Which cgroup drivers are compiled in.
        public struct Cgroup: Codable, Hashable, Sendable {
            /// Cgroup v1 support.
            public var v1: Bool?
            /// Cgroup v2 support.
            public var v2: Bool?
            /// systemd (system instance) driver support.
            public var systemd: Bool?
            /// systemd user instance driver support.
            public var systemdUser: Bool?
            /// RDMA controller support.
            public var rdma: Bool?

            /// Creates cgroup features.
            /// - Parameters:
            ///   - v1: v1 support.
            ///   - v2: v2 support.
            ///   - systemd: systemd driver.
            ///   - systemdUser: systemd user driver.
            ///   - rdma: RDMA controller.
            public init(v1: Bool? = nil, v2: Bool? = nil, systemd: Bool? = nil, systemdUser: Bool? = nil, rdma: Bool? = nil) {
                self.v1 = v1
                self.v2 = v2
                self.systemd = systemd
                self.systemdUser = systemdUser
                self.rdma = rdma
            }
        }

        // Spec: features-linux.md#seccomp
        /// Seccomp support.
        public struct Seccomp: Codable, Hashable, Sendable {
            /// Seccomp support compiled in.
            public var enabled: Bool?
            /// Recognised actions.
            public var actions: [SeccompAction]?
            /// Recognised operators.
            public var operators: [SeccompOperator]?
            /// Recognised architectures.
            public var archs: [SeccompArchitecture]?
            /// Recognised filter flags.
            public var knownFlags: [SeccompFlag]?
            /// Filter flags supported by this kernel and libseccomp.
            public var supportedFlags: [SeccompFlag]?

            /// Creates seccomp features.
            /// - Parameters:
            ///   - enabled: support compiled in.
            ///   - actions: recognised actions.
            ///   - operators: recognised operators.
            ///   - archs: recognised architectures.
            ///   - knownFlags: recognised flags.
            ///   - supportedFlags: supported flags.
            public init(
                enabled: Bool? = nil, actions: [SeccompAction]? = nil, operators: [SeccompOperator]? = nil,
                archs: [SeccompArchitecture]? = nil, knownFlags: [SeccompFlag]? = nil,
                supportedFlags: [SeccompFlag]? = nil
            ) {
                self.enabled = enabled
                self.actions = actions
                self.operators = operators
                self.archs = archs
                self.knownFlags = knownFlags
                self.supportedFlags = supportedFlags
            }
        }

        // Spec: features-linux.md#apparmor
        /// A feature that is only on or off (`apparmor`, `selinux`, `netDevices`, `idmap`).
        public struct Enabled: Codable, Hashable, Sendable {
            /// Support compiled in.
            public var enabled: Bool?

            /// Creates the feature flag.
            /// - Parameter enabled: support compiled in.
            public init(enabled: Bool? = nil) {
                self.enabled = enabled
            }
        }

        // Spec: features-linux.md#intel-rdt
        /// Intel RDT support.
        public struct IntelRdt: Codable, Hashable, Sendable {
            /// Support compiled in.
            public var enabled: Bool?
            /// `linux.intelRdt.schemata` is implemented.
            public var schemata: Bool?

            /// Creates Intel RDT features.
            /// - Parameters:
            ///   - enabled: support compiled in.
            ///   - schemata: schemata field implemented.
            public init(enabled: Bool? = nil, schemata: Bool? = nil) {
                self.enabled = enabled
                self.schemata = schemata
            }
        }

        // Spec: features-linux.md#memory-policy
        /// NUMA memory policy support.
        public struct MemoryPolicy: Codable, Hashable, Sendable {
            /// Recognised modes (`MPOL_BIND`, ...).
            public var modes: [String]?
            /// Recognised flags (`MPOL_F_STATIC_NODES`, ...).
            public var flags: [String]?

            /// Creates memory policy features.
            /// - Parameters:
            ///   - modes: recognised modes.
            ///   - flags: recognised flags.
            public init(modes: [String]? = nil, flags: [String]? = nil) {
                self.modes = modes
                self.flags = flags
            }
        }

        // Spec: features-linux.md#mountextensions
        /// Mount extensions.
        public struct MountExtensions: Codable, Hashable, Sendable {
            /// Idmapped mount support.
            public var idmap: Enabled?

            /// Creates mount extension features.
            /// - Parameter idmap: idmapped mount support.
            public init(idmap: Enabled? = nil) {
                self.idmap = idmap
            }
        }
    }
}
