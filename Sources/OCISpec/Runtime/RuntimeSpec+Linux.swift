extension RuntimeSpec {
    // Spec: config-linux.md
    /// Linux-specific configuration.
    public struct Linux: Codable, Hashable, Sendable {
        // Spec: config-linux.md#namespaces
        /// Namespaces to create or join.
        public var namespaces: [Namespace]?
        /// User ID mappings of the user namespace.
        public var uidMappings: [IDMapping]?
        /// Group ID mappings of the user namespace.
        public var gidMappings: [IDMapping]?
        /// Clock offsets of the time namespace, keyed by clock (`monotonic`, `boottime`).
        public var timeOffsets: [String: TimeOffset]?
        /// Device nodes to create in the container.
        public var devices: [Device]?
        /// The cgroup path, absolute or relative to the runtime's cgroup root
        /// (or `slice:prefix:name` with systemd).
        public var cgroupsPath: String?
        /// Cgroup resource limits.
        public var resources: Resources?
        /// Intel RDT (resctrl) configuration.
        public var intelRdt: IntelRdt?
        /// Kernel parameters to set (`net.ipv4.ip_forward`).
        public var sysctl: [String: String]?
        /// The seccomp filter.
        public var seccomp: LinuxSeccomp?
        /// Propagation of the root mount: `shared`, `slave`, `private`, `unbindable`
        /// (and their `r` recursive forms).
        public var rootfsPropagation: String?
        /// Paths masked over (bind of /dev/null or an empty tmpfs).
        public var maskedPaths: [String]?
        /// Paths remounted read-only.
        public var readonlyPaths: [String]?
        /// SELinux context for the container's mounts.
        public var mountLabel: String?
        /// Execution domain (personality(2)).
        public var personality: Personality?
        /// NUMA memory policy (set_mempolicy(2)).
        public var memoryPolicy: MemoryPolicy?
        /// Network devices moved into the container's network namespace, keyed by the
        /// host interface name.
        public var netDevices: [String: NetDevice]?

        /// Creates a Linux section.
        /// - Parameters:
        ///   - namespaces: namespaces to create or join.
        ///   - uidMappings: user namespace UID mappings.
        ///   - gidMappings: user namespace GID mappings.
        ///   - timeOffsets: time namespace offsets.
        ///   - devices: device nodes.
        ///   - cgroupsPath: cgroup path.
        ///   - resources: cgroup limits.
        ///   - intelRdt: Intel RDT configuration.
        ///   - sysctl: kernel parameters.
        ///   - seccomp: the seccomp filter.
        ///   - rootfsPropagation: root mount propagation.
        ///   - maskedPaths: masked paths.
        ///   - readonlyPaths: read-only paths.
        ///   - mountLabel: SELinux mount label.
        ///   - personality: execution domain.
        ///   - memoryPolicy: NUMA memory policy.
        ///   - netDevices: network devices to move in.
        public init(
            namespaces: [Namespace]? = nil,
            uidMappings: [IDMapping]? = nil,
            gidMappings: [IDMapping]? = nil,
            timeOffsets: [String: TimeOffset]? = nil,
            devices: [Device]? = nil,
            cgroupsPath: String? = nil,
            resources: Resources? = nil,
            intelRdt: IntelRdt? = nil,
            sysctl: [String: String]? = nil,
            seccomp: LinuxSeccomp? = nil,
            rootfsPropagation: String? = nil,
            maskedPaths: [String]? = nil,
            readonlyPaths: [String]? = nil,
            mountLabel: String? = nil,
            personality: Personality? = nil,
            memoryPolicy: MemoryPolicy? = nil,
            netDevices: [String: NetDevice]? = nil
        ) {
            self.namespaces = namespaces
            self.uidMappings = uidMappings
            self.gidMappings = gidMappings
            self.timeOffsets = timeOffsets
            self.devices = devices
            self.cgroupsPath = cgroupsPath
            self.resources = resources
            self.intelRdt = intelRdt
            self.sysctl = sysctl
            self.seccomp = seccomp
            self.rootfsPropagation = rootfsPropagation
            self.maskedPaths = maskedPaths
            self.readonlyPaths = readonlyPaths
            self.mountLabel = mountLabel
            self.personality = personality
            self.memoryPolicy = memoryPolicy
            self.netDevices = netDevices
        }

        // Spec: config-linux.md#namespaces
        /// A namespace to create, or to join when ``path`` is set.
        public struct Namespace: Codable, Hashable, Sendable {
            /// The namespace kind.
            public var type: NamespaceType
            /// A namespace file to join (`/proc/1234/ns/net`).
            public var path: String?

            /// Creates a namespace entry.
            /// - Parameters:
            ///   - type: the namespace kind.
            ///   - path: a namespace file to join instead of creating one.
            public init(type: NamespaceType, path: String? = nil) {
                self.type = type
                self.path = path
            }
        }

        // Spec: config-linux.md#namespaces
        /// A namespace kind; unknown kinds decode and are kept as they are.
        public struct NamespaceType: RawRepresentable, Codable, Hashable, Sendable,
            ExpressibleByStringLiteral, CustomStringConvertible
        {
            /// The kind as written in JSON.
            public var rawValue: String
            /// Wraps a kind.
            /// - Parameter rawValue: the JSON string.
            public init(rawValue: String) { self.rawValue = rawValue }
            /// Wraps a kind literal.
            /// - Parameter value: the JSON string.
            public init(stringLiteral value: String) { self.rawValue = value }
            /// The JSON string.
            public var description: String { rawValue }

            /// Process IDs (`CLONE_NEWPID`).
            public static let pid: NamespaceType = "pid"
            /// Network stack (`CLONE_NEWNET`).
            public static let network: NamespaceType = "network"
            /// Mount table (`CLONE_NEWNS`).
            public static let mount: NamespaceType = "mount"
            /// System V IPC and POSIX message queues (`CLONE_NEWIPC`).
            public static let ipc: NamespaceType = "ipc"
            /// Hostname and domain name (`CLONE_NEWUTS`).
            public static let uts: NamespaceType = "uts"
            /// User and group IDs (`CLONE_NEWUSER`).
            public static let user: NamespaceType = "user"
            /// Cgroup root (`CLONE_NEWCGROUP`).
            public static let cgroup: NamespaceType = "cgroup"
            /// Boot and monotonic clocks (`CLONE_NEWTIME`).
            public static let time: NamespaceType = "time"
        }

        // Spec: config-linux.md#user-namespace-mappings
        /// A range of IDs mapped from the container to the host.
        public struct IDMapping: Codable, Hashable, Sendable {
            /// First ID in the container.
            public var containerID: UInt32
            /// First ID on the host.
            public var hostID: UInt32
            /// Number of IDs mapped.
            public var size: UInt32

            /// Creates a mapping.
            /// - Parameters:
            ///   - containerID: first container ID.
            ///   - hostID: first host ID.
            ///   - size: number of IDs.
            public init(containerID: UInt32, hostID: UInt32, size: UInt32) {
                self.containerID = containerID
                self.hostID = hostID
                self.size = size
            }
        }

        // Spec: config-linux.md#offset-for-time-namespace
        /// A clock offset for the time namespace.
        public struct TimeOffset: Codable, Hashable, Sendable {
            /// Seconds.
            public var secs: Int64?
            /// Additional nanoseconds.
            public var nanosecs: UInt32?

            /// Creates an offset.
            /// - Parameters:
            ///   - secs: seconds.
            ///   - nanosecs: nanoseconds.
            public init(secs: Int64? = nil, nanosecs: UInt32? = nil) {
                self.secs = secs
                self.nanosecs = nanosecs
            }
        }

        // Spec: config-linux.md#devices
        /// A device node to create in the container.
        public struct Device: Codable, Hashable, Sendable {
            /// `c`, `b`, `u` or `p`.
            public var type: String
            /// Absolute path in the container.
            public var path: String
            /// Major number (required unless the type is `p`).
            public var major: Int64?
            /// Minor number (required unless the type is `p`).
            public var minor: Int64?
            /// Permission bits.
            public var fileMode: UInt32?
            /// Owner user ID.
            public var uid: UInt32?
            /// Owner group ID.
            public var gid: UInt32?

            /// Creates a device.
            /// - Parameters:
            ///   - type: device type.
            ///   - path: path in the container.
            ///   - major: major number.
            ///   - minor: minor number.
            ///   - fileMode: permission bits.
            ///   - uid: owner.
            ///   - gid: group.
            public init(
                type: String, path: String, major: Int64? = nil, minor: Int64? = nil,
                fileMode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil
            ) {
                self.type = type
                self.path = path
                self.major = major
                self.minor = minor
                self.fileMode = fileMode
                self.uid = uid
                self.gid = gid
            }
        }

        // Spec: config-linux.md#intelrdt
        /// Intel Resource Director Technology (resctrl) settings.
        public struct IntelRdt: Codable, Hashable, Sendable {
            /// The resctrl group (class of service) to join or create.
            public var closID: String?
            /// Lines written verbatim to the group's `schemata` file (v1.3).
            public var schemata: [String]?
            /// L3 cache allocation schema (`L3:0=ffff0;1=3ff`).
            public var l3CacheSchema: String?
            /// Memory bandwidth allocation schema (`MB:0=20;1=70`).
            public var memBwSchema: String?
            /// Create a monitoring group for the container (v1.3).
            public var enableMonitoring: Bool?
            /// Enable cache monitoring (v1.2; replaced by ``enableMonitoring``).
            public var enableCMT: Bool?
            /// Enable memory bandwidth monitoring (v1.2; replaced by ``enableMonitoring``).
            public var enableMBM: Bool?

            /// Creates Intel RDT settings.
            /// - Parameters:
            ///   - closID: the class of service.
            ///   - schemata: raw schemata lines.
            ///   - l3CacheSchema: L3 schema.
            ///   - memBwSchema: memory bandwidth schema.
            ///   - enableMonitoring: create a monitoring group.
            ///   - enableCMT: enable CMT.
            ///   - enableMBM: enable MBM.
            public init(
                closID: String? = nil, schemata: [String]? = nil, l3CacheSchema: String? = nil,
                memBwSchema: String? = nil, enableMonitoring: Bool? = nil,
                enableCMT: Bool? = nil, enableMBM: Bool? = nil
            ) {
                self.closID = closID
                self.schemata = schemata
                self.l3CacheSchema = l3CacheSchema
                self.memBwSchema = memBwSchema
                self.enableMonitoring = enableMonitoring
                self.enableCMT = enableCMT
                self.enableMBM = enableMBM
            }
        }

        // Spec: config-linux.md#personality
        /// The execution domain.
        public struct Personality: Codable, Hashable, Sendable {
            /// `LINUX` or `LINUX32`.
            public var domain: String
            /// Additional personality flags (none are defined yet).
            public var flags: [String]?

            /// Creates a personality.
            /// - Parameters:
            ///   - domain: the execution domain.
            ///   - flags: extra flags.
            public init(domain: String, flags: [String]? = nil) {
                self.domain = domain
                self.flags = flags
            }
        }

        // Spec: config-linux.md#memory-policy
        /// The NUMA memory policy of the container process.
        public struct MemoryPolicy: Codable, Hashable, Sendable {
            /// `MPOL_DEFAULT`, `MPOL_BIND`, `MPOL_INTERLEAVE`, `MPOL_WEIGHTED_INTERLEAVE`,
            /// `MPOL_PREFERRED`, `MPOL_PREFERRED_MANY` or `MPOL_LOCAL`.
            public var mode: String
            /// Node list (`0-3,7`).
            public var nodes: String?
            /// Mode flags such as `MPOL_F_STATIC_NODES`.
            public var flags: [String]?

            /// Creates a memory policy.
            /// - Parameters:
            ///   - mode: the policy mode.
            ///   - nodes: NUMA nodes.
            ///   - flags: mode flags.
            public init(mode: String, nodes: String? = nil, flags: [String]? = nil) {
                self.mode = mode
                self.nodes = nodes
                self.flags = flags
            }
        }

        // Spec: config-linux.md#network-devices
        /// A host network device to move into the container.
        public struct NetDevice: Codable, Hashable, Sendable {
            /// The interface name inside the container; defaults to the host name.
            public var name: String?

            /// Creates a network device entry.
            /// - Parameter name: the name inside the container.
            public init(name: String? = nil) {
                self.name = name
            }
        }
    }
}
