/// What a container's cgroup has measured: CPU, memory, pids, block I/O and hugepages.
///
/// The JSON encoding uses the field names of runc's `events --stats` (`types.Stats`), so
/// tools that read runc's output read Caisson's. Values the host does not account for
/// are zero (a controller that is not mounted), never guessed.
public struct ContainerStats: Codable, Sendable, Equatable {
    /// CPU time, in nanoseconds.
    public var cpu = CPU()
    /// Memory use and limits, in bytes.
    public var memory = Memory()
    /// Process count and limit.
    public var pids = Pids()
    /// Block I/O per device.
    public var blkio = BlockIO()
    /// Hugepage use per page size ("2MB", "1GB").
    public var hugetlb: [String: Hugetlb] = [:]

    /// Creates empty stats.
    public init() {}

    /// CPU accounting.
    public struct CPU: Codable, Sendable, Equatable {
        /// Time used.
        public var usage = Usage()
        /// CFS bandwidth throttling (a CPU quota at work).
        public var throttling = Throttling()
        /// Creates empty CPU stats.
        public init() {}

        /// CPU time used, in nanoseconds.
        public struct Usage: Codable, Sendable, Equatable {
            /// Total CPU time.
            public var total: UInt64 = 0
            /// Total per CPU.
            public var percpu: [UInt64] = []
            /// Time in kernel mode.
            public var kernel: UInt64 = 0
            /// Time in user mode.
            public var user: UInt64 = 0
            /// Creates zero usage.
            public init() {}
        }

        /// CFS bandwidth control counters.
        public struct Throttling: Codable, Sendable, Equatable {
            /// Enforcement periods that have elapsed.
            public var periods: UInt64 = 0
            /// Periods in which the group hit its quota.
            public var throttledPeriods: UInt64 = 0
            /// Time the group was throttled, in nanoseconds.
            public var throttledTime: UInt64 = 0
            /// Creates zero counters.
            public init() {}
        }
    }

    /// Memory accounting.
    public struct Memory: Codable, Sendable, Equatable {
        /// Page cache, in bytes.
        public var cache: UInt64 = 0
        /// Memory in use and its limit.
        public var usage = Entry()
        /// Memory + swap in use and its limit (v1 `memsw`; v2 swap alone).
        public var swap = Entry()
        /// Every counter of `memory.stat`, by name.
        public var raw: [String: UInt64] = [:]
        /// How many times the OOM killer killed a process of the group.
        public var oomKills: UInt64 = 0
        /// Creates empty memory stats.
        public init() {}

        /// One memory counter with its limit.
        public struct Entry: Codable, Sendable, Equatable {
            /// The limit (`UInt64.max`-like large values mean unlimited).
            public var limit: UInt64 = 0
            /// Current use.
            public var usage: UInt64 = 0
            /// Highest use seen.
            public var max: UInt64 = 0
            /// How many times the limit was hit.
            public var failcnt: UInt64 = 0
            /// Creates a zero entry.
            public init() {}
        }

        enum CodingKeys: String, CodingKey {
            case cache, usage, swap, raw
            case oomKills = "oom_kills"
        }
    }

    /// Process accounting.
    public struct Pids: Codable, Sendable, Equatable {
        /// Processes (and threads) in the group now.
        public var current: UInt64 = 0
        /// The limit; 0 when unlimited.
        public var limit: UInt64 = 0
        /// Creates empty pid stats.
        public init() {}
    }

    /// Block I/O accounting.
    public struct BlockIO: Codable, Sendable, Equatable {
        /// Bytes transferred, per device and operation.
        public var ioServiceBytesRecursive: [Entry] = []
        /// Operations issued, per device and operation.
        public var ioServicedRecursive: [Entry] = []
        /// Creates empty block I/O stats.
        public init() {}

        /// One counter for one device and operation ("Read", "Write", "Sync", "Async", "Total").
        public struct Entry: Codable, Sendable, Equatable {
            /// Device major number.
            public var major: UInt64
            /// Device minor number.
            public var minor: UInt64
            /// The operation.
            public var op: String
            /// The counter.
            public var value: UInt64
            /// Creates an entry.
            public init(major: UInt64, minor: UInt64, op: String, value: UInt64) {
                self.major = major
                self.minor = minor
                self.op = op
                self.value = value
            }
        }
    }

    /// Hugepage accounting for one page size.
    public struct Hugetlb: Codable, Sendable, Equatable {
        /// Bytes in use.
        public var usage: UInt64 = 0
        /// Highest use seen (v1 only).
        public var max: UInt64 = 0
        /// How many allocations failed at the limit.
        public var failcnt: UInt64 = 0
        /// Creates zero hugepage stats.
        public init() {}
    }
}

/// Something that happened to a running container, as ``Container/events(interval:)``
/// reports it (runc `events`).
public enum ContainerEvent: Sendable, Equatable {
    /// The OOM killer killed a process of the container (one event per kill).
    case oom
    /// A periodic sample of the container's stats.
    case stats(ContainerStats)
}
