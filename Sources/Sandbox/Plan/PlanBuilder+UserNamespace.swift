import _CSandbox
import Glibc
import OCISpec
import SystemPackage

/// What a user namespace, and a rootless runtime, change in the mount plan.
extension PlanBuilder {
    /// A `sysfs` mount needs a network namespace owned by the container's user namespace;
    /// without a new one the kernel refuses it, and /sys is bound from the host instead
    /// (recursively, so that the spec's `ro`, `nosuid`... cover every mount beneath), as
    /// runc falls back to on EPERM and `runc spec --rootless` writes.
    static func userNamespaceMount(_ mount: RuntimeSpec.Mount, newNetworkNamespace: Bool) -> RuntimeSpec.Mount {
        guard mount.type == "sysfs", !newNetworkNamespace else { return mount }
        return RuntimeSpec.Mount(destination: mount.destination, type: "bind", source: "/sys",
                                 options: ["rbind"] + (mount.options ?? []))
    }

    /// `uid=`/`gid=` options of a devpts, tmpfs... mount name ids inside the container's
    /// user namespace; one it does not map makes the kernel fail the mount with EINVAL.
    /// Refused here with the option named (`runc spec --rootless` drops devpts's gid=5).
    static func checkMappedOptions(_ mount: RuntimeSpec.Mount, index: Int, maps: IDMaps) throws(SandboxError) {
        for option in mount.options ?? [] {
            let parts = option.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == "uid" || parts[0] == "gid", let id = UInt32(parts[1]) else { continue }
            let mappings = parts[0] == "uid" ? maps.uidMappings : maps.gidMappings
            let mapped = mappings.contains { UInt64($0.containerID) <= UInt64(id) && UInt64(id) < UInt64($0.containerID) + UInt64($0.size) }
            if !mapped {
                throw SandboxError(.invalidSpec, "mounts[\(index)].options: \(option) for \(mount.destination) names a \(parts[0]) "
                    + "that linux.\(parts[0])Mappings does not map in the user namespace (map it, or drop the option)")
            }
        }
    }

    /// An empty read-only tmpfs where a rootless container without a delegated cgroup asks
    /// for a `cgroup` mount: it has no cgroup of its own to show, and a user namespace may
    /// not mount a cgroup v1 hierarchy.
    static func emptyCgroupMount(_ mount: RuntimeSpec.Mount, arena: PlanArena) throws(SandboxError) -> MountCompiler.Entry {
        var m = csb_mount()
        m.kind = UInt32(CSB_MOUNT_EMPTY_RO.rawValue)
        m.target = try arena.string(MountCompiler.normalize(mount.destination))
        m.source_slot = -1
        m.mode = 0o755
        return MountCompiler.Entry(mount: m, description: "mount \(mount.destination) (empty: no cgroup is delegated to this user)")
    }

    /// SECURITY.md item 7 (CVE-2023-25809): in a rootless container, no host cgroup may
    /// become writable through a bind mount. The cgroups a user was delegated belong to
    /// it, that is to the container's root; a bind that reaches one is made read-only:
    /// - a bind of a directory inside a cgroup hierarchy becomes read-only itself;
    /// - a recursive bind of a directory above hierarchies (an rbind of /sys, or the
    ///   sysfs fallback above) gets each hierarchy under it remounted read-only.
    static func cgroupGuards(for entry: inout MountCompiler.Entry, mount: RuntimeSpec.Mount, bundle: String,
                             arena: PlanArena) throws(SandboxError) -> [MountCompiler.Entry] {
        guard entry.mount.kind == UInt32(CSB_MOUNT_BIND.rawValue), let sourceField = mount.source else { return [] }
        let source = "/" + MountCompiler.normalize(sourceField.hasPrefix("/") ? sourceField : bundle + "/" + sourceField)
        let hierarchies = (try? Cgroups.hierarchies()) ?? []
        let target = MountCompiler.normalize(mount.destination)
        func inside(_ path: String, _ directory: String) -> Bool {
            directory == "/" || path == directory || path.hasPrefix(directory + "/")
        }
        if hierarchies.contains(where: { inside(source, $0.mountPoint) }) {
            entry.mount.attr_set |= UInt64(MOUNT_ATTR_RDONLY)
            entry.mount.attr_clr &= ~UInt64(MOUNT_ATTR_RDONLY)
            entry.mount.flags |= UInt32(CSB_MF_RECURSIVE.rawValue)
            entry.description += " (read-only: a cgroup in a rootless container)"
            return []
        }
        guard entry.mount.flags & UInt32(CSB_MF_RECURSIVE.rawValue) != 0 else { return [] }
        var guards: [MountCompiler.Entry] = []
        for hierarchy in hierarchies where hierarchy.mountPoint != source && inside(hierarchy.mountPoint, source) {
            let below = source == "/" ? String(hierarchy.mountPoint.dropFirst()) : String(hierarchy.mountPoint.dropFirst(source.count + 1))
            let path = target.isEmpty ? below : target + "/" + below
            var m = csb_mount()
            m.kind = UInt32(CSB_MOUNT_REMOUNT.rawValue)
            m.flags = UInt32(CSB_MF_OPTIONAL.rawValue | CSB_MF_RECURSIVE.rawValue)
            m.target = try arena.string(path)
            m.attr_set = UInt64(MOUNT_ATTR_RDONLY)
            m.source_slot = -1
            guards.append(MountCompiler.Entry(mount: m, description: "cgroup hierarchy /\(path) made read-only (rootless)"))
        }
        return guards
    }

    /// The overlay of ``OverlayRootfs`` as the mount step the child runs first.
    static func overlayMount(_ overlay: OverlayRootfs, userNamespace: Bool,
                             arena: PlanArena) throws(SandboxError) -> (csb_mount, String) {
        let field = "rootfsOverlay"
        guard !overlay.lowerDirectories.isEmpty else {
            throw SandboxError(.invalidSpec, "\(field).lowerDirectories: an overlay needs at least one lower directory")
        }
        guard (overlay.upperDirectory == nil) == (overlay.workDirectory == nil) else {
            throw SandboxError(.invalidSpec, "\(field): an upper directory needs a work directory, and the other way round")
        }
        let all = overlay.lowerDirectories + [overlay.upperDirectory, overlay.workDirectory].compactMap { $0 }
        for path in all where !path.hasPrefix("/") || path.contains("\0") || pathExists(path) == false {
            throw SandboxError(.invalidSpec, "\(field): \"\(path)\" is not an absolute path to an existing directory")
        }
        var options: [String] = []
        if kernelAtLeast(6, 8) {
            // One lower directory per fsconfig call: no separator to escape, no page limit.
            options += overlay.lowerDirectories.map { "lowerdir+=" + $0 }
        } else {
            if let bad = overlay.lowerDirectories.first(where: { $0.contains(":") || $0.contains(",") || $0.contains("\\") }) {
                throw SandboxError(.unsupported, "\(field).lowerDirectories: \"\(bad)\" contains ':', ',' or '\\', "
                    + "which overlayfs before Linux 6.8 (no lowerdir+) cannot take")
            }
            options.append("lowerdir=" + overlay.lowerDirectories.joined(separator: ":"))
        }
        if let upper = overlay.upperDirectory, let work = overlay.workDirectory {
            options += ["upperdir=" + upper, "workdir=" + work]
        }
        // In a user namespace overlayfs keeps its metadata in user.overlay.* (5.11+).
        if userNamespace {
            guard kernelAtLeast(5, 11) else {
                throw SandboxError(.unsupported, "\(field): an overlay in a user namespace needs Linux 5.11 or later (userxattr); "
                    + "prepare the rootfs as a copy instead")
            }
            options.append("userxattr")
        }
        var m = csb_mount()
        m.kind = UInt32(CSB_MOUNT_FS.rawValue)
        m.fstype = try arena.string("overlay")
        m.source = try arena.string("overlay")
        m.options = UnsafePointer(try arena.stringArray(options))
        m.source_slot = -1
        let description = "the overlay (\(overlay.lowerDirectories.count) lower dirs\(overlay.upperDirectory.map { ", upper \($0)" } ?? "")"
            + "\(userNamespace ? ", userxattr" : ""))"
        return (m, description)
    }

    /// Whether the running kernel is at least `major.minor` (uname's release).
    static func kernelAtLeast(_ major: Int, _ minor: Int) -> Bool {
        var name = utsname()
        guard uname(&name) == 0 else { return false }
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else { return false }
        return (numbers[0], numbers[1]) >= (major, minor)
    }

    /// Whether the user namespace the process joins has setgroups(2) denied (a map an
    /// unprivileged user wrote itself): then the child must not call it.
    static func setgroupsDenied(pid: pid_t) -> Bool {
        guard let bytes = try? readFile("/proc/\(pid)/setgroups") else { return false }
        return String(decoding: bytes, as: UTF8.self).trimmed == "deny"
    }
}
