import Dispatch
import Foundation
import OCISpec
import Synchronization
import _CImageStore

#if canImport(Glibc)
import Glibc
#endif

extension ImageStore {
    /// The unpacked directory of the snapshot with this chain ID: `snapshots/<alg>-<hex>/fs`.
    /// - Parameter chainID: the layer's chain ID.
    /// - Returns: the path (it exists once the layer is unpacked).
    public func snapshotPath(_ chainID: Digest) -> String {
        "\(snapshotsDirectory)/\(Self.encoded(chainID))/fs"
    }

    /// Unpacks every layer of `image` that is not unpacked yet into its snapshot, keyed by
    /// chain ID, so each layer is unpacked once and shared. Safe against other processes
    /// unpacking the same layer (per-snapshot lock) and against crashes (a snapshot
    /// appears by atomic rename only when complete and verified).
    /// - Parameters:
    ///   - image: the image.
    ///   - options: limits, policies and progress; the mode is forced to `.snapshot`.
    /// - Returns: the snapshot directories, base first.
    /// - Throws: ``ImageStoreError`` from ``LayerUnpacker`` naming the layer and entry;
    ///   `notFound` if a layer blob is missing.
    @discardableResult
    public func unpack(_ image: StoredImage, options: UnpackOptions = UnpackOptions()) async throws -> [String] {
        try await BlockingIO.run { try self.withSharedStoreLock { try self.unpackBlocking(image, options: options) } }
    }

    func unpackBlocking(_ image: StoredImage, options: UnpackOptions) throws -> [String] {
        var snapshotOptions = options
        snapshotOptions.mode = .snapshot
        let options = snapshotOptions
        let chain = image.chainIDs
        let paths = chain.map { "\(snapshotsDirectory)/\(Self.encoded($0))/fs" }
        let missing = chain.indices.filter { Sys.lstat(paths[$0]) == nil }
        if missing.isEmpty { return paths }
        // Snapshots are independent directories: unpack layers side by side, one per
        // core (decompression and hashing are CPU-bound), at most `maxParallelLayers`.
        let workers = max(1, min(options.maxParallelLayers, missing.count))
        if workers == 1 {
            for index in missing { try unpackLayer(image, index: index, options: options) }
            return paths
        }
        let failures = Mutex<[Int: any Error]>([:])
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let position = next.add(1, ordering: .relaxed).oldValue
                guard position < missing.count, failures.withLock({ $0.isEmpty }) else { return }
                do {
                    try unpackLayer(image, index: missing[position], options: options)
                } catch {
                    failures.withLock { $0[missing[position]] = error }
                }
            }
        }
        // Report the failure of the lowest layer, as a sequential unpack would.
        if let first = failures.withLock({ $0.min { $0.key < $1.key } }) { throw first.value }
        return paths
    }

    /// Unpacks layer `index` of `image` into its snapshot unless another task or process
    /// did it first; the snapshot appears by rename only when complete.
    private func unpackLayer(_ image: StoredImage, index: Int, options: UnpackOptions) throws {
        let chain = image.chainIDs
        let layer = image.manifest.layers[index]
        let diffID = image.config.rootfs.diffIDs[index]
        try commitSnapshot(chainID: chain[index], parent: index > 0 ? chain[index - 1] : nil, layer: layer) { directory in
            guard contains(layer.digest) else {
                throw ImageStoreError(.notFound, "layer \(layer.digest) of \(image.manifestDescriptor.digest) not in \(root)")
            }
            return try LayerUnpacker.unpack(
                blobAt: blobPath(layer.digest), descriptor: layer, diffID: diffID, into: directory, options: options)
        }
    }

    /// Makes the snapshot `chainID` with `extract` (which fills the directory it is given
    /// and verifies the layer), unless another task or process made it first: under the
    /// snapshot's lock, into a temporary directory that is renamed into place only when
    /// `extract` returned, and removed if it threw.
    func commitSnapshot(chainID: Digest, parent: Digest?, layer: Descriptor, extract: (String) throws -> UnpackResult) throws {
        let name = Self.encoded(chainID)
        let final = "\(snapshotsDirectory)/\(name)"
        try StoreLock.with("\(root)/locks/snapshot-\(name).lock", mode: .exclusive) {
            if Sys.lstat(final + "/fs") != nil { return }
            let temporary = "\(snapshotsDirectory)/.tmp-\(name)-\(UInt32.random(in: 0...UInt32.max))"
            try Sys.mkdir(temporary, 0o700)
            do {
                try Sys.mkdir(temporary + "/fs", 0o755)
                let result = try extract(temporary + "/fs")
                let record = SnapshotRecord(
                    chainID: chainID, parent: parent, layer: layer.digest, diffID: result.diffID, entries: result.entries,
                    uncompressedSize: result.uncompressedSize)
                try Sys.writeFileAtomically(temporary + "/info.json", try OCIJSON.encode(record))
                _ = chmod(temporary, 0o755)
                try Sys.rename(temporary, final)
                try Sys.fsyncDirectory(snapshotsDirectory)
            } catch {
                try? Sys.removeTree(temporary)
                throw error
            }
        }
    }

    /// Gives a container its root filesystem at `containers/<key>/rootfs`.
    ///
    /// - `.overlay`: an overlay mount of the image's snapshots with a per-container upper
    ///   and work dir. Lower dirs are passed one by one with the new mount API
    ///   (`fsconfig lowerdir+`), so chains longer than a page of mount options work.
    /// - `.view`: the same snapshots mounted read-only, without an upper dir.
    /// - `.copy`: the layers applied in flat mode into a plain directory (no mount), for
    ///   filesystems or sandboxes without overlayfs. As root, the snapshots are replayed
    ///   with files reflinked (`FICLONE`) where the filesystem supports it, else copied.
    /// - Parameters:
    ///   - key: the container key: `[A-Za-z0-9_.-]`, 1–128 characters, not starting with `.`.
    ///   - image: the image.
    ///   - mode: overlay, view or copy.
    ///   - options: unpack options for snapshots not unpacked yet.
    /// - Returns: the prepared rootfs.
    /// - Throws: ``ImageStoreError`` `invalidLayout` for a bad or existing key; `io` naming
    ///   the mount step; unpack errors.
    public func prepare(
        key: String, image: StoredImage, mode: PreparedRootfs.Mode = .overlay, options: UnpackOptions = UnpackOptions()
    ) async throws -> PreparedRootfs {
        try await BlockingIO.run {
            try self.withSharedStoreLock { try self.prepareBlocking(key: key, image: image, mode: mode, options: options) }
        }
    }

    static func validate(key: String) throws {
        let allowed = key.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                return true
            default: return false
            }
        }
        guard allowed, !key.isEmpty, key.utf8.count <= 128, !key.hasPrefix(".") else {
            throw ImageStoreError(.invalidLayout, "invalid container key \"\(key)\": use [A-Za-z0-9_.-], 1-128 characters, not starting with '.'")
        }
    }

    /// The directory of a container's state: `containers/<key>`.
    func containerDirectory(_ key: String) -> String { "\(containersDirectory)/\(key)" }

    func prepareBlocking(key: String, image: StoredImage, mode: PreparedRootfs.Mode, options: UnpackOptions) throws -> PreparedRootfs {
        try Self.validate(key: key)
        let directory = containerDirectory(key)
        if Glibc.mkdir(directory, 0o711) != 0 {
            if errno == EEXIST { throw ImageStoreError(.invalidLayout, "container \(key) already exists in \(root)") }
            throw Sys.error("mkdir \(directory)")
        }
        do {
            let rootfs = directory + "/rootfs"
            try Sys.mkdir(rootfs, 0o755)
            let record = ContainerRecord(mode: mode, manifest: image.manifestDescriptor.digest, chainIDs: image.chainIDs)
            // Not fsynced: a rootfs does not outlive a reboot (its mounts are gone), so its
            // record need not either; the rename alone keeps it whole. That keeps a
            // prepare on a journaling disk free of journal commits.
            try Sys.writeFileAtomically(directory + "/info.json", try OCIJSON.encode(record), durable: false)
            var upper: String?
            var deferred: (lowers: [String], work: String)?
            switch mode {
            case .copy where options.allowDeviceNodes && geteuid() == 0:
                // Snapshots (unpacked once, shared) replayed onto the rootfs: files are
                // reflinked where the filesystem can, so a copy costs metadata only.
                let snapshots = try unpackBlocking(image, options: options)
                let flattener = SnapshotFlattener()
                for (index, snapshot) in snapshots.enumerated() {
                    try flattener.apply(snapshot: snapshot, onto: rootfs, options: options, layer: "\(image.manifest.layers[index].digest)")
                }
                logger.debug("copy rootfs \(key): \(flattener.cloned) files cloned, \(flattener.copied) copied")
            case .copy:
                // Without root, snapshots cannot hold overlay whiteouts: apply the blobs.
                var flat = options
                flat.mode = .flat
                for (index, layer) in image.manifest.layers.enumerated() {
                    _ = try LayerUnpacker.unpack(
                        blobAt: blobPath(layer.digest), descriptor: layer, diffID: image.config.rootfs.diffIDs[index],
                        into: rootfs, options: flat)
                }
            case .userNamespaceOverlay:
                // Everything but the mount, which only the container's user namespace may do.
                var lowers = try unpackBlocking(image, options: options)
                upper = directory + "/upper"
                try Sys.mkdir(directory + "/upper", 0o755)
                try Sys.mkdir(directory + "/work", 0o700)
                if lowers.isEmpty {
                    try Sys.mkdir(directory + "/empty", 0o755)
                    lowers = [directory + "/empty"]
                }
                deferred = (lowers.reversed(), directory + "/work")
            case .overlay, .view:
                let lowers = try unpackBlocking(image, options: options)
                if mode == .overlay {
                    upper = directory + "/upper"
                    try Sys.mkdir(directory + "/upper", 0o755)
                    try Sys.mkdir(directory + "/work", 0o700)
                    if lowers.isEmpty {
                        // No layers: an empty lower keeps overlay semantics.
                        try Sys.mkdir(directory + "/empty", 0o755)
                        try mountOverlay(at: rootfs, lowers: [directory + "/empty"], upper: upper, work: directory + "/work")
                    } else {
                        try mountOverlay(at: rootfs, lowers: lowers.reversed(), upper: upper, work: directory + "/work")
                    }
                } else if lowers.count == 1 {
                    try bindReadOnly(lowers[0], at: rootfs)
                } else if lowers.isEmpty {
                    try bindReadOnly(rootfs, at: rootfs)
                } else {
                    try mountOverlay(at: rootfs, lowers: lowers.reversed(), upper: nil, work: nil)
                }
            }
            return PreparedRootfs(key: key, path: rootfs, mode: mode, chainID: image.chainIDs.last, upperDirectory: upper,
                                  lowerDirectories: deferred?.lowers ?? [], workDirectory: deferred?.work)
        } catch {
            try? removeBlocking(key: key)
            throw error
        }
    }

    private func mountOverlay(at target: String, lowers: [String], upper: String?, work: String?) throws {
        var step: Int32 = 0
        let cStrings = lowers.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var pointers = cStrings.map { UnsafePointer($0!) }
        let rc = pointers.withUnsafeMutableBufferPointer { buffer in
            cis_mount_overlay(target, buffer.baseAddress!, Int32(buffer.count), upper, work, upper == nil ? 1 : 0, &step)
        }
        if rc == 0 { return }
        let code = errno
        if step == 1 && (code == ENOSYS || code == EPERM) || step == 2 && code == EINVAL {
            // Kernels before 6.8 (no lowerdir+) or without the new mount API: one
            // mount(2) call, which must fit a page of options.
            var data = "lowerdir=" + lowers.joined(separator: ":")
            if let upper, let work { data += ",upperdir=\(upper),workdir=\(work)" }
            guard data.utf8.count < 4096 else {
                throw ImageStoreError(.io, "overlay at \(target): \(lowers.count) lower dirs exceed one page of mount options and the kernel lacks fsconfig lowerdir+", underlying: Sys.posix(code))
            }
            try Sys.retry("mount overlay at \(target)") {
                cis_mount("overlay", target, "overlay", upper == nil ? cis_MS_RDONLY : 0, data)
            }
            return
        }
        let steps = ["", "fsopen", "lowerdir+", "upperdir", "workdir", "create", "fsmount", "move_mount"]
        throw Sys.error("mount overlay at \(target) (\(steps[Int(step)]), \(lowers.count) lower dirs)", code)
    }

    private func bindReadOnly(_ source: String, at target: String) throws {
        try Sys.retry("bind \(source) at \(target)") { cis_mount(source, target, nil, cis_MS_BIND, nil) }
        do {
            try Sys.retry("remount \(target) read-only") {
                cis_mount(nil, target, nil, cis_MS_BIND | cis_MS_REMOUNT | cis_MS_RDONLY, nil)
            }
        } catch {
            _ = cis_umount2(target, cis_MNT_DETACH)
            throw error
        }
    }

    /// Unmounts a container's rootfs (if mounted) and deletes `containers/<key>`.
    /// - Parameter key: the container key.
    /// - Throws: ``ImageStoreError`` `notFound` if there is no such container; `io` if
    ///   unmounting or deleting fails.
    public func remove(key: String) throws {
        try Self.validate(key: key)
        guard Sys.lstat(containerDirectory(key)) != nil else {
            throw ImageStoreError(.notFound, "no container \(key) in \(root)")
        }
        try removeBlocking(key: key)
    }

    func removeBlocking(key: String) throws {
        let directory = containerDirectory(key)
        let rootfs = directory + "/rootfs"
        for point in Sys.mountPoints(under: rootfs).reversed() {
            if cis_umount2(point, 0) != 0 {
                let code = errno
                if code == EBUSY {
                    try Sys.retry("unmount \(point) (lazy)") { cis_umount2(point, cis_MNT_DETACH) }
                } else if code != EINVAL && code != ENOENT {
                    throw Sys.error("unmount \(point)", code)
                }
            }
        }
        let remaining = Sys.mountPoints(under: rootfs)
        guard remaining.isEmpty else {
            throw ImageStoreError(.io, "container \(key): still mounted after unmount: \(remaining.joined(separator: ", "))")
        }
        // overlayfs leaves work/work with mode 000; root removes it regardless, its owner
        // (an overlay mounted in a user namespace) must make it searchable first.
        _ = chmod(directory + "/work/work", 0o700)
        try Sys.removeTree(directory)
    }

    /// Turns a container's changes (its overlay upper dir) into a layer in the store:
    /// overlay whiteouts become `.wh.` entries, opaque directories `.wh..wh..opq`.
    /// - Parameters:
    ///   - key: a container prepared in `.overlay` mode.
    ///   - compression: the layer's compression.
    /// - Returns: the committed layer's descriptor and diff ID.
    /// - Throws: ``ImageStoreError`` `notFound` for an unknown key or a container without
    ///   an upper dir (view and copy modes).
    public func diff(key: String, compression: MediaType.LayerCompression = .gzip) async throws -> LayerWriter.Result {
        try Self.validate(key: key)
        let upper = containerDirectory(key) + "/upper"
        guard let st = Sys.lstat(upper), st.st_mode & Sys.fileTypeMask == Sys.typeDirectory else {
            throw ImageStoreError(.notFound, "container \(key) in \(root) has no overlay upper dir to diff")
        }
        return try await BlockingIO.run {
            try self.withSharedStoreLock {
                try self.writeLayer(compression: compression) { try $0.addTree(from: upper, overlayWhiteouts: true) }
            }
        }
    }

    /// Writes a layer with `body` into `ingest/`, then commits it as a blob.
    func writeLayer(compression: MediaType.LayerCompression, _ body: (LayerWriter) throws -> Void) throws -> LayerWriter.Result {
        let temporary = "\(ingestDirectory)/.layer-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        do {
            let writer = try LayerWriter(path: temporary, compression: compression)
            try body(writer)
            let result = try writer.finish()
            let target = blobPath(result.descriptor.digest)
            try Sys.mkdirs((target as NSString).deletingLastPathComponent)
            try Sys.rename(temporary, target)
            try Sys.fsyncDirectory((target as NSString).deletingLastPathComponent)
            return result
        } catch {
            _ = unlink(temporary)
            throw error
        }
    }
}
