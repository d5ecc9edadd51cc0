import Glibc

/// The one error type of the Network module.
///
/// Printed as one line naming the network, container, link or rule at fault, with the errno
/// behind it: `network "web": create bridge cstest0 failed: File exists (EEXIST)`.
public struct NetworkError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare against the static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case invalidArgument, notFound, alreadyExists, portInUse, exhausted, inUse, system, firewall, plugin
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A name, address, subnet or port specification is malformed.
        public static let invalidArgument = Code(.invalidArgument)
        /// No network or attachment with that name exists.
        public static let notFound = Code(.notFound)
        /// A network or attachment with that name exists already.
        public static let alreadyExists = Code(.alreadyExists)
        /// The host port is published by another container already.
        public static let portInUse = Code(.portInUse)
        /// The network's subnet has no free address left.
        public static let exhausted = Code(.exhausted)
        /// The network still has containers attached.
        public static let inUse = Code(.inUse)
        /// A system call (netlink, mount, file) failed.
        public static let system = Code(.system)
        /// libnftables refused a command (its message is included).
        public static let firewall = Code(.firewall)
        /// A CNI plugin failed or answered something unreadable (its error is included).
        public static let plugin = Code(.plugin)

        public var description: String { "\(value)" }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One readable line naming what is at fault.
    public var message: String
    /// The errno behind the failure, if any.
    public var errno: Int32?

    /// Creates an error.
    /// - Parameters:
    ///   - code: the failure kind.
    ///   - message: one line naming the network, container, link or rule at fault.
    ///   - errno: the errno behind it, if any.
    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String {
        guard let errno else { return message }
        return "\(message): \(String(cString: strerror(errno))) (errno \(errno))"
    }

    /// An error for a C helper's negative return value (`-errno`).
    static func system(_ message: String, _ rc: Int32) -> NetworkError {
        NetworkError(.system, message, errno: -rc)
    }
}
