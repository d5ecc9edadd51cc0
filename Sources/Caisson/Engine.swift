import Foundation
import Logging

/// The front door: pulls and builds images into a store and runs them as containers in
/// this process, with the secure defaults of SECURITY.md.
///
/// An engine composes the layers: an `ImageStore` (images and per-container root
/// filesystems), a `RegistryClient` per pull or push, and a Sandbox `Runtime` (the
/// containers' processes, cgroups and state). It keeps no state of its own in memory:
/// everything lives under the store root and the state root, so another engine over the
/// same roots (this program after a restart, another process) sees the same containers.
///
/// ```swift
/// let engine = try Engine(storeRoot: "/var/lib/caisson", stateRoot: "/run/caisson")
/// try await engine.pull("127.0.0.1:5000/busybox:latest")
/// let output = try await engine.run("127.0.0.1:5000/busybox:latest", ["echo", "hello"])
/// print(output.standardOutputText)  // hello
/// ```
public final class Engine: Sendable {
    /// The image store: an OCI image layout plus snapshots and container root filesystems.
    public let store: ImageStore
    /// The Sandbox runtime that runs the containers.
    public let runtime: Runtime
    /// The settings of the registry clients used by ``pull(_:platform:unpack:progress:)`` and ``push(_:to:)``.
    public let registryConfiguration: RegistryConfiguration
    /// Where registry credentials come from.
    public let credentials: CredentialStore
    /// Bridge networks, addresses, published ports and their firewall rules.
    public let networking: Networking
    let logger: Logger

    /// The store root of ``init(storeRoot:stateRoot:registry:credentials:networking:logger:)``
    /// by default: `/var/lib/caisson` for root; for anyone else `$XDG_DATA_HOME/caisson`,
    /// else `$HOME/.local/share/caisson` (where podman keeps a user's storage too).
    public static var defaultStoreRoot: String {
        if geteuid() == 0 { return "/var/lib/caisson" }
        let environment = ProcessInfo.processInfo.environment
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") { return data + "/caisson" }
        let home = environment["HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? NSHomeDirectory()
        return home + "/.local/share/caisson"
    }

    /// Opens an engine over a store root and a state root (both created if missing).
    ///
    /// Any user can open one: as root the defaults are `/var/lib/caisson` and
    /// `/run/caisson`; anyone else runs rootless containers (see ``create(image:id:configuration:)``)
    /// from a store and state of their own (``defaultStoreRoot``, `Runtime.defaultStateRoot`).
    /// - Parameters:
    ///   - storeRoot: the image store directory (an OCI image layout).
    ///   - stateRoot: the runtime's state directory (one directory per container).
    ///   - registry: registry client settings (plain HTTP hosts, bounds, retries).
    ///   - credentials: where registry credentials come from; anonymous by default.
    ///   - networking: bridge networking; by default state under `storeRoot/network`, run
    ///     files under `<stateRoot>.network`, an nftables table of the store's own
    ///     (`caisson` for the default roots; see `Networking.defaultFirewallTable(stateRoot:)`).
    ///   - logger: where the engine and the layers below log; a no-op logger by default.
    ///     Container operations add the container id as `container` metadata.
    /// - Throws: `ImageStoreError` if the store root is not a usable image layout.
    public init(
        storeRoot: String = Engine.defaultStoreRoot, stateRoot: String = Runtime.defaultStateRoot,
        registry: RegistryConfiguration = RegistryConfiguration(), credentials: CredentialStore = .anonymous,
        networking: Networking? = nil,
        logger: Logger = Logger(label: "caisson", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws {
        // Run files (namespace mounts) beside the runtime's state root, not in it: that
        // directory holds one entry per container.
        self.networking = try networking ?? Networking(stateRoot: storeRoot + "/network", runRoot: stateRoot + ".network", logger: logger)
        self.store = try ImageStore(root: storeRoot, logger: logger)
        self.runtime = Runtime(stateRoot: stateRoot, logger: logger)
        self.registryConfiguration = registry
        self.credentials = credentials
        self.logger = logger
    }

    /// The engine's logger with a container's id as metadata.
    func logger(for id: String) -> Logger {
        var logger = self.logger
        logger[metadataKey: "container"] = "\(id)"
        return logger
    }

    // MARK: Images

    /// Pulls an image from its registry into the store, named by its fully qualified
    /// reference (`docker.io/library/busybox:latest`), and unpacks its layers into the
    /// store's snapshots while they download, so that creating a container from it has
    /// nothing left to unpack. Cancelling the calling task cancels the downloads and the
    /// unpack; partial blobs stay in the store's ingest area and a later pull resumes them.
    /// - Parameters:
    ///   - reference: the image reference (`busybox`, `127.0.0.1:5000/app:1.0`, `…@sha256:…`).
    ///   - platform: the platform to pick from a multi-platform image; the host's by default.
    ///   - unpack: unpack the layers while downloading (the default); with `false` they
    ///     are unpacked when a container is first created from the image.
    ///   - progress: called with progress reports, from any task.
    /// - Returns: the stored image and what the pull did.
    /// - Throws: ``EngineError`` `invalidConfiguration` for a malformed reference;
    ///   `RegistryError` naming the reference or digest at fault; `ImageStoreError` naming
    ///   a verified layer that cannot be unpacked.
    @discardableResult
    public func pull(
        _ reference: String, platform: Platform = .current, unpack: Bool = true,
        progress: (@Sendable (PullProgress) -> Void)? = nil
    ) async throws -> PulledImage {
        let parsed: Reference
        do {
            parsed = try Reference(parsing: reference)
        } catch {
            throw EngineError(.invalidConfiguration, "image reference \"\(reference)\" is invalid", underlying: error)
        }
        logger.info("pulling image", metadata: ["reference": "\(parsed.withDefaultTag())"])
        let pulled = try await RegistryClient.withClient(configuration: registryConfiguration, credentials: credentials, logger: logger) { client in
            try await client.pull(
                parsed, into: self.store, platform: platform, unpack: unpack ? UnpackOptions() : nil, progress: progress)
        }
        logger.info("pulled image", metadata: [
            "reference": "\(pulled.reference)", "downloaded": "\(pulled.downloadedBytes)", "reused": "\(pulled.reusedBlobs)",
        ])
        return pulled
    }

    /// Pushes an image of the store to a registry.
    /// - Parameters:
    ///   - name: the image's name in the store.
    ///   - reference: where to push it (`127.0.0.1:5000/app:1.0`).
    /// - Returns: what the push did.
    /// - Throws: ``EngineError`` `invalidConfiguration` for a malformed reference;
    ///   `RegistryError` naming the reference or blob at fault.
    @discardableResult
    public func push(_ name: String, to reference: String) async throws -> PushedImage {
        let parsed: Reference
        do {
            parsed = try Reference(parsing: reference)
        } catch {
            throw EngineError(.invalidConfiguration, "image reference \"\(reference)\" is invalid", underlying: error)
        }
        let stored = try image(name)
        let storedName = stored.name ?? name
        return try await RegistryClient.withClient(configuration: registryConfiguration, credentials: credentials, logger: logger) { client in
            try await client.push(storedName, from: self.store, to: parsed)
        }
    }

    /// Looks an image up in the store: by its exact name, else by its normalised
    /// reference (`busybox` finds `docker.io/library/busybox:latest`).
    /// - Parameter name: a name or reference.
    /// - Returns: the image, resolved for the host platform.
    /// - Throws: ``EngineError`` `imageNotFound` naming the image and the store.
    public func image(_ name: String) throws -> StoredImage {
        do {
            return try store.image(named: name)
        } catch let error as ImageStoreError where error.code == .notFound {
            if let reference = try? Reference(parsing: name) {
                let qualified = reference.withDefaultTag().description
                if qualified != name, let image = try? store.image(named: qualified) { return image }
            }
            throw EngineError(.imageNotFound, "no image \"\(name)\" in \(store.root): pull or build it first", underlying: error)
        }
    }

    /// The named images of the store, in the order they were named.
    /// - Returns: one summary per name.
    /// - Throws: `ImageStoreError` if the store's index cannot be read.
    public func images() throws -> [ImageSummary] {
        try store.images().map { entry in
            let resolved = try? store.image(descriptor: entry.descriptor)
            return ImageSummary(
                name: entry.name, digest: entry.descriptor.digest,
                size: resolved.map { image in image.manifest.layers.reduce(image.manifest.config.size) { $0 + $1.size } },
                configuration: resolved?.config)
        }
    }

    /// Removes an image's name from the store. Its blobs and snapshots stay until the
    /// store's garbage collection (`ImageStore.collectGarbage`), so containers made from
    /// it keep running.
    /// - Parameter name: the image name.
    /// - Throws: ``EngineError`` `imageNotFound` if no image has that name.
    public func removeImage(_ name: String) throws {
        let stored = try image(name)
        try store.untag(stored.name ?? name)
    }

    // MARK: Containers

    /// The containers this engine manages (made from images) under the state root,
    /// sorted by id, running or not.
    /// - Returns: one summary per container.
    /// - Throws: `SandboxError` if the state root cannot be read.
    public func containers() throws -> [ContainerSummary] {
        try runtime.list().compactMap { state in
            guard let annotations = state.annotations, annotations[EngineAnnotations.rootfsKey] != nil else { return nil }
            return ContainerSummary(
                id: state.id, image: annotations[EngineAnnotations.imageName] ?? "", status: state.status, pid: state.pid,
                rootfs: annotations[EngineAnnotations.rootfsPath] ?? "")
        }
    }

    /// Opens a container this engine (or another over the same roots) created.
    /// - Parameter id: the container id.
    /// - Returns: a handle that can start, signal, stop, exec into and remove it.
    /// - Throws: ``EngineError`` `containerNotFound` if no such engine-managed container exists.
    public func container(id: String) throws -> ManagedContainer {
        let sandbox: Container
        do {
            sandbox = try runtime.container(id: id)
        } catch let error as SandboxError where error.code == .notFound {
            throw EngineError(.containerNotFound, "no container \"\(id)\" under \(runtime.stateRoot)", underlying: error)
        }
        guard let key = sandbox.spec.annotations?[EngineAnnotations.rootfsKey] else {
            throw EngineError(.containerNotFound, "container \"\(id)\" under \(runtime.stateRoot) was not made from an image by an engine")
        }
        return ManagedContainer(engine: self, sandbox: sandbox, rootfsKey: key, logger: logger(for: id))
    }
}
