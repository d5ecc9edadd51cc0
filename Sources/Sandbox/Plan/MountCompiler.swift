import _CSandbox
import Glibc
import OCISpec

/// Mount options as runc reads them: attribute flags, propagation, bind, and the rest
/// handed to the filesystem.
struct MountOptions {
    var attrSet: UInt64 = 0
    var attrClear: UInt64 = 0
    var recursiveAttrs = false
    var bind = false
    var recursiveBind = false
    var propagation: UInt64 = 0
    var recursivePropagation = false
    var filesystemOptions: [String] = []

    /// Parses `options` of the mount at `field`.
    init(_ options: [String], field: String) throws(SandboxError) {
        for option in options {
            switch option {
            case "bind": bind = true
            case "rbind": bind = true; recursiveBind = true
            case "ro": set(MOUNT_ATTR_RDONLY)
            case "rw": clear(MOUNT_ATTR_RDONLY)
            case "nosuid": set(MOUNT_ATTR_NOSUID)
            case "suid": clear(MOUNT_ATTR_NOSUID)
            case "nodev": set(MOUNT_ATTR_NODEV)
            case "dev": clear(MOUNT_ATTR_NODEV)
            case "noexec": set(MOUNT_ATTR_NOEXEC)
            case "exec": clear(MOUNT_ATTR_NOEXEC)
            case "noatime": setAtime(MOUNT_ATTR_NOATIME)
            case "relatime": setAtime(MOUNT_ATTR_RELATIME)
            case "strictatime": setAtime(MOUNT_ATTR_STRICTATIME)
            case "atime": setAtime(MOUNT_ATTR_RELATIME)
            case "nodiratime": set(MOUNT_ATTR_NODIRATIME)
            case "diratime": clear(MOUNT_ATTR_NODIRATIME)
            case "nosymfollow": set(MOUNT_ATTR_NOSYMFOLLOW)
            case "symfollow": clear(MOUNT_ATTR_NOSYMFOLLOW)
            case "rro": set(MOUNT_ATTR_RDONLY); recursiveAttrs = true
            case "rrw": clear(MOUNT_ATTR_RDONLY); recursiveAttrs = true
            case "rnosuid": set(MOUNT_ATTR_NOSUID); recursiveAttrs = true
            case "rnodev": set(MOUNT_ATTR_NODEV); recursiveAttrs = true
            case "rnoexec": set(MOUNT_ATTR_NOEXEC); recursiveAttrs = true
            case "rnoatime": setAtime(MOUNT_ATTR_NOATIME); recursiveAttrs = true
            // Flags the new mount API has no attribute for; accepted and dropped as runc
            // does for async/defaults, refused where ignoring them would surprise.
            case "async", "defaults", "loud", "norelatime", "nostrictatime", "nomand", "sync", "dirsync",
                 "silent", "remount", "tmpcopyup", "private-nonbind", "nolazytime", "lazytime", "nosymlink":
                continue
            case "mand":
                throw SandboxError(.invalidSpec, "\(field): option \"mand\" is not supported by current kernels")
            default:
                if let value = MountOptions.propagation(option) {
                    propagation = value.flag
                    recursivePropagation = value.recursive
                } else if option.hasPrefix("X-") || option.hasPrefix("x-") {
                    continue  // userspace-only options (fstab style)
                } else {
                    filesystemOptions.append(option)
                }
            }
        }
    }

    private mutating func set(_ attr: Int32) { attrSet |= UInt64(attr); attrClear &= ~UInt64(attr) }
    private mutating func clear(_ attr: Int32) { attrClear |= UInt64(attr); attrSet &= ~UInt64(attr) }
    private mutating func setAtime(_ attr: Int32) {
        attrClear |= UInt64(MOUNT_ATTR__ATIME)
        attrSet = attrSet & ~UInt64(MOUNT_ATTR__ATIME) | UInt64(attr)
    }

    /// A propagation option's MS_* flag and whether it is recursive.
    static func propagation(_ option: String) -> (flag: UInt64, recursive: Bool)? {
        switch option {
        case "private": return (UInt64(MS_PRIVATE), false)
        case "rprivate": return (UInt64(MS_PRIVATE), true)
        case "shared": return (UInt64(MS_SHARED), false)
        case "rshared": return (UInt64(MS_SHARED), true)
        case "slave": return (UInt64(MS_SLAVE), false)
        case "rslave": return (UInt64(MS_SLAVE), true)
        case "unbindable": return (UInt64(MS_UNBINDABLE), false)
        case "runbindable": return (UInt64(MS_UNBINDABLE), true)
        default: return nil
        }
    }
}

/// Turns one spec mount into the C core's mount steps.
enum MountCompiler {
    struct Entry {
        var mount: csb_mount
        var description: String
    }

    /// Compiles `mount` (spec `mounts[index]`).
    /// - Parameters:
    ///   - bundle: relative bind sources are resolved against it, as runc does.
    ///   - cgroups: the container's cgroup directories, for `cgroup` mounts on v1 hosts.
    static func compile(_ mount: RuntimeSpec.Mount, index: Int, bundle: String, rootfs: String,
                        cgroups: Cgroups?, arena: PlanArena) throws(SandboxError) -> [Entry] {
        let field = "mounts[\(index)]"
        guard mount.destination.hasPrefix("/") else {
            throw SandboxError(.invalidSpec, "\(field).destination: \"\(mount.destination)\" is not an absolute path")
        }
        let target = normalize(mount.destination)
        let options = try MountOptions(mount.options ?? [], field: "\(field).options")
        let type = mount.type ?? (options.bind ? "bind" : "")
        if mount.uidMappings != nil || mount.gidMappings != nil {
            throw SandboxError(.unsupported, "\(field): idmapped mounts (uidMappings/gidMappings) are not supported yet")
        }

        var m = csb_mount()
        m.target = try arena.string(target)
        m.attr_set = options.attrSet
        m.attr_clr = options.attrClear
        m.propagation = options.propagation
        m.source_slot = -1
        m.mode = 0o755
        var flags: UInt32 = 0
        if options.recursiveAttrs || options.recursivePropagation { flags |= UInt32(CSB_MF_RECURSIVE.rawValue) }

        if options.bind || type == "bind" {
            guard let source = mount.source, !source.isEmpty else {
                throw SandboxError(.invalidSpec, "\(field).source: a bind mount needs a source")
            }
            let absolute = source.hasPrefix("/") ? source : bundle + "/" + source
            guard let st = fileStatus(absolute) else {
                throw SandboxError(.invalidSpec, "\(field).source: cannot bind \(absolute)", errno: .init(rawValue: Glibc.errno))
            }
            if st.st_mode & S_IFMT != S_IFDIR { flags |= UInt32(CSB_MF_FILE.rawValue) }
            if options.recursiveBind { flags |= UInt32(CSB_MF_RECURSIVE.rawValue) }
            m.kind = UInt32(CSB_MOUNT_BIND.rawValue)
            m.source = try arena.string(absolute)
            m.flags = flags
            return [Entry(mount: m, description: "bind mount \(absolute) on \(mount.destination)")]
        }

        if type == "cgroup", let cgroups {
            return try cgroupV1(mount, target: target, options: options, cgroups: cgroups, arena: arena)
        }

        guard !type.isEmpty else {
            throw SandboxError(.invalidSpec, "\(field).type: missing filesystem type for \(mount.destination)")
        }
        if type == "proc" || type == "sysfs" { flags |= UInt32(CSB_MF_NO_SYMLINK.rawValue) }
        m.kind = UInt32(CSB_MOUNT_FS.rawValue)
        m.fstype = try arena.string(type)
        m.source = try arena.string(orNil: mount.source)
        m.options = options.filesystemOptions.isEmpty ? nil : UnsafePointer(try arena.stringArray(options.filesystemOptions))
        m.flags = flags
        return [Entry(mount: m, description: "mount \(mount.destination) (\(type))")]
    }

    /// A `cgroup` mount: a tmpfs with each hierarchy's container cgroup bound into it
    /// (the view runc gives on cgroup v1 and hybrid hosts).
    private static func cgroupV1(_ mount: RuntimeSpec.Mount, target: String, options: MountOptions,
                                 cgroups: Cgroups, arena: PlanArena) throws(SandboxError) -> [Entry] {
        var entries: [Entry] = []
        var tmpfs = csb_mount()
        tmpfs.kind = UInt32(CSB_MOUNT_FS.rawValue)
        tmpfs.fstype = try arena.string("tmpfs")
        tmpfs.source = try arena.string("tmpfs")
        tmpfs.target = try arena.string(target)
        tmpfs.options = UnsafePointer(try arena.stringArray(["mode=755"]))
        tmpfs.attr_set = UInt64(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
        tmpfs.source_slot = -1
        tmpfs.mode = 0o755
        entries.append(Entry(mount: tmpfs, description: "mount \(mount.destination) (tmpfs for cgroups)"))
        // On hybrid hosts the v2 tree holds no controllers; runc leaves it out of the
        // container's view, and so do we.
        let hasV1 = cgroups.directories.contains { !$0.controllers.isEmpty }
        for directory in cgroups.directories where !(hasV1 && directory.controllers.isEmpty) {
            let name = directory.controllers.isEmpty ? "unified"
                : directory.controllers.replacing("name=", with: "")
            var bind = csb_mount()
            bind.kind = UInt32(CSB_MOUNT_BIND.rawValue)
            bind.source = try arena.string(directory.path)
            bind.target = try arena.string(target + "/" + name)
            bind.attr_set = options.attrSet | UInt64(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
            bind.attr_clr = options.attrClear
            bind.source_slot = -1
            bind.mode = 0o755
            entries.append(Entry(mount: bind, description: "bind cgroup \(directory.path) on \(mount.destination)/\(name)"))
        }
        return entries
    }

    /// "/a//b/./c/" → "a/b/c" (".." stays: the child resolves it inside the rootfs).
    static func normalize(_ path: String) -> String {
        path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}

/// The devices every container gets, and the compilation of spec devices.
enum DeviceTable {
    /// runc's default devices.
    static let defaults: [RuntimeSpec.Linux.Device] = [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
        ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ].map { path, major, minor in
        RuntimeSpec.Linux.Device(type: "c", path: path, major: Int64(major), minor: Int64(minor), fileMode: 0o666, uid: 0, gid: 0)
    }

    static func compile(_ device: RuntimeSpec.Linux.Device, relative: String, bindFromHost: Bool,
                        arena: PlanArena) throws(SandboxError) -> csb_device {
        let kind: UInt32
        switch device.type {
        case "c", "u": kind = UInt32(S_IFCHR)
        case "b": kind = UInt32(S_IFBLK)
        case "p": kind = UInt32(S_IFIFO)
        default: throw SandboxError(.invalidSpec, "linux.devices: \(device.path) has unknown type \"\(device.type)\"")
        }
        var d = csb_device()
        d.path = try arena.string(relative)
        d.mode = kind | ((device.fileMode ?? 0o666) & 0o7777)
        d.dev = csb_makedev(UInt32(clamping: device.major ?? 0), UInt32(clamping: device.minor ?? 0))
        d.uid = device.uid ?? 0
        d.gid = device.gid ?? 0
        // In a user namespace device nodes cannot be created; bind the host's instead.
        d.host_path = bindFromHost ? try arena.string(device.path) : nil
        return d
    }
}
