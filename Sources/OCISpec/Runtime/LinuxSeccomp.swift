// Spec: config-linux.md#seccomp
/// A seccomp filter: a default action and per-syscall rules.
///
/// Actions, operators, architectures and flags are typed string values; values this
/// package does not know still decode and re-encode unchanged.
public struct LinuxSeccomp: Codable, Hashable, Sendable {
    /// Action for syscalls that match no rule.
    public var defaultAction: SeccompAction
    /// errno returned by ``defaultAction`` when it is `SCMP_ACT_ERRNO` or `SCMP_ACT_TRACE`.
    public var defaultErrnoRet: UInt?
    /// Architectures the filter also applies to (besides the native one).
    public var architectures: [SeccompArchitecture]?
    /// Flags passed to seccomp(2).
    public var flags: [SeccompFlag]?
    /// Unix socket the seccomp notify fd is sent to (`SCMP_ACT_NOTIFY`).
    public var listenerPath: String?
    /// Opaque data sent along with the notify fd.
    public var listenerMetadata: String?
    /// Rules, evaluated as libseccomp does.
    public var syscalls: [Syscall]?

    /// Creates a filter.
    /// - Parameters:
    ///   - defaultAction: action for unmatched syscalls.
    ///   - defaultErrnoRet: errno for the default action.
    ///   - architectures: additional architectures.
    ///   - flags: seccomp(2) flags.
    ///   - listenerPath: notify socket path.
    ///   - listenerMetadata: notify metadata.
    ///   - syscalls: rules.
    public init(
        defaultAction: SeccompAction,
        defaultErrnoRet: UInt? = nil,
        architectures: [SeccompArchitecture]? = nil,
        flags: [SeccompFlag]? = nil,
        listenerPath: String? = nil,
        listenerMetadata: String? = nil,
        syscalls: [Syscall]? = nil
    ) {
        self.defaultAction = defaultAction
        self.defaultErrnoRet = defaultErrnoRet
        self.architectures = architectures
        self.flags = flags
        self.listenerPath = listenerPath
        self.listenerMetadata = listenerMetadata
        self.syscalls = syscalls
    }

    // Spec: config-linux.md#seccomp
    /// A rule: an action for a set of syscalls, optionally only when arguments match.
    public struct Syscall: Codable, Hashable, Sendable {
        /// Syscall names (`read`, `clone3`).
        public var names: [String]
        /// The action taken on a match.
        public var action: SeccompAction
        /// errno returned when the action is `SCMP_ACT_ERRNO` or `SCMP_ACT_TRACE`.
        public var errnoRet: UInt?
        /// Argument conditions, all of which must hold.
        public var args: [Argument]?

        /// Creates a rule.
        /// - Parameters:
        ///   - names: syscall names.
        ///   - action: action on match.
        ///   - errnoRet: errno to return.
        ///   - args: argument conditions.
        public init(names: [String], action: SeccompAction, errnoRet: UInt? = nil, args: [Argument]? = nil) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
        }
    }

    // Spec: config-linux.md#seccomp
    /// A condition on one syscall argument.
    public struct Argument: Codable, Hashable, Sendable {
        /// Argument index, 0-5.
        public var index: UInt
        /// The value compared against (the mask for `SCMP_CMP_MASKED_EQ`).
        public var value: UInt64
        /// The second value (the expected masked value for `SCMP_CMP_MASKED_EQ`).
        public var valueTwo: UInt64?
        /// The comparison.
        public var op: SeccompOperator

        /// Creates an argument condition.
        /// - Parameters:
        ///   - index: argument index.
        ///   - value: first value.
        ///   - valueTwo: second value.
        ///   - op: comparison.
        public init(index: UInt, value: UInt64, valueTwo: UInt64? = nil, op: SeccompOperator) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }
    }
}

// Spec: config-linux.md#seccomp
/// A seccomp action (`SCMP_ACT_*`); unknown values decode and are kept.
public struct SeccompAction: RawRepresentable, Codable, Hashable, Sendable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    /// The action as written in JSON.
    public var rawValue: String
    /// Wraps an action name.
    /// - Parameter rawValue: the JSON string.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps an action name literal.
    /// - Parameter value: the JSON string.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The JSON string.
    public var description: String { rawValue }

    /// `SCMP_ACT_ALLOW`: let the syscall run.
    public static let allow: SeccompAction = "SCMP_ACT_ALLOW"
    /// `SCMP_ACT_ERRNO`: fail with an errno.
    public static let errno: SeccompAction = "SCMP_ACT_ERRNO"
    /// `SCMP_ACT_KILL`: kill the thread (same as `SCMP_ACT_KILL_THREAD`).
    public static let kill: SeccompAction = "SCMP_ACT_KILL"
    /// `SCMP_ACT_KILL_PROCESS`: kill the whole process.
    public static let killProcess: SeccompAction = "SCMP_ACT_KILL_PROCESS"
    /// `SCMP_ACT_KILL_THREAD`: kill the calling thread.
    public static let killThread: SeccompAction = "SCMP_ACT_KILL_THREAD"
    /// `SCMP_ACT_TRAP`: send SIGSYS.
    public static let trap: SeccompAction = "SCMP_ACT_TRAP"
    /// `SCMP_ACT_TRACE`: notify a ptrace tracer.
    public static let trace: SeccompAction = "SCMP_ACT_TRACE"
    /// `SCMP_ACT_LOG`: allow and log.
    public static let log: SeccompAction = "SCMP_ACT_LOG"
    /// `SCMP_ACT_NOTIFY`: defer to a user-space listener.
    public static let notify: SeccompAction = "SCMP_ACT_NOTIFY"
}

// Spec: config-linux.md#seccomp
/// A seccomp argument comparison (`SCMP_CMP_*`); unknown values decode and are kept.
public struct SeccompOperator: RawRepresentable, Codable, Hashable, Sendable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    /// The operator as written in JSON.
    public var rawValue: String
    /// Wraps an operator name.
    /// - Parameter rawValue: the JSON string.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps an operator name literal.
    /// - Parameter value: the JSON string.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The JSON string.
    public var description: String { rawValue }

    /// `SCMP_CMP_NE`: not equal.
    public static let notEqual: SeccompOperator = "SCMP_CMP_NE"
    /// `SCMP_CMP_LT`: less than.
    public static let lessThan: SeccompOperator = "SCMP_CMP_LT"
    /// `SCMP_CMP_LE`: less than or equal.
    public static let lessOrEqual: SeccompOperator = "SCMP_CMP_LE"
    /// `SCMP_CMP_EQ`: equal.
    public static let equal: SeccompOperator = "SCMP_CMP_EQ"
    /// `SCMP_CMP_GE`: greater than or equal.
    public static let greaterOrEqual: SeccompOperator = "SCMP_CMP_GE"
    /// `SCMP_CMP_GT`: greater than.
    public static let greaterThan: SeccompOperator = "SCMP_CMP_GT"
    /// `SCMP_CMP_MASKED_EQ`: `(arg & value) == valueTwo`.
    public static let maskedEqual: SeccompOperator = "SCMP_CMP_MASKED_EQ"
}

// Spec: config-linux.md#seccomp
/// A seccomp architecture (`SCMP_ARCH_*`); unknown values decode and are kept.
public struct SeccompArchitecture: RawRepresentable, Codable, Hashable, Sendable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    /// The architecture as written in JSON.
    public var rawValue: String
    /// Wraps an architecture name.
    /// - Parameter rawValue: the JSON string.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps an architecture name literal.
    /// - Parameter value: the JSON string.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The JSON string.
    public var description: String { rawValue }

    /// `SCMP_ARCH_X86`.
    public static let x86: SeccompArchitecture = "SCMP_ARCH_X86"
    /// `SCMP_ARCH_X86_64`.
    public static let x86_64: SeccompArchitecture = "SCMP_ARCH_X86_64"
    /// `SCMP_ARCH_X32`.
    public static let x32: SeccompArchitecture = "SCMP_ARCH_X32"
    /// `SCMP_ARCH_ARM`.
    public static let arm: SeccompArchitecture = "SCMP_ARCH_ARM"
    /// `SCMP_ARCH_AARCH64`.
    public static let aarch64: SeccompArchitecture = "SCMP_ARCH_AARCH64"
    /// `SCMP_ARCH_MIPS`.
    public static let mips: SeccompArchitecture = "SCMP_ARCH_MIPS"
    /// `SCMP_ARCH_MIPS64`.
    public static let mips64: SeccompArchitecture = "SCMP_ARCH_MIPS64"
    /// `SCMP_ARCH_MIPS64N32`.
    public static let mips64n32: SeccompArchitecture = "SCMP_ARCH_MIPS64N32"
    /// `SCMP_ARCH_MIPSEL`.
    public static let mipsel: SeccompArchitecture = "SCMP_ARCH_MIPSEL"
    /// `SCMP_ARCH_MIPSEL64`.
    public static let mipsel64: SeccompArchitecture = "SCMP_ARCH_MIPSEL64"
    /// `SCMP_ARCH_MIPSEL64N32`.
    public static let mipsel64n32: SeccompArchitecture = "SCMP_ARCH_MIPSEL64N32"
    /// `SCMP_ARCH_PPC`.
    public static let ppc: SeccompArchitecture = "SCMP_ARCH_PPC"
    /// `SCMP_ARCH_PPC64`.
    public static let ppc64: SeccompArchitecture = "SCMP_ARCH_PPC64"
    /// `SCMP_ARCH_PPC64LE`.
    public static let ppc64le: SeccompArchitecture = "SCMP_ARCH_PPC64LE"
    /// `SCMP_ARCH_S390`.
    public static let s390: SeccompArchitecture = "SCMP_ARCH_S390"
    /// `SCMP_ARCH_S390X`.
    public static let s390x: SeccompArchitecture = "SCMP_ARCH_S390X"
    /// `SCMP_ARCH_PARISC`.
    public static let parisc: SeccompArchitecture = "SCMP_ARCH_PARISC"
    /// `SCMP_ARCH_PARISC64`.
    public static let parisc64: SeccompArchitecture = "SCMP_ARCH_PARISC64"
    /// `SCMP_ARCH_RISCV64`.
    public static let riscv64: SeccompArchitecture = "SCMP_ARCH_RISCV64"

    /// The architecture this code was compiled for.
    public static var native: SeccompArchitecture {
        #if arch(x86_64)
        return .x86_64
        #elseif arch(arm64)
        return .aarch64
        #elseif arch(i386)
        return .x86
        #elseif arch(arm)
        return .arm
        #elseif arch(s390x)
        return .s390x
        #elseif arch(powerpc64le)
        return .ppc64le
        #elseif arch(powerpc64)
        return .ppc64
        #elseif arch(riscv64)
        return .riscv64
        #else
        return .x86_64
        #endif
    }
}

// Spec: config-linux.md#seccomp
/// A seccomp(2) filter flag (`SECCOMP_FILTER_FLAG_*`); unknown values decode and are kept.
public struct SeccompFlag: RawRepresentable, Codable, Hashable, Sendable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    /// The flag as written in JSON.
    public var rawValue: String
    /// Wraps a flag name.
    /// - Parameter rawValue: the JSON string.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Wraps a flag name literal.
    /// - Parameter value: the JSON string.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The JSON string.
    public var description: String { rawValue }

    /// `SECCOMP_FILTER_FLAG_TSYNC`: synchronise all threads.
    public static let tsync: SeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"
    /// `SECCOMP_FILTER_FLAG_LOG`: log every action but `SCMP_ACT_ALLOW`.
    public static let log: SeccompFlag = "SECCOMP_FILTER_FLAG_LOG"
    /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: keep speculative store bypass enabled.
    public static let specAllow: SeccompFlag = "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: killable wait for notify replies.
    public static let waitKillableRecv: SeccompFlag = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
}
