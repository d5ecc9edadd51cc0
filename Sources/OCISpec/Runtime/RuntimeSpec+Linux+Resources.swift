extension RuntimeSpec.Linux {
    // Spec: config-linux.md#control-groups
    /// Cgroup resource limits.
    public struct Resources: Codable, Hashable, Sendable {
        /// Device access rules (cgroup v1 `devices`, an eBPF program on v2), in order.
        public var devices: [DeviceRule]?
        /// Memory limits.
        public var memory: Memory?
        /// CPU limits.
        public var cpu: CPU?
        /// Process count limit.
        public var pids: Pids?
        /// Block I/O limits.
        public var blockIO: BlockIO?
        /// Hugepage limits, per page size.
        public var hugepageLimits: [HugepageLimit]?
        /// Network class and priorities (cgroup v1 net_cls/net_prio).
        public var network: Network?
        /// RDMA limits, keyed by device name.
        public var rdma: [String: Rdma]?
        /// Raw cgroup v2 files to write (`memory.high` → `"1G"`).
        public var unified: [String: String]?

        /// Creates resource limits.
        /// - Parameters:
        ///   - devices: device rules.
        ///   - memory: memory limits.
        ///   - cpu: CPU limits.
        ///   - pids: PID limit.
        ///   - blockIO: block I/O limits.
        ///   - hugepageLimits: hugepage limits.
        ///   - network: network class and priorities.
        ///   - rdma: RDMA limits.
        ///   - unified: raw cgroup v2 values.
        public init(
            devices: [DeviceRule]? = nil,
            memory: Memory? = nil,
            cpu: CPU? = nil,
            pids: Pids? = nil,
            blockIO: BlockIO? = nil,
            hugepageLimits: [HugepageLimit]? = nil,
            network: Network? = nil,
            rdma: [String: Rdma]? = nil,
            unified: [String: String]? = nil
        ) {
            self.devices = devices
            self.memory = memory
            self.cpu = cpu
            self.pids = pids
            self.blockIO = blockIO
            self.hugepageLimits = hugepageLimits
            self.network = network
            self.rdma = rdma
            self.unified = unified
        }

        // Spec: config-linux.md#allowed-device-list
        /// One device access rule.
        public struct DeviceRule: Codable, Hashable, Sendable {
            /// Allow (true) or deny (false).
            public var allow: Bool
            /// `a` (all), `c` or `b`; absent means all.
            public var type: String?
            /// Major number; absent means all.
            public var major: Int64?
            /// Minor number; absent means all.
            public var minor: Int64?
            /// Any of `r`, `w`, `m`.
            public var access: String?

            /// Creates a device rule.
            /// - Parameters:
            ///   - allow: allow or deny.
            ///   - type: device type.
            ///   - major: major number.
            ///   - minor: minor number.
            ///   - access: access letters.
            public init(allow: Bool, type: String? = nil, major: Int64? = nil, minor: Int64? = nil, access: String? = nil) {
                self.allow = allow
                self.type = type
                self.major = major
                self.minor = minor
                self.access = access
            }
        }

        // Spec: config-linux.md#memory
        /// Memory limits, in bytes (-1 means unlimited).
        public struct Memory: Codable, Hashable, Sendable {
            /// Hard limit.
            public var limit: Int64?
            /// Soft limit.
            public var reservation: Int64?
            /// Memory plus swap limit.
            public var swap: Int64?
            /// Kernel memory limit (deprecated, ignored by cgroup v2).
            public var kernel: Int64?
            /// Kernel TCP buffer limit.
            public var kernelTCP: Int64?
            /// Swappiness, 0-100.
            public var swappiness: UInt64?
            /// Disable the OOM killer.
            public var disableOOMKiller: Bool?
            /// Enable hierarchical accounting (cgroup v1).
            public var useHierarchy: Bool?
            /// On update, refuse a limit lower than current usage.
            public var checkBeforeUpdate: Bool?

            /// Creates memory limits.
            /// - Parameters:
            ///   - limit: hard limit.
            ///   - reservation: soft limit.
            ///   - swap: memory plus swap.
            ///   - kernel: kernel memory.
            ///   - kernelTCP: kernel TCP memory.
            ///   - swappiness: swappiness.
            ///   - disableOOMKiller: disable the OOM killer.
            ///   - useHierarchy: hierarchical accounting.
            ///   - checkBeforeUpdate: check usage before lowering.
            public init(
                limit: Int64? = nil, reservation: Int64? = nil, swap: Int64? = nil, kernel: Int64? = nil,
                kernelTCP: Int64? = nil, swappiness: UInt64? = nil, disableOOMKiller: Bool? = nil,
                useHierarchy: Bool? = nil, checkBeforeUpdate: Bool? = nil
            ) {
                self.limit = limit
                self.reservation = reservation
                self.swap = swap
                self.kernel = kernel
                self.kernelTCP = kernelTCP
                self.swappiness = swappiness
                self.disableOOMKiller = disableOOMKiller
                self.useHierarchy = useHierarchy
                self.checkBeforeUpdate = checkBeforeUpdate
            }
        }

        // Spec: config-linux.md#cpu
        /// CPU limits.
        public struct CPU: Codable, Hashable, Sendable {
            /// Relative weight (cgroup v1 shares; converted to a v2 weight).
            public var shares: UInt64?
            /// Microseconds of CPU time per ``period``; -1 means unlimited.
            public var quota: Int64?
            /// Extra microseconds accumulated for bursts.
            public var burst: UInt64?
            /// Period for ``quota``, in microseconds.
            public var period: UInt64?
            /// Real-time runtime in microseconds.
            public var realtimeRuntime: Int64?
            /// Real-time period in microseconds.
            public var realtimePeriod: UInt64?
            /// cpuset CPU list (`0-3,7`).
            public var cpus: String?
            /// cpuset memory node list.
            public var mems: String?
            /// 1 puts the cgroup in `SCHED_IDLE`, 0 is the default.
            public var idle: Int64?

            /// Creates CPU limits.
            /// - Parameters:
            ///   - shares: relative weight.
            ///   - quota: quota per period.
            ///   - burst: burst allowance.
            ///   - period: quota period.
            ///   - realtimeRuntime: real-time runtime.
            ///   - realtimePeriod: real-time period.
            ///   - cpus: CPU list.
            ///   - mems: memory node list.
            ///   - idle: SCHED_IDLE flag.
            public init(
                shares: UInt64? = nil, quota: Int64? = nil, burst: UInt64? = nil, period: UInt64? = nil,
                realtimeRuntime: Int64? = nil, realtimePeriod: UInt64? = nil, cpus: String? = nil,
                mems: String? = nil, idle: Int64? = nil
            ) {
                self.shares = shares
                self.quota = quota
                self.burst = burst
                self.period = period
                self.realtimeRuntime = realtimeRuntime
                self.realtimePeriod = realtimePeriod
                self.cpus = cpus
                self.mems = mems
                self.idle = idle
            }
        }

        // Spec: config-linux.md#pids
        /// Process count limit.
        public struct Pids: Codable, Hashable, Sendable {
            /// Maximum number of tasks; 0 or -1 means no limit.
            public var limit: Int64

            /// Creates a PID limit.
            /// - Parameter limit: the maximum number of tasks.
            public init(limit: Int64) {
                self.limit = limit
            }
        }

        // Spec: config-linux.md#block-io
        /// Block I/O weights and throttles.
        public struct BlockIO: Codable, Hashable, Sendable {
            /// Cgroup weight, 10-1000.
            public var weight: UInt16?
            /// Weight against the cgroup's children (CFQ only).
            public var leafWeight: UInt16?
            /// Per-device weights.
            public var weightDevice: [WeightDevice]?
            /// Per-device read bytes/s limits.
            public var throttleReadBpsDevice: [ThrottleDevice]?
            /// Per-device write bytes/s limits.
            public var throttleWriteBpsDevice: [ThrottleDevice]?
            /// Per-device read IO/s limits.
            public var throttleReadIOPSDevice: [ThrottleDevice]?
            /// Per-device write IO/s limits.
            public var throttleWriteIOPSDevice: [ThrottleDevice]?

            /// Creates block I/O limits.
            /// - Parameters:
            ///   - weight: cgroup weight.
            ///   - leafWeight: leaf weight.
            ///   - weightDevice: per-device weights.
            ///   - throttleReadBpsDevice: read bytes/s limits.
            ///   - throttleWriteBpsDevice: write bytes/s limits.
            ///   - throttleReadIOPSDevice: read IO/s limits.
            ///   - throttleWriteIOPSDevice: write IO/s limits.
            public init(
                weight: UInt16? = nil, leafWeight: UInt16? = nil, weightDevice: [WeightDevice]? = nil,
                throttleReadBpsDevice: [ThrottleDevice]? = nil, throttleWriteBpsDevice: [ThrottleDevice]? = nil,
                throttleReadIOPSDevice: [ThrottleDevice]? = nil, throttleWriteIOPSDevice: [ThrottleDevice]? = nil
            ) {
                self.weight = weight
                self.leafWeight = leafWeight
                self.weightDevice = weightDevice
                self.throttleReadBpsDevice = throttleReadBpsDevice
                self.throttleWriteBpsDevice = throttleWriteBpsDevice
                self.throttleReadIOPSDevice = throttleReadIOPSDevice
                self.throttleWriteIOPSDevice = throttleWriteIOPSDevice
            }

            // Spec: config-linux.md#block-io
            /// A per-device weight.
            public struct WeightDevice: Codable, Hashable, Sendable {
                /// Device major number.
                public var major: Int64
                /// Device minor number.
                public var minor: Int64
                /// Weight, 10-1000.
                public var weight: UInt16?
                /// Leaf weight (CFQ only).
                public var leafWeight: UInt16?

                /// Creates a device weight.
                /// - Parameters:
                ///   - major: major number.
                ///   - minor: minor number.
                ///   - weight: weight.
                ///   - leafWeight: leaf weight.
                public init(major: Int64, minor: Int64, weight: UInt16? = nil, leafWeight: UInt16? = nil) {
                    self.major = major
                    self.minor = minor
                    self.weight = weight
                    self.leafWeight = leafWeight
                }
            }

            // Spec: config-linux.md#block-io
            /// A per-device rate limit.
            public struct ThrottleDevice: Codable, Hashable, Sendable {
                /// Device major number.
                public var major: Int64
                /// Device minor number.
                public var minor: Int64
                /// Bytes or operations per second.
                public var rate: UInt64

                /// Creates a device rate limit.
                /// - Parameters:
                ///   - major: major number.
                ///   - minor: minor number.
                ///   - rate: the rate.
                public init(major: Int64, minor: Int64, rate: UInt64) {
                    self.major = major
                    self.minor = minor
                    self.rate = rate
                }
            }
        }

        // Spec: config-linux.md#huge-page-limits
        /// A hugetlb limit for one page size.
        public struct HugepageLimit: Codable, Hashable, Sendable {
            /// Page size, e.g. `2MB`, `1GB`.
            public var pageSize: String
            /// Limit in bytes.
            public var limit: UInt64

            /// Creates a hugepage limit.
            /// - Parameters:
            ///   - pageSize: the page size.
            ///   - limit: the limit in bytes.
            public init(pageSize: String, limit: UInt64) {
                self.pageSize = pageSize
                self.limit = limit
            }
        }

        // Spec: config-linux.md#network
        /// Network class and per-interface priorities.
        public struct Network: Codable, Hashable, Sendable {
            /// net_cls class identifier.
            public var classID: UInt32?
            /// net_prio priorities.
            public var priorities: [InterfacePriority]?

            /// Creates network settings.
            /// - Parameters:
            ///   - classID: class identifier.
            ///   - priorities: per-interface priorities.
            public init(classID: UInt32? = nil, priorities: [InterfacePriority]? = nil) {
                self.classID = classID
                self.priorities = priorities
            }

            // Spec: config-linux.md#network
            /// A priority for one interface.
            public struct InterfacePriority: Codable, Hashable, Sendable {
                /// Interface name.
                public var name: String
                /// Priority.
                public var priority: UInt32

                /// Creates an interface priority.
                /// - Parameters:
                ///   - name: interface name.
                ///   - priority: priority.
                public init(name: String, priority: UInt32) {
                    self.name = name
                    self.priority = priority
                }
            }
        }

        // Spec: config-linux.md#rdma
        /// RDMA limits for one device.
        public struct Rdma: Codable, Hashable, Sendable {
            /// Maximum HCA handles.
            public var hcaHandles: UInt32?
            /// Maximum HCA objects.
            public var hcaObjects: UInt32?

            /// Creates RDMA limits.
            /// - Parameters:
            ///   - hcaHandles: maximum handles.
            ///   - hcaObjects: maximum objects.
            public init(hcaHandles: UInt32? = nil, hcaObjects: UInt32? = nil) {
                self.hcaHandles = hcaHandles
                self.hcaObjects = hcaObjects
            }
        }
    }
}
