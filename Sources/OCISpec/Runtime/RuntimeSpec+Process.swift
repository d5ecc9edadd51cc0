extension RuntimeSpec {
    // Spec: config.md#process
    /// The container process: what to run, as whom, with which privileges.
    public struct Process: Codable, Hashable, Sendable {
        /// Attach a pseudo-terminal to the process.
        public var terminal: Bool?
        /// Initial console size, when ``terminal`` is true.
        public var consoleSize: ConsoleSize?
        /// The user the process runs as.
        public var user: User
        /// The executable and its arguments (`args[0]` is the program).
        public var args: [String]?
        /// The full command line (Windows only).
        public var commandLine: String?
        /// Environment, `KEY=value` entries.
        public var env: [String]?
        /// Absolute working directory inside the container.
        public var cwd: String
        /// Capability sets.
        public var capabilities: Capabilities?
        /// Resource limits (setrlimit).
        public var rlimits: [Rlimit]?
        /// Set `PR_SET_NO_NEW_PRIVS`.
        public var noNewPrivileges: Bool?
        /// AppArmor profile name.
        public var apparmorProfile: String?
        /// Value written to `/proc/self/oom_score_adj`.
        public var oomScoreAdj: Int?
        /// SELinux label for the process.
        public var selinuxLabel: String?
        /// I/O priority (ioprio_set).
        public var ioPriority: IOPriority?
        /// Scheduling attributes (sched_setattr).
        public var scheduler: Scheduler?
        /// CPU affinity while the runtime execs the process.
        public var execCPUAffinity: ExecCPUAffinity?

        /// Creates a process.
        /// - Parameters:
        ///   - terminal: attach a pseudo-terminal.
        ///   - consoleSize: initial console size.
        ///   - user: the user to run as.
        ///   - args: program and arguments.
        ///   - commandLine: Windows command line.
        ///   - env: environment entries.
        ///   - cwd: working directory.
        ///   - capabilities: capability sets.
        ///   - rlimits: resource limits.
        ///   - noNewPrivileges: set no_new_privs.
        ///   - apparmorProfile: AppArmor profile.
        ///   - oomScoreAdj: OOM score adjustment.
        ///   - selinuxLabel: SELinux label.
        ///   - ioPriority: I/O priority.
        ///   - scheduler: scheduling attributes.
        ///   - execCPUAffinity: exec-time CPU affinity.
        public init(
            terminal: Bool? = nil,
            consoleSize: ConsoleSize? = nil,
            user: User = User(uid: 0, gid: 0),
            args: [String]? = nil,
            commandLine: String? = nil,
            env: [String]? = nil,
            cwd: String = "/",
            capabilities: Capabilities? = nil,
            rlimits: [Rlimit]? = nil,
            noNewPrivileges: Bool? = nil,
            apparmorProfile: String? = nil,
            oomScoreAdj: Int? = nil,
            selinuxLabel: String? = nil,
            ioPriority: IOPriority? = nil,
            scheduler: Scheduler? = nil,
            execCPUAffinity: ExecCPUAffinity? = nil
        ) {
            self.terminal = terminal
            self.consoleSize = consoleSize
            self.user = user
            self.args = args
            self.commandLine = commandLine
            self.env = env
            self.cwd = cwd
            self.capabilities = capabilities
            self.rlimits = rlimits
            self.noNewPrivileges = noNewPrivileges
            self.apparmorProfile = apparmorProfile
            self.oomScoreAdj = oomScoreAdj
            self.selinuxLabel = selinuxLabel
            self.ioPriority = ioPriority
            self.scheduler = scheduler
            self.execCPUAffinity = execCPUAffinity
        }

        // Spec: config.md#process
        /// Console dimensions in characters.
        public struct ConsoleSize: Codable, Hashable, Sendable {
            /// Rows.
            public var height: UInt
            /// Columns.
            public var width: UInt

            /// Creates a console size.
            /// - Parameters:
            ///   - height: rows.
            ///   - width: columns.
            public init(height: UInt, width: UInt) {
                self.height = height
                self.width = width
            }
        }

        // Spec: config.md#posix-platform-user
        /// The identity of the process.
        public struct User: Codable, Hashable, Sendable {
            /// User ID in the container namespace.
            public var uid: UInt32
            /// Group ID in the container namespace.
            public var gid: UInt32
            /// File mode creation mask.
            public var umask: UInt32?
            /// Supplementary group IDs.
            public var additionalGids: [UInt32]?
            /// User name (Windows only).
            public var username: String?

            /// Creates a user.
            /// - Parameters:
            ///   - uid: user ID.
            ///   - gid: group ID.
            ///   - umask: file mode creation mask.
            ///   - additionalGids: supplementary groups.
            ///   - username: Windows user name.
            public init(
                uid: UInt32, gid: UInt32, umask: UInt32? = nil,
                additionalGids: [UInt32]? = nil, username: String? = nil
            ) {
                self.uid = uid
                self.gid = gid
                self.umask = umask
                self.additionalGids = additionalGids
                self.username = username
            }
        }

        // Spec: config.md#linux-process
        /// Capability sets, by name (`CAP_KILL`).
        public struct Capabilities: Codable, Hashable, Sendable {
            /// The bounding set.
            public var bounding: [String]?
            /// The effective set.
            public var effective: [String]?
            /// The inheritable set.
            public var inheritable: [String]?
            /// The permitted set.
            public var permitted: [String]?
            /// The ambient set.
            public var ambient: [String]?

            /// Creates capability sets.
            /// - Parameters:
            ///   - bounding: bounding set.
            ///   - effective: effective set.
            ///   - inheritable: inheritable set.
            ///   - permitted: permitted set.
            ///   - ambient: ambient set.
            public init(
                bounding: [String]? = nil, effective: [String]? = nil, inheritable: [String]? = nil,
                permitted: [String]? = nil, ambient: [String]? = nil
            ) {
                self.bounding = bounding
                self.effective = effective
                self.inheritable = inheritable
                self.permitted = permitted
                self.ambient = ambient
            }
        }

        // Spec: config.md#posix-process
        /// A resource limit.
        public struct Rlimit: Codable, Hashable, Sendable {
            /// The resource, e.g. `RLIMIT_NOFILE`.
            public var type: String
            /// The hard limit.
            public var hard: UInt64
            /// The soft limit.
            public var soft: UInt64

            /// Creates a resource limit.
            /// - Parameters:
            ///   - type: the resource name.
            ///   - hard: hard limit.
            ///   - soft: soft limit.
            public init(type: String, hard: UInt64, soft: UInt64) {
                self.type = type
                self.hard = hard
                self.soft = soft
            }
        }

        // Spec: config.md#linux-process
        /// I/O scheduling class and priority.
        public struct IOPriority: Codable, Hashable, Sendable {
            /// The scheduling class.
            public var `class`: IOPriorityClass
            /// Priority within the class, 0 (highest) to 7.
            public var priority: Int

            /// Creates an I/O priority.
            /// - Parameters:
            ///   - class: the scheduling class.
            ///   - priority: priority within the class.
            public init(class: IOPriorityClass, priority: Int) {
                self.class = `class`
                self.priority = priority
            }
        }

        // Spec: config.md#linux-process
        /// An I/O scheduling class; unknown values are kept as they are.
        public struct IOPriorityClass: RawRepresentable, Codable, Hashable, Sendable,
            ExpressibleByStringLiteral, CustomStringConvertible
        {
            /// The class name as written in JSON.
            public var rawValue: String
            /// Wraps a class name.
            /// - Parameter rawValue: the JSON string.
            public init(rawValue: String) { self.rawValue = rawValue }
            /// Wraps a class name literal.
            /// - Parameter value: the JSON string.
            public init(stringLiteral value: String) { self.rawValue = value }
            /// The JSON string.
            public var description: String { rawValue }

            /// `IOPRIO_CLASS_RT`: real-time.
            public static let realtime: IOPriorityClass = "IOPRIO_CLASS_RT"
            /// `IOPRIO_CLASS_BE`: best effort.
            public static let bestEffort: IOPriorityClass = "IOPRIO_CLASS_BE"
            /// `IOPRIO_CLASS_IDLE`: idle.
            public static let idle: IOPriorityClass = "IOPRIO_CLASS_IDLE"
        }

        // Spec: config.md#linux-process
        /// Scheduling attributes as sched_setattr(2) takes them.
        public struct Scheduler: Codable, Hashable, Sendable {
            /// The policy: `SCHED_OTHER`, `SCHED_FIFO`, `SCHED_RR`, `SCHED_BATCH`,
            /// `SCHED_ISO`, `SCHED_IDLE` or `SCHED_DEADLINE`.
            public var policy: String
            /// Nice value (`SCHED_OTHER`, `SCHED_BATCH`).
            public var nice: Int32?
            /// Static priority (`SCHED_FIFO`, `SCHED_RR`).
            public var priority: Int32?
            /// Flags such as `SCHED_FLAG_RESET_ON_FORK`.
            public var flags: [String]?
            /// `SCHED_DEADLINE` runtime in nanoseconds.
            public var runtime: UInt64?
            /// `SCHED_DEADLINE` deadline in nanoseconds.
            public var deadline: UInt64?
            /// `SCHED_DEADLINE` period in nanoseconds.
            public var period: UInt64?

            /// Creates scheduling attributes.
            /// - Parameters:
            ///   - policy: the policy name.
            ///   - nice: nice value.
            ///   - priority: static priority.
            ///   - flags: scheduler flags.
            ///   - runtime: deadline runtime.
            ///   - deadline: deadline.
            ///   - period: deadline period.
            public init(
                policy: String, nice: Int32? = nil, priority: Int32? = nil, flags: [String]? = nil,
                runtime: UInt64? = nil, deadline: UInt64? = nil, period: UInt64? = nil
            ) {
                self.policy = policy
                self.nice = nice
                self.priority = priority
                self.flags = flags
                self.runtime = runtime
                self.deadline = deadline
                self.period = period
            }
        }

        // Spec: config.md#linux-process
        /// CPU affinity applied while the runtime joins the container and execs.
        public struct ExecCPUAffinity: Codable, Hashable, Sendable {
            /// CPU list (`0-3,7`) for the runtime's setup before joining the cgroup.
            public var initial: String?
            /// CPU list for the process once it has joined the container cgroup.
            public var final: String?

            /// Creates an exec CPU affinity.
            /// - Parameters:
            ///   - initial: CPU list before joining the cgroup.
            ///   - final: CPU list after joining it.
            public init(initial: String? = nil, final: String? = nil) {
                self.initial = initial
                self.final = final
            }
        }
    }
}
