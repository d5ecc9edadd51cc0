import SystemPackage

/// The one error type of the Sandbox module.
///
/// Printed as one line that says which step failed, on which path, with which errno:
/// `container "web": mount /proc (proc) failed: Operation not permitted (EPERM)`.
public struct SandboxError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare against the static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidSpec, invalidState, notFound, alreadyExists, setupFailed, hookFailed, system, unsupported
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The runtime spec asks for something malformed or contradictory.
        public static let invalidSpec = Code(.invalidSpec)
        /// The container is not in a state that allows the operation (e.g. delete while running).
        public static let invalidState = Code(.invalidState)
        /// No container with that id exists under the state root.
        public static let notFound = Code(.notFound)
        /// A container with that id exists already.
        public static let alreadyExists = Code(.alreadyExists)
        /// The container's process failed while setting itself up (step and errno in the message).
        public static let setupFailed = Code(.setupFailed)
        /// An OCI hook could not run, failed or timed out (the hook is named in the message).
        public static let hookFailed = Code(.hookFailed)
        /// A system call in the runtime itself failed.
        public static let system = Code(.system)
        /// The kernel or the host lacks what the spec needs.
        public static let unsupported = Code(.unsupported)

        public var description: String { "\(value)" }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One readable line naming the container, step and path at fault.
    public var message: String
    /// The errno behind the failure, if any.
    public var errno: Errno?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the failure kind.
    ///   - message: one line naming the container, step and path at fault.
    ///   - errno: the errno behind it, if any.
    public init(_ code: Code, _ message: String, errno: Errno? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String {
        guard let errno else { return message }
        return "\(message): \(errno) (\(errnoName(errno.rawValue)))"
    }
}

/// The symbolic name of an errno value, for messages a user can search for.
func errnoName(_ value: Int32) -> String {
    let names: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 7: "E2BIG", 8: "ENOEXEC",
        9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT",
        16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR",
        22: "EINVAL", 24: "EMFILE", 26: "ETXTBSY", 28: "ENOSPC", 30: "EROFS", 32: "EPIPE",
        36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 95: "EOPNOTSUPP",
        110: "ETIMEDOUT", 87: "EUSERS", 75: "EOVERFLOW", 111: "ECONNREFUSED",
    ]
    return names[value] ?? "errno \(value)"
}
