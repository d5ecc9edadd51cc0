// Spec: runtime.md#state
/// The state of a container, as the `state` operation reports it and hooks receive it
/// on stdin.
public struct ContainerState: Codable, Hashable, Sendable {
    /// The runtime-spec version the state complies with.
    public var ociVersion: String
    /// The container ID, unique on the host.
    public var id: String
    /// The lifecycle status.
    public var status: Status
    /// The container process ID on the host; present when created or running.
    public var pid: Int32?
    /// Absolute path to the bundle directory.
    public var bundle: String
    /// The annotations of the container's configuration.
    public var annotations: [String: String]?

    /// Creates a state.
    /// - Parameters:
    ///   - ociVersion: runtime-spec version; defaults to ``RuntimeSpec/currentVersion``.
    ///   - id: container ID.
    ///   - status: lifecycle status.
    ///   - pid: host PID of the container process.
    ///   - bundle: bundle path.
    ///   - annotations: configuration annotations.
    public init(
        ociVersion: String = RuntimeSpec.currentVersion,
        id: String,
        status: Status,
        pid: Int32? = nil,
        bundle: String,
        annotations: [String: String]? = nil
    ) {
        self.ociVersion = ociVersion
        self.id = id
        self.status = status
        self.pid = pid
        self.bundle = bundle
        self.annotations = annotations
    }

    // Spec: runtime.md#state
    /// A lifecycle status; unknown values (e.g. runc's `paused`) decode and are kept.
    public struct Status: RawRepresentable, Codable, Hashable, Sendable,
        ExpressibleByStringLiteral, CustomStringConvertible
    {
        /// The status as written in JSON.
        public var rawValue: String
        /// Wraps a status.
        /// - Parameter rawValue: the JSON string.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Wraps a status literal.
        /// - Parameter value: the JSON string.
        public init(stringLiteral value: String) { self.rawValue = value }
        /// The JSON string.
        public var description: String { rawValue }

        /// Being created: `create` has not finished.
        public static let creating: Status = "creating"
        /// Created: `create` finished, the user program has not been started.
        public static let created: Status = "created"
        /// Running the user program.
        public static let running: Status = "running"
        /// The process has exited.
        public static let stopped: Status = "stopped"
        /// Frozen by `pause` (a runc extension to the spec's four values).
        public static let paused: Status = "paused"
    }
}
