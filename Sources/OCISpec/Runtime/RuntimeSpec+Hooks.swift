extension RuntimeSpec {
    // Spec: config.md#posix-platform-hooks
    /// Commands run at points of the container lifecycle.
    public struct Hooks: Codable, Hashable, Sendable {
        // Spec: config.md#prestart
        /// Deprecated: run after the container is created, before pivot_root, in the
        /// runtime namespace. Use ``createRuntime`` and friends instead.
        public var prestart: [Hook]?
        // Spec: config.md#createruntime-hooks
        /// Run during `create`, after the environment is set up and before pivot_root,
        /// in the runtime namespace.
        public var createRuntime: [Hook]?
        // Spec: config.md#createcontainer-hooks
        /// Run during `create`, after ``createRuntime``, in the container namespace.
        public var createContainer: [Hook]?
        // Spec: config.md#startcontainer-hooks
        /// Run during `start`, before the user process, in the container namespace.
        public var startContainer: [Hook]?
        // Spec: config.md#poststart
        /// Run after the user process starts, in the runtime namespace.
        public var poststart: [Hook]?
        // Spec: config.md#poststop
        /// Run after the container is deleted, in the runtime namespace.
        public var poststop: [Hook]?

        /// Creates a hook set.
        /// - Parameters:
        ///   - prestart: deprecated prestart hooks.
        ///   - createRuntime: createRuntime hooks.
        ///   - createContainer: createContainer hooks.
        ///   - startContainer: startContainer hooks.
        ///   - poststart: poststart hooks.
        ///   - poststop: poststop hooks.
        public init(
            prestart: [Hook]? = nil,
            createRuntime: [Hook]? = nil,
            createContainer: [Hook]? = nil,
            startContainer: [Hook]? = nil,
            poststart: [Hook]? = nil,
            poststop: [Hook]? = nil
        ) {
            self.prestart = prestart
            self.createRuntime = createRuntime
            self.createContainer = createContainer
            self.startContainer = startContainer
            self.poststart = poststart
            self.poststop = poststop
        }
    }

    // Spec: config.md#posix-platform-hooks
    /// One hook command.
    public struct Hook: Codable, Hashable, Sendable {
        /// Absolute path of the executable (execv semantics).
        public var path: String
        /// Arguments, including `argv[0]`.
        public var args: [String]?
        /// Environment, `KEY=value` entries.
        public var env: [String]?
        /// Seconds before the hook is aborted; must be greater than zero.
        public var timeout: Int?

        /// Creates a hook.
        /// - Parameters:
        ///   - path: the executable.
        ///   - args: arguments including `argv[0]`.
        ///   - env: environment entries.
        ///   - timeout: timeout in seconds.
        public init(path: String, args: [String]? = nil, env: [String]? = nil, timeout: Int? = nil) {
            self.path = path
            self.args = args
            self.env = env
            self.timeout = timeout
        }
    }
}
