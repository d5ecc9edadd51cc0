import Foundation
import Logging

extension Engine {
    /// Creates a container from an image: prepares its root filesystem (an overlay of the
    /// image's snapshots with a private upper dir), builds its runtime spec from the image
    /// config and `configuration`, and creates it in the Sandbox. The container waits in
    /// `created` until ``ManagedContainer/start()``.
    ///
    /// Run by anyone but root (`Runtime.isRootless`), the container is rootless, as with
    /// `podman` run by a user: a user namespace maps its root to the caller's uid and gid
    /// (its only ids: it runs as root inside, and a `user` other than root is refused),
    /// its overlay is mounted inside that namespace, limits need a cgroup delegated to the
    /// user, and its network is `none`, `host` or `slirp4netns`: the others configure the
    /// host, or join a namespace that only another user namespace may enter.
    /// - Parameters:
    ///   - image: the image name or reference in the store.
    ///   - id: the container id (`[A-Za-z0-9_.-]`, up to 128 characters); a random one by default.
    ///   - configuration: overrides of the image config, limits and security settings.
    /// - Returns: the created container. Remove it with ``remove(id:force:)`` or
    ///   ``ManagedContainer/remove(force:)``; ``withContainer(image:id:configuration:isolation:_:)`` does it for you.
    /// - Throws: ``EngineError`` naming the image or option at fault; `ImageStoreError`
    ///   and `SandboxError` from the layers. Nothing is left behind on failure.
    public func create(
        image: String, id: String? = nil, configuration: ContainerConfiguration = ContainerConfiguration()
    ) async throws -> ManagedContainer {
        let id = id ?? Self.randomID()
        try Self.validate(id: id)
        let stored = try self.image(image)
        let logger = logger(for: id)
        let rootless = Runtime.isRootless
        if rootless { try Self.checkRootlessNetwork(configuration) }
        let rootfs = try await store.prepare(key: id, image: stored, mode: rootless ? .userNamespaceOverlay : .overlay)
        do {
            var spec = try makeSpec(image: stored, imageName: stored.name ?? image, rootfs: rootfs, id: id, configuration: configuration)
            switch configuration.network {
            case .bridge(let name):
                try await ensureNetwork(name)
                fallthrough
            case .cni, .slirp4netns:
                // Released by remove (detach runs the CNI plugins' DEL).
                let attachment = try await networking.attach(
                    containerID: id, mode: configuration.network,
                    options: AttachOptions(hostname: spec.hostname, ports: configuration.ports))
                attachment.apply(to: &spec)
            case .none, .host, .container, .namespacePath:
                guard configuration.ports.isEmpty else {
                    throw EngineError(.invalidConfiguration,
                                      "ports \(configuration.ports.map(\.description)): publishing needs a bridge, CNI or slirp4netns network")
                }
            }
            // A rootless rootfs is mounted only inside the container, whose setup creates a
            // missing cwd there itself.
            if rootfs.mode == .overlay, let cwd = spec.process?.cwd, cwd != "/" {
                try RootfsAccess.makeDirectories(root: rootfs.path, path: cwd)
            }
            let bundle = (rootfs.path as NSString).deletingLastPathComponent
            let overlay = rootfs.mode == .userNamespaceOverlay
                ? OverlayRootfs(lowerDirectories: rootfs.lowerDirectories, upperDirectory: rootfs.upperDirectory, workDirectory: rootfs.workDirectory)
                : nil
            var options = Runtime.CreateOptions(stdio: configuration.stdio, rootfsOverlay: overlay)
            if case .slirp4netns = configuration.network {
                // slirp4netns joins the created container's network namespace before it
                // starts, given as a descriptor: a rootless engine may not open the setup
                // process's /proc/<pid>/ns (it is not dumpable).
                let networking = networking
                options.networkNamespaceHandler = { pid, namespace in
                    try await networking.connect(containerID: id, pid: pid, networkNamespace: namespace)
                }
            }
            // A new network namespace gets lo up from the Sandbox (as runc does).
            let sandbox = try await runtime.create(id: id, spec: spec, bundle: bundle, options: options)
            logger.debug("created container", metadata: ["image": "\(stored.name ?? image)", "pid": "\(sandbox.pid)"])
            return ManagedContainer(engine: self, sandbox: sandbox, rootfsKey: id, logger: logger)
        } catch {
            _ = try? await networking.detach(containerID: id)
            try? store.remove(key: id)
            throw error
        }
    }

    /// Creates a container, hands it to `body`, and removes it when `body` returns or
    /// throws — killing its processes, deleting its cgroup and state, unmounting and
    /// deleting its root filesystem. Cancelling the calling task kills the container (so
    /// a `wait()` in `body` returns), cleans up, and throws `CancellationError`.
    /// - Parameters:
    ///   - image: the image name or reference in the store.
    ///   - id: the container id; a random one by default.
    ///   - configuration: overrides, limits and security settings.
    ///   - isolation: the caller's isolation, inherited by `body`.
    ///   - body: works with the created (not yet started) container.
    /// - Returns: what `body` returns.
    /// - Throws: what creating the container or `body` throws; `CancellationError` if the
    ///   task was cancelled.
    public func withContainer<R: Sendable>(
        image: String, id: String? = nil, configuration: ContainerConfiguration = ContainerConfiguration(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (ManagedContainer) async throws -> R
    ) async throws -> R {
        let container = try await create(image: image, id: id, configuration: configuration)
        let result: Result<R, any Error>
        do {
            let value = try await withTaskCancellationHandler {
                try await body(container)
            } onCancel: {
                // Waiting on a container is not interrupted by cancellation; ending the
                // container is what lets the body's wait return.
                try? container.sandbox.kill(.kill, all: true)
            }
            result = .success(value)
        } catch {
            result = .failure(error)
        }
        // A task of its own: a cancelled task's sleeps and waits return early, and the
        // cleanup must wait for the processes to be gone before removing the cgroup.
        let cleanup = Task { try await self.removeContainer(container.id, sandbox: container.sandbox, force: true) }
        let removed = await cleanup.result
        let value = try result.get()
        try removed.get()
        try Task.checkCancellation()
        return value
    }

    /// Runs a command in a new container from `image` to the end and captures its output,
    /// then removes the container.
    /// - Parameters:
    ///   - image: the image name or reference in the store.
    ///   - command: arguments replacing the image `Cmd`; the image's own by default.
    ///   - configuration: overrides, limits and security settings; its stdout and stderr
    ///     are captured whatever ``ContainerConfiguration/stdio`` says, and it gets no terminal.
    ///   - timeout: how long the container may run; past it, it is killed and the result
    ///     says ``ProcessOutput/timedOut``.
    ///   - outputLimit: the most bytes kept of each stream (16 MiB by default); the rest
    ///     is read and dropped so the container never blocks on a full pipe.
    /// - Returns: the exit status and the output.
    /// - Throws: what ``create(image:id:configuration:)`` throws; `CancellationError` if
    ///   the task was cancelled (the container is killed and removed).
    public func run(
        _ image: String, _ command: [String]? = nil, configuration: ContainerConfiguration = ContainerConfiguration(),
        timeout: Duration? = nil, outputLimit: Int = 16 << 20
    ) async throws -> ProcessOutput {
        var configuration = configuration
        if let command { configuration.command = command }
        if case .pipe = configuration.stdio.input { configuration.stdio.input = .null }
        configuration.stdio.output = .pipe
        configuration.stdio.error = .pipe
        configuration.terminal = false
        return try await withContainer(image: image, configuration: configuration) { container in
            try await container.start()
            return try await capture(
                io: container.io, timeout: timeout, limit: outputLimit,
                wait: { try await container.wait() }, kill: { try container.kill(.kill, all: true) })
        }
    }

    /// Removes a container: kills it if `force` and it is running, deletes its cgroup and
    /// state, unmounts and deletes its root filesystem (its snapshot key in the store).
    /// - Parameters:
    ///   - id: the container id.
    ///   - force: kill it first if it is running.
    /// - Throws: ``EngineError`` `containerNotFound` if neither the runtime nor the store
    ///   knows it; `SandboxError` `invalidState` if it is running and `force` is false.
    public func remove(id: String, force: Bool = false) async throws {
        let sandbox = try? runtime.container(id: id)
        if let sandbox, sandbox.spec.annotations?[EngineAnnotations.rootfsKey] == nil {
            throw EngineError(.containerNotFound, "container \"\(id)\" under \(runtime.stateRoot) was not made from an image by an engine")
        }
        if sandbox == nil && !FileManager.default.fileExists(atPath: "\(store.root)/containers/\(id)") {
            throw EngineError(.containerNotFound, "no container \"\(id)\" under \(runtime.stateRoot) or \(store.root)")
        }
        try await removeContainer(id, sandbox: sandbox, force: force)
    }

    func removeContainer(_ id: String, sandbox: Container?, force: Bool) async throws {
        if let sandbox {
            try await sandbox.delete(force: force)
        }
        // Address, veth, port rules and namespace (nothing to do without a bridge).
        _ = try await networking.detach(containerID: id)
        let key = sandbox?.spec.annotations?[EngineAnnotations.rootfsKey] ?? id
        do {
            try store.remove(key: key)
        } catch let error as ImageStoreError where error.code == .notFound {
            // Removed already (a second remove, or a create that failed half-way).
        }
        logger(for: id).debug("removed container")
    }

    /// Turns a container's changes into a new image: the base image's layers plus one
    /// layer holding what the container added, changed and deleted (its overlay upper
    /// dir). Best done on a stopped container, as files being written are caught midway.
    /// - Parameters:
    ///   - id: the container id.
    ///   - name: the new image's name in the store.
    ///   - configuration: the new image's config; the base image's by default.
    /// - Returns: the new image.
    /// - Throws: ``EngineError`` `containerNotFound`; `ImageStoreError` if a base layer
    ///   is missing from the store.
    @discardableResult
    public func commit(_ id: String, as name: String, configuration: ImageConfiguration.Config? = nil) async throws -> StoredImage {
        let container = try container(id: id)
        guard let manifestJSON = container.sandbox.spec.annotations?[EngineAnnotations.manifest] else {
            throw EngineError(.containerNotFound, "container \"\(id)\" records no base image manifest")
        }
        let manifestDescriptor = try OCIJSON.decode(Descriptor.self, from: Data(manifestJSON.utf8))
        let base = try store.image(descriptor: manifestDescriptor)
        let change = try await store.diff(key: container.rootfsKey)
        let layers = zip(base.manifest.layers, base.config.rootfs.diffIDs).map { LayerWriter.Result(descriptor: $0, diffID: $1) }
        let image = try store.createImage(
            layers: layers + [change], name: name, config: configuration ?? base.config.config, created: rfc3339(Date()))
        logger(for: id).info("committed container", metadata: ["image": "\(name)", "layer": "\(change.descriptor.digest)"])
        return image
    }

    // MARK: Spec

    /// The runtime spec of a container: Docker's secure defaults, the image config, then
    /// the caller's overrides, in that order.
    func makeSpec(
        image: StoredImage, imageName: String, rootfs: PreparedRootfs, id: String, configuration c: ContainerConfiguration
    ) throws -> RuntimeSpec {
        var spec: RuntimeSpec
        do {
            spec = try RuntimeSpec.forImage(
                image.config, base: .secureDefault(args: []), overrideArgs: c.command, overrideEntrypoint: c.entrypoint,
                extraEnv: c.environment)
        } catch {
            throw EngineError(.invalidConfiguration, "image \(imageName)", underlying: error)
        }
        guard var process = spec.process else { throw EngineError(.invalidConfiguration, "image \(imageName): no process") }
        var linux = spec.linux ?? RuntimeSpec.Linux()

        // User: names (and a numeric uid's primary group) come from the image's own
        // account files, read inside the rootfs.
        let rootless = rootfs.mode == .userNamespaceOverlay
        let userText = c.user ?? image.config.config?.user ?? ""
        if !userText.isEmpty {
            let resolved = try resolveUser(userText) { path in
                guard rootless else { return try RootfsAccess.readFile(root: rootfs.path, path: path) }
                return try RootfsAccess.readFile(layers: (rootfs.upperDirectory.map { [$0] } ?? []) + rootfs.lowerDirectories, path: path)
            }
            process.user = .init(uid: resolved.uid, gid: resolved.gid, additionalGids: resolved.additionalGids.isEmpty ? nil : resolved.additionalGids)
            if let home = resolved.home, !home.isEmpty, !(process.env ?? []).contains(where: { $0.hasPrefix("HOME=") }) {
                process.env = (process.env ?? []) + ["HOME=\(home)"]
            }
        }
        if let directory = c.workingDirectory {
            guard directory.hasPrefix("/") else {
                throw EngineError(.invalidConfiguration, "workingDirectory \"\(directory)\" is not absolute")
            }
            process.cwd = directory
        }
        process.terminal = c.terminal ? true : nil
        process.noNewPrivileges = c.noNewPrivileges

        var capabilities = RuntimeSpec.dockerDefaultCapabilities
        let drop = c.dropCapabilities.map(Self.capabilityName)
        if drop.contains("CAP_ALL") {
            capabilities = []
        } else {
            capabilities.removeAll { drop.contains($0) }
        }
        for name in c.addCapabilities.map(Self.capabilityName) where !capabilities.contains(name) {
            guard name != "CAP_ALL" else {
                throw EngineError(.invalidConfiguration, "addCapabilities: ALL is not accepted; name the capabilities to add")
            }
            capabilities.append(name)
        }
        process.capabilities = .init(bounding: capabilities, effective: capabilities, permitted: capabilities)
        spec.process = process

        spec.root = .init(path: rootfs.path, readonly: c.readOnlyRootfs ? true : nil)
        spec.hostname = c.hostname ?? String(id.prefix(12))

        var namespaces = (linux.namespaces ?? []).filter { $0.type != .network }
        switch c.network {
        case .none: namespaces.append(.init(type: .network))
        case .host: break
        case .namespacePath(let path):
            guard path.hasPrefix("/") else {
                throw EngineError(.invalidConfiguration, "network namespace path \"\(path)\" is not absolute")
            }
            namespaces.append(.init(type: .network, path: path))
        case .container(let other):
            // Pods: share the other container's network namespace.
            let peer: Container
            do { peer = try runtime.container(id: other) } catch {
                throw EngineError(.invalidConfiguration, "network container:\(other): no such container")
            }
            guard peer.status() != .stopped else {
                throw EngineError(.invalidConfiguration, "network container:\(other): the container is not running")
            }
            namespaces.append(.init(type: .network, path: "/proc/\(peer.pid)/ns/net"))
        case .bridge, .cni, .slirp4netns:
            break  // the attachment adds the namespace entry (see create)
        }
        linux.namespaces = namespaces

        for mount in c.mounts {
            guard mount.destination.hasPrefix("/") else {
                throw EngineError(.invalidConfiguration, "mount destination \"\(mount.destination)\" is not absolute")
            }
        }
        let replaced = Set(c.mounts.map(\.destination))
        spec.mounts = (spec.mounts ?? []).filter { !replaced.contains($0.destination) } + c.mounts

        var resources = linux.resources ?? RuntimeSpec.Linux.Resources()
        try c.limits.apply(to: &resources)
        linux.resources = resources
        linux.seccomp = c.seccomp.profile
        if !c.maskKernelPaths {
            linux.maskedPaths = nil
            linux.readonlyPaths = nil
        }
        spec.linux = linux
        // Rootless: the caller's own ids are the container's root (runc spec --rootless's mapping).
        if rootless { spec.mapRootInNewUserNamespace(uid: geteuid(), gid: getegid()) }

        var annotations = spec.annotations ?? [:]
        for (key, value) in c.annotations { annotations[key] = value }
        if let signal = c.stopSignal { annotations[ImageAnnotations.stopSignal] = signal.name }
        annotations[EngineAnnotations.imageName] = imageName
        annotations[EngineAnnotations.manifest] = String(decoding: try OCIJSON.encode(image.manifestDescriptor), as: UTF8.self)
        annotations[EngineAnnotations.rootfsKey] = rootfs.key
        annotations[EngineAnnotations.rootfsPath] = rootfs.path
        annotations[EngineAnnotations.stopTimeout] = "\(Self.milliseconds(c.stopTimeout))"
        spec.annotations = annotations

        try c.customize?(&spec)
        return spec
    }

    /// Resolves `uid`, `uid:gid`, `name` or `name:group` against the image's
    /// `/etc/passwd` and `/etc/group`.
    ///
    /// Rootless, only root can be had: the container's user namespace maps nothing else,
    /// and setgroups is denied there (its gid map is the caller's own), so root keeps the
    /// one group it has, with no supplementary ones.
    /// - Parameters:
    ///   - text: the user as `docker run --user` takes it.
    ///   - read: reads a file of the container's filesystem (nil if it does not exist).
    func resolveUser(_ text: String, reading read: (String) throws -> String?) throws -> ImageUser.Resolved {
        let user: ImageUser
        do {
            user = try ImageUser(parsing: text)
        } catch {
            throw EngineError(.invalidConfiguration, "user \"\(text)\" is malformed", underlying: error)
        }
        let passwd = try read("/etc/passwd")
        let group = try read("/etc/group")
        var resolved: ImageUser.Resolved
        do {
            resolved = try user.resolve(passwd: passwd ?? "", group: group ?? "")
        } catch {
            throw EngineError(.invalidConfiguration, "user \"\(text)\" cannot be resolved in the image", underlying: error)
        }
        if Runtime.isRootless {
            guard resolved.uid == 0 && resolved.gid == 0 else {
                throw EngineError(.invalidConfiguration, "user \"\(text)\" (uid \(resolved.uid), gid \(resolved.gid)): a rootless "
                    + "container maps only its root to your uid \(geteuid()) and gid \(getegid()); run it as root (user 0)")
            }
            resolved.additionalGids = []
        }
        return resolved
    }

    /// Networks a rootless container can have: its own (loopback only), the host's, or
    /// its own connected by slirp4netns (user-mode networking, as rootless podman's
    /// default). Bridges and CNI plugins configure the host (veths, addresses, firewall),
    /// which needs root; and a network namespace made in another user namespace (another
    /// container's, or one at a path) can be joined only from inside that user namespace,
    /// which the container does not share.
    static func checkRootlessNetwork(_ c: ContainerConfiguration) throws {
        switch c.network {
        case .none, .host, .slirp4netns:
            return
        case .bridge, .cni, .container, .namespacePath:
            throw EngineError(.invalidConfiguration, "network \(c.network): not for a rootless container (this engine runs as uid "
                + "\(geteuid()), not root); use none, host or slirp4netns")
        }
    }

    /// `CAP_NAME` from `name`, `NAME` or `CAP_NAME`, as Docker's `--cap-add` accepts.
    static func capabilityName(_ name: String) -> String {
        let upper = name.uppercased()
        return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// A container id: 16 random hex digits, like a short Docker id.
    static func randomID() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Container ids must be valid for both the runtime and the image store.
    static func validate(id: String) throws {
        let allowed = id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                return true
            default: return false
            }
        }
        guard allowed, !id.isEmpty, id.utf8.count <= 128, !id.hasPrefix(".") else {
            throw EngineError(.invalidConfiguration, "container id \"\(id)\" is invalid: use [A-Za-z0-9_.-], 1-128 characters, not starting with '.'")
        }
    }

    private func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// Waits for a process and reads its output, killing it at `timeout`.
func capture(
    io: ContainerIO, timeout: Duration?, limit: Int,
    wait: @escaping @Sendable () async throws -> TerminationStatus, kill: @escaping @Sendable () throws -> Void
) async throws -> ProcessOutput {
    async let stdout = collect(io.standardOutput, limit: limit)
    async let stderr = collect(io.standardError, limit: limit)
    var timedOut = false
    let status: TerminationStatus
    if let timeout {
        let outcome = try await withThrowingTaskGroup(of: TerminationStatus?.self, returning: (TerminationStatus, Bool).self) { group in
            group.addTask { try await wait() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            if let first = try await group.next(), let status = first {
                group.cancelAll()
                return (status, false)
            }
            try? kill()
            while let next = try await group.next() {
                if let status = next { return (status, true) }
            }
            return (.unknown, true)
        }
        status = outcome.0
        timedOut = outcome.1
    } else {
        status = try await wait()
    }
    let out = try await stdout
    let err = try await stderr
    return ProcessOutput(
        status: status, standardOutput: out.bytes, standardError: err.bytes, timedOut: timedOut,
        truncated: out.truncated || err.truncated)
}

extension Engine {
    /// The bridge network a container asked for; the default network "caisson"
    /// (10.89.0.0/16, bridge `caisson0`, masquerade) is created on first use.
    func ensureNetwork(_ name: String) async throws {
        if try networking.network(named: name) != nil { return }
        guard name == "caisson" else {
            throw EngineError(.invalidConfiguration, "network \"\(name)\" does not exist: create it with engine.networking.createNetwork")
        }
        let network = BridgeNetwork(name: name, bridge: "caisson0", subnet: try Subnet("10.89.0.0/16"))
        do throws(NetworkError) {
            try await networking.createNetwork(network)
        } catch {
            // Another engine may have made it meanwhile.
            guard error.code == .alreadyExists else { throw error }
        }
    }
}
