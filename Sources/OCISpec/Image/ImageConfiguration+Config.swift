extension ImageConfiguration {
    // Spec: image-spec v1.1 config.md#properties (config)
    /// The default execution parameters of a container run from the image.
    ///
    /// Keys are Docker's capitalised names (`Entrypoint`, `WorkingDir`…). `ExposedPorts`
    /// and `Volumes` are sets, encoded as objects with empty values (`{"80/tcp":{}}`).
    public struct Config: Hashable, Sendable {
        /// `user`, `uid`, `user:group`, `uid:gid`, `uid:group` or `user:gid`.
        public var user: String?
        /// Ports to expose, `port/tcp`, `port/udp` or `port`.
        public var exposedPorts: Set<String>?
        /// Environment, `NAME=value`.
        public var env: [String]?
        /// The command to run; arguments from ``cmd`` are appended.
        public var entrypoint: [String]?
        /// Default arguments (or the command when there is no entrypoint).
        public var cmd: [String]?
        /// Directories a container should mount a volume on.
        public var volumes: Set<String>?
        /// The working directory.
        public var workingDir: String?
        /// Arbitrary metadata.
        public var labels: [String: String]?
        /// The signal that stops the container (`SIGTERM`, `9`).
        public var stopSignal: String?
        /// Windows only: whether `cmd` is already escaped.
        public var argsEscaped: Bool?
        /// Docker's health check (not part of the OCI schema).
        public var healthcheck: HealthCheck?

        /// Creates execution parameters.
        /// - Parameters:
        ///   - user: the user to run as.
        ///   - exposedPorts: ports to expose.
        ///   - env: the environment.
        ///   - entrypoint: the entrypoint.
        ///   - cmd: default arguments.
        ///   - volumes: volume mount points.
        ///   - workingDir: the working directory.
        ///   - labels: metadata.
        ///   - stopSignal: the stop signal.
        ///   - argsEscaped: Windows escaping flag.
        ///   - healthcheck: Docker health check.
        public init(
            user: String? = nil, exposedPorts: Set<String>? = nil, env: [String]? = nil,
            entrypoint: [String]? = nil, cmd: [String]? = nil, volumes: Set<String>? = nil,
            workingDir: String? = nil, labels: [String: String]? = nil, stopSignal: String? = nil,
            argsEscaped: Bool? = nil, healthcheck: HealthCheck? = nil
        ) {
            self.user = user
            self.exposedPorts = exposedPorts
            self.env = env
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.volumes = volumes
            self.workingDir = workingDir
            self.labels = labels
            self.stopSignal = stopSignal
            self.argsEscaped = argsEscaped
            self.healthcheck = healthcheck
        }
    }

    /// Docker's `Healthcheck` configuration; durations are nanoseconds.
    public struct HealthCheck: Hashable, Sendable, Codable {
        /// `["NONE"]`, `["CMD", args…]` or `["CMD-SHELL", command]`.
        public var test: [String]?
        /// Time between checks, in nanoseconds.
        public var interval: Int64?
        /// Time before a check is considered hung, in nanoseconds.
        public var timeout: Int64?
        /// Start-up time before failures count, in nanoseconds.
        public var startPeriod: Int64?
        /// Time between checks during the start period, in nanoseconds.
        public var startInterval: Int64?
        /// Consecutive failures needed to be unhealthy.
        public var retries: Int?

        /// Creates a health check.
        /// - Parameters:
        ///   - test: the check command.
        ///   - interval: time between checks (ns).
        ///   - timeout: check timeout (ns).
        ///   - startPeriod: start-up grace period (ns).
        ///   - startInterval: interval during the start period (ns).
        ///   - retries: failures before unhealthy.
        public init(
            test: [String]? = nil, interval: Int64? = nil, timeout: Int64? = nil, startPeriod: Int64? = nil,
            startInterval: Int64? = nil, retries: Int? = nil
        ) {
            self.test = test
            self.interval = interval
            self.timeout = timeout
            self.startPeriod = startPeriod
            self.startInterval = startInterval
            self.retries = retries
        }

        private enum CodingKeys: String, CodingKey {
            case test = "Test"
            case interval = "Interval"
            case timeout = "Timeout"
            case startPeriod = "StartPeriod"
            case startInterval = "StartInterval"
            case retries = "Retries"
        }
    }
}

extension ImageConfiguration.Config: Codable {
    private enum CodingKeys: String, CodingKey {
        case user = "User"
        case exposedPorts = "ExposedPorts"
        case env = "Env"
        case entrypoint = "Entrypoint"
        case cmd = "Cmd"
        case volumes = "Volumes"
        case workingDir = "WorkingDir"
        case labels = "Labels"
        case stopSignal = "StopSignal"
        case argsEscaped = "ArgsEscaped"
        case healthcheck = "Healthcheck"
    }

    /// Decodes the execution parameters; `null` fields (as Docker writes them) are absent.
    /// - Throws: a `DecodingError` naming the field at fault.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        user = try c.decodeIfPresent(String.self, forKey: .user)
        exposedPorts = try c.decodeIfPresent(EmptyObjectSet.self, forKey: .exposedPorts)?.values
        env = try c.decodeIfPresent([String].self, forKey: .env)
        entrypoint = try c.decodeIfPresent([String].self, forKey: .entrypoint)
        cmd = try c.decodeIfPresent([String].self, forKey: .cmd)
        volumes = try c.decodeIfPresent(EmptyObjectSet.self, forKey: .volumes)?.values
        workingDir = try c.decodeIfPresent(String.self, forKey: .workingDir)
        labels = try c.decodeIfPresent([String: String].self, forKey: .labels)
        stopSignal = try c.decodeIfPresent(String.self, forKey: .stopSignal)
        argsEscaped = try c.decodeIfPresent(Bool.self, forKey: .argsEscaped)
        healthcheck = try c.decodeIfPresent(ImageConfiguration.HealthCheck.self, forKey: .healthcheck)
    }

    /// Encodes the execution parameters; sets become objects with empty values.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(user, forKey: .user)
        try c.encodeIfPresent(exposedPorts.map(EmptyObjectSet.init), forKey: .exposedPorts)
        try c.encodeIfPresent(env, forKey: .env)
        try c.encodeIfPresent(entrypoint, forKey: .entrypoint)
        try c.encodeIfPresent(cmd, forKey: .cmd)
        try c.encodeIfPresent(volumes.map(EmptyObjectSet.init), forKey: .volumes)
        try c.encodeIfPresent(workingDir, forKey: .workingDir)
        try c.encodeIfPresent(labels, forKey: .labels)
        try c.encodeIfPresent(stopSignal, forKey: .stopSignal)
        try c.encodeIfPresent(argsEscaped, forKey: .argsEscaped)
        try c.encodeIfPresent(healthcheck, forKey: .healthcheck)
    }
}

/// A set of strings encoded as a JSON object whose values are `{}` (`{"80/tcp":{}}`);
/// values are ignored when decoding.
struct EmptyObjectSet: Codable {
    var values: Set<String>

    init(_ values: Set<String>) { self.values = values }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct Empty: Codable {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        values = Set(c.allKeys.map(\.stringValue))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for value in values.sorted() {
            try c.encode(Empty(), forKey: Key(stringValue: value))
        }
    }
}
