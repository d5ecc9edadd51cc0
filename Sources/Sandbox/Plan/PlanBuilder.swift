import _CSandbox
import Glibc
import OCISpec
import SystemPackage

/// A compiled plan: the flat `csb_plan` the child executes, the memory it lives in, and
/// the parent-side fds it refers to (closed once the child has its copies).
final class CompiledPlan: @unchecked Sendable {
    let arena: PlanArena
    let plan: UnsafeMutablePointer<csb_plan>
    let stack: UnsafeMutableRawPointer
    let stackSize: Int
    /// fds the parent opened only to hand them to the child.
    var parentFDs: [Int32]
    /// What the child must be told about, step by step, to name the thing at fault.
    let mountDescriptions: [String]
    let deviceDescriptions: [String]
    let symlinkDescriptions: [String]
    let sysctlDescriptions: [String]
    let rlimitDescriptions: [String]
    let setnsDescriptions: [String]
    /// argv[0], the cwd and the rootfs, for messages.
    let program: String
    let cwd: String
    let rootfs: String
    /// The memfd the child's hooks write their stdout and stderr to (read for errors); -1 none.
    var hookOutput: Int32 = -1
    /// Buffers in the plan for the state JSON of the child's hooks, filled once the pid is known.
    var hookStates: (creating: UnsafeMutableRawPointer, created: UnsafeMutableRawPointer, capacity: Int)?
    /// The spec's hooks, to name a failing one.
    var hooks: RuntimeSpec.Hooks?
    /// What the child mounts on the rootfs first (an overlay), for messages.
    var rootfsMountDescription = ""
    /// The cgroup directories the child moves itself into (its `cgroup_task_slots`), for messages.
    var cgroupDescriptions: [String] = []

    init(arena: PlanArena, plan: UnsafeMutablePointer<csb_plan>, stack: UnsafeMutableRawPointer, stackSize: Int,
         parentFDs: [Int32], mounts: [String], devices: [String], symlinks: [String], sysctls: [String],
         rlimits: [String], setns: [String], program: String, cwd: String, rootfs: String) {
        self.arena = arena
        self.plan = plan
        self.stack = stack
        self.stackSize = stackSize
        self.parentFDs = parentFDs
        self.mountDescriptions = mounts
        self.deviceDescriptions = devices
        self.symlinkDescriptions = symlinks
        self.sysctlDescriptions = sysctls
        self.rlimitDescriptions = rlimits
        self.setnsDescriptions = setns
        self.program = program
        self.cwd = cwd
        self.rootfs = rootfs
    }

    deinit { closeHookOutput() }

    func closeHookOutput() {
        if hookOutput >= 0 { close(hookOutput) }
        hookOutput = -1
    }

    /// Closes the parent's copies of the fds handed to the child.
    func closeParentFDs() {
        for fd in parentFDs { close(fd) }
        parentFDs = []
    }
}

/// Compiles a runtime spec into the flat plan of the C core (ARCHITECTURE.md: the parent
/// resolves everything; the child only executes).
struct PlanBuilder {
    /// What the container process is: the first process of a new container, or a process
    /// exec'd into a running one.
    enum Mode {
        case create(rootfs: String, bundle: String, noPivot: Bool, cgroups: Cgroups?)
        case exec(containerPID: pid_t, namespaces: [RuntimeSpec.Linux.Namespace])
    }

    /// fd slots in the child. 0...2 are stdio, then the passed fds, then the runtime's own.
    struct Channels {
        var stdio: [Int32]           // parent fds for child 0, 1, 2 (a pty replaces them)
        var extraFiles: [Int32]      // parent fds for child 3, 4, ...
        var sync: Int32              // parent fd of the child's end of the sync socket
        var fifo: Int32?             // parent fd of the start fifo (O_RDWR), create only
        var cgroupTasks: [Int32] = [] // parent fds of the v1 `tasks` files the child writes itself into
    }

    let spec: RuntimeSpec
    let process: RuntimeSpec.Process
    let mode: Mode
    /// The runtime is not root of the initial user namespace (see ``Rootless``).
    var rootless = false
    /// The maps of a new user namespace (create only).
    var idMaps: IDMaps?
    /// An overlay the child mounts on the rootfs before anything else (create only).
    var rootfsOverlay: OverlayRootfs?
    /// Where compiled seccomp programs are kept (the runtime's state root).
    var seccompCache = SeccompCache(stateRoot: nil)
    /// The child sends its new network namespace to the parent (create only).
    var sendNetworkNamespace = false

    // swiftlint:disable:next function_body_length
    func compile(channels: Channels) throws(SandboxError) -> CompiledPlan {
        let linux = spec.linux ?? RuntimeSpec.Linux()
        let stackSize = 128 * 1024
        let arena = PlanArena()
        var openedFDs: [Int32] = []
        var hookOutput: Int32 = -1
        var rootfsMountDescription = ""
        do throws(SandboxError) {
            try Self.refuseUnsupported(spec: spec, process: process)
            var plan = csb_plan()
            let stack = try arena.reserve(stackSize)

            // MARK: fds
            var maps: [csb_fd_map] = []
            for (target, source) in channels.stdio.enumerated() {
                maps.append(csb_fd_map(source: source, target: Int32(target), cloexec: 0))
            }
            for (index, source) in channels.extraFiles.enumerated() {
                maps.append(csb_fd_map(source: source, target: Int32(3 + index), cloexec: 0))
            }
            var nextSlot = Int32(3 + channels.extraFiles.count)
            func slot(for source: Int32) -> Int32 {
                defer { nextSlot += 1 }
                maps.append(csb_fd_map(source: source, target: nextSlot, cloexec: 1))
                return nextSlot
            }
            plan.sync_slot = slot(for: channels.sync)
            plan.fifo_slot = channels.fifo.map { slot(for: $0) } ?? -1
            if !channels.cgroupTasks.isEmpty {
                let slots = channels.cgroupTasks.map { slot(for: $0) }
                plan.cgroup_task_slots = UnsafePointer(try arena.copy(slots))
                plan.cgroup_task_count = UInt32(slots.count)
            }

            // MARK: namespaces
            var setnsSlots: [Int32] = []
            var setnsTypes: [Int32] = []
            var setnsDescriptions: [String] = []
            var cloneFlags: UInt64 = 0
            var unshareFlags: UInt64 = 0
            let namespaces: [RuntimeSpec.Linux.Namespace]
            switch mode {
            case .create: namespaces = linux.namespaces ?? []
            case .exec(let pid, let containerNamespaces):
                // Join every namespace the container has, through its init's /proc entries.
                namespaces = containerNamespaces.map { ns in
                    RuntimeSpec.Linux.Namespace(type: ns.type, path: "/proc/\(pid)/ns/\(Self.procName(ns.type))")
                }
            }
            var seen = Set<RuntimeSpec.Linux.NamespaceType>()
            // A joined user namespace goes first: it decides what the other joins may do.
            let ordered = namespaces.filter { $0.type == .user } + namespaces.filter { $0.type != .user }
            for (index, namespace) in ordered.enumerated() {
                guard let flag = Self.cloneFlag(namespace.type) else {
                    throw SandboxError(.invalidSpec, "linux.namespaces[\(index)].type: unknown namespace type \"\(namespace.type)\"")
                }
                guard seen.insert(namespace.type).inserted else {
                    throw SandboxError(.invalidSpec, "linux.namespaces: namespace \"\(namespace.type)\" is listed twice")
                }
                if let path = namespace.path, !path.isEmpty {
                    let fd = open(path, O_RDONLY | O_CLOEXEC)
                    guard fd >= 0 else {
                        throw SandboxError(.invalidSpec, "linux.namespaces: cannot open \(namespace.type) namespace \(path)", errno: Errno(rawValue: Glibc.errno))
                    }
                    openedFDs.append(fd)
                    setnsSlots.append(slot(for: fd))
                    setnsTypes.append(Int32(flag))
                    setnsDescriptions.append("\(namespace.type) namespace \(path)")
                    if namespace.type == .pid { plan.fork_after_setns = 1 }
                } else if namespace.type == .cgroup || namespace.type == .time {
                    unshareFlags |= flag  // after joining the cgroup / before anything runs in it
                } else {
                    cloneFlags |= flag
                }
            }
            if case .exec = mode, seen.contains(.pid) { plan.fork_after_setns = 1 }
            plan.clone_flags = cloneFlags
            plan.unshare_flags = unshareFlags
            plan.setns_slots = setnsSlots.isEmpty ? nil : UnsafePointer(try arena.copy(setnsSlots))
            plan.setns_types = setnsTypes.isEmpty ? nil : UnsafePointer(try arena.copy(setnsTypes))
            plan.setns_count = UInt32(setnsSlots.count)
            if let offsets = linux.timeOffsets, !offsets.isEmpty, case .create = mode {
                guard unshareFlags & UInt64(CSB_CLONE_NEWTIME.rawValue) != 0 else {
                    throw SandboxError(.invalidSpec, "linux.timeOffsets: needs a new time namespace in linux.namespaces")
                }
                let lines = offsets.keys.sorted().map { clock -> String in
                    let offset = offsets[clock]!
                    return "\(clock) \(offset.secs ?? 0) \(offset.nanosecs ?? 0)\n"
                }
                plan.timens_offsets = try arena.string(lines.joined())
            }

            var mounts: [csb_mount] = []
            var mountDescriptions: [String] = []
            var devices: [csb_device] = []
            var deviceDescriptions: [String] = []
            var symlinks: [csb_symlink] = []
            var symlinkDescriptions: [String] = []
            var sysctlDescriptions: [String] = []

            var rootfsPath = "/"
            if case .create(let rootfs, let bundle, let noPivot, let cgroups) = mode {
                rootfsPath = rootfs
                guard cloneFlags & UInt64(CSB_CLONE_NEWNS.rawValue) != 0 || seen.contains(.mount) else {
                    throw SandboxError(.invalidSpec, "linux.namespaces: a mount namespace is required")
                }
                if spec.hostname != nil, !seen.contains(.uts) {
                    throw SandboxError(.invalidSpec, "hostname: setting it needs a uts namespace in linux.namespaces")
                }
                plan.hostname = try arena.string(orNil: spec.hostname)
                plan.domainname = try arena.string(orNil: spec.domainname)
                plan.rootfs = try arena.string(rootfs)
                plan.no_pivot = noPivot ? 1 : 0
                plan.readonly_root = (spec.root?.readonly ?? false) ? 1 : 0
                plan.root_propagation = UInt64(MS_SLAVE)
                if let propagation = linux.rootfsPropagation, !propagation.isEmpty {
                    guard let value = MountOptions.propagation(propagation) else {
                        throw SandboxError(.invalidSpec, "linux.rootfsPropagation: unknown propagation \"\(propagation)\"")
                    }
                    plan.rootfs_propagation = value.flag
                    if value.flag == UInt64(MS_PRIVATE) { plan.root_propagation = UInt64(MS_PRIVATE) }
                }
                let userNamespace = seen.contains(.user)
                if let overlay = rootfsOverlay {
                    let (mount, description) = try Self.overlayMount(overlay, userNamespace: userNamespace, arena: arena)
                    plan.rootfs_mount = UnsafePointer(try arena.copy([mount]))
                    rootfsMountDescription = description
                }
                let newNetworkNamespace = cloneFlags & UInt64(CSB_CLONE_NEWNET.rawValue) != 0

                // Spec mounts, in order.
                for (index, specMount) in (spec.mounts ?? []).enumerated() {
                    let mount = userNamespace ? Self.userNamespaceMount(specMount, newNetworkNamespace: newNetworkNamespace) : specMount
                    if let idMaps { try Self.checkMappedOptions(mount, index: index, maps: idMaps) }
                    var compiled: [MountCompiler.Entry]
                    if rootless && mount.type == "cgroup" && cgroups == nil {
                        compiled = [try Self.emptyCgroupMount(mount, arena: arena)]
                    } else {
                        compiled = try MountCompiler.compile(
                            mount, index: index, bundle: bundle, rootfs: rootfs, cgroups: cgroups, arena: arena)
                    }
                    if rootless {
                        var guards: [MountCompiler.Entry] = []
                        for i in compiled.indices {
                            if mount.type == "cgroup" && compiled[i].mount.kind == UInt32(CSB_MOUNT_BIND.rawValue) {
                                // The container's own (delegated) cgroup: readable, never writable (item 7).
                                compiled[i].mount.attr_set |= UInt64(MOUNT_ATTR_RDONLY)
                                compiled[i].mount.attr_clr &= ~UInt64(MOUNT_ATTR_RDONLY)
                            } else {
                                guards += try Self.cgroupGuards(for: &compiled[i], mount: mount, bundle: bundle, arena: arena)
                            }
                        }
                        compiled += guards
                    }
                    for entry in compiled {
                        mounts.append(entry.mount)
                        mountDescriptions.append(entry.description)
                    }
                }

                // Devices: the defaults every container gets, then the spec's.
                var devicePaths = Set<String>()
                for device in DeviceTable.defaults + (linux.devices ?? []) {
                    let relative = String(device.path.drop { $0 == "/" })
                    guard device.path.hasPrefix("/dev/"), !relative.split(separator: "/").contains("..") else {
                        throw SandboxError(.invalidSpec, "linux.devices: \(device.path) is not under /dev")
                    }
                    guard devicePaths.insert(relative).inserted else { continue }
                    devices.append(try DeviceTable.compile(device, relative: relative, bindFromHost: userNamespace, arena: arena))
                    deviceDescriptions.append("device \(device.path)")
                }
                // Docker/runc's /dev links.
                var links: [(String, String)] = [
                    ("/proc/self/fd", "dev/fd"), ("/proc/self/fd/0", "dev/stdin"),
                    ("/proc/self/fd/1", "dev/stdout"), ("/proc/self/fd/2", "dev/stderr"),
                ]
                if pathExists("/proc/kcore") { links.append(("/proc/kcore", "dev/core")) }
                if (spec.mounts ?? []).contains(where: { $0.destination == "/dev/pts" }) { links.append(("pts/ptmx", "dev/ptmx")) }
                for (target, path) in links {
                    symlinks.append(csb_symlink(target: try arena.string(target), path: try arena.string(path)))
                    symlinkDescriptions.append("symlink /\(path) -> \(target)")
                }

                // Masked and read-only paths, after pivot_root, never through a container link.
                // Read-only paths first, then masked ones (runc's order).
                for path in linux.readonlyPaths ?? [] {
                    guard path.hasPrefix("/") else { throw SandboxError(.invalidSpec, "linux.readonlyPaths: \(path) is not absolute") }
                    var m = csb_mount()
                    m.kind = UInt32(CSB_MOUNT_REMOUNT.rawValue)
                    m.flags = UInt32(CSB_MF_AFTER_PIVOT.rawValue | CSB_MF_OPTIONAL.rawValue | CSB_MF_RECURSIVE.rawValue)
                    m.target = try arena.string(String(path.drop { $0 == "/" }))
                    m.attr_set = UInt64(MOUNT_ATTR_RDONLY)
                    m.source_slot = -1
                    mounts.append(m)
                    mountDescriptions.append("read-only path \(path)")
                }

                for path in linux.maskedPaths ?? [] {
                    guard path.hasPrefix("/") else { throw SandboxError(.invalidSpec, "linux.maskedPaths: \(path) is not absolute") }
                    var m = csb_mount()
                    m.kind = UInt32(CSB_MOUNT_MASK.rawValue)
                    m.flags = UInt32(CSB_MF_AFTER_PIVOT.rawValue | CSB_MF_OPTIONAL.rawValue)
                    m.target = try arena.string(String(path.drop { $0 == "/" }))
                    m.source_slot = -1
                    mounts.append(m)
                    mountDescriptions.append("masked path \(path)")
                }
                // sysctls, written through the container's /proc.
                let sysctls = (linux.sysctl ?? [:]).sorted { $0.key < $1.key }
                for (key, _) in sysctls {
                    guard !key.isEmpty, !key.contains("/"), !key.split(separator: ".").contains(where: { $0.isEmpty || $0 == ".." }) else {
                        throw SandboxError(.invalidSpec, "linux.sysctl: invalid key \"\(key)\"")
                    }
                    sysctlDescriptions.append("sysctl \(key)")
                }
                if !sysctls.isEmpty {
                    plan.sysctl_paths = UnsafePointer(try arena.stringArray(sysctls.map { "/proc/sys/" + $0.key.replacing(".", with: "/") }))
                    plan.sysctl_values = UnsafePointer(try arena.stringArray(sysctls.map { $0.value }))
                    plan.sysctl_count = UInt32(sysctls.count)
                }
            }
            plan.mounts = mounts.isEmpty ? nil : UnsafePointer(try arena.copy(mounts))
            plan.mount_count = UInt32(mounts.count)
            plan.devices = devices.isEmpty ? nil : UnsafePointer(try arena.copy(devices))
            plan.device_count = UInt32(devices.count)
            plan.symlinks = symlinks.isEmpty ? nil : UnsafePointer(try arena.copy(symlinks))
            plan.symlink_count = UInt32(symlinks.count)

            // MARK: process
            let args = process.args ?? []
            guard let first = args.first, !first.isEmpty, !first.contains("\0") else {
                throw SandboxError(.invalidSpec, "process.args: must name the program to run")
            }
            guard process.cwd.hasPrefix("/") else {
                throw SandboxError(.invalidSpec, "process.cwd: \"\(process.cwd)\" is not an absolute path")
            }
            plan.cwd = try arena.string(process.cwd)
            plan.argv = try arena.stringArray(args)
            let env = process.env ?? []
            plan.envp = try arena.stringArray(env)
            let pathValue = env.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? ""
            plan.path_env = try arena.string(pathValue)
            if process.terminal ?? false {
                plan.console = 1
                plan.console_rows = UInt16(clamping: process.consoleSize?.height ?? 0)
                plan.console_cols = UInt16(clamping: process.consoleSize?.width ?? 0)
            }

            plan.uid = process.user.uid
            plan.gid = process.user.gid
            let groups = process.user.additionalGids ?? []
            plan.groups = groups.isEmpty ? nil : UnsafePointer(try arena.copy(groups))
            plan.group_count = UInt32(groups.count)
            plan.set_groups = 1
            // setgroups(2) is denied in a user namespace whose gid map an unprivileged user
            // wrote itself: leave the groups alone there, and refuse groups to add.
            var setgroupsDenied = idMaps?.denySetgroups ?? false
            if case .exec(let pid, let joined) = mode, joined.contains(where: { $0.type == .user }) {
                setgroupsDenied = Self.setgroupsDenied(pid: pid)
            }
            if setgroupsDenied {
                guard groups.isEmpty else {
                    throw SandboxError(.invalidSpec, "process.user.additionalGids: setgroups(2) is denied in this user namespace "
                        + "(a single-id gid map written without newgidmap); map gids from /etc/subgid or drop additionalGids")
                }
                plan.set_groups = 0
            }
            plan.dumpable_until_go = idMaps != nil && IDMaps.needsDumpableChild ? 1 : 0
            plan.send_netns = sendNetworkNamespace ? 1 : 0
            plan.umask = Int32(process.user.umask ?? 0o022)

            var rlimits: [csb_rlimit] = []
            var rlimitDescriptions: [String] = []
            for (index, limit) in (process.rlimits ?? []).enumerated() {
                guard let resource = Self.rlimitResource(limit.type) else {
                    throw SandboxError(.invalidSpec, "process.rlimits[\(index)].type: unknown rlimit \"\(limit.type)\"")
                }
                rlimits.append(csb_rlimit(resource: resource, soft: limit.soft, hard: limit.hard))
                rlimitDescriptions.append("rlimit \(limit.type) (soft \(limit.soft), hard \(limit.hard))")
            }
            plan.rlimits = rlimits.isEmpty ? nil : UnsafePointer(try arena.copy(rlimits))
            plan.rlimit_count = UInt32(rlimits.count)

            if let caps = process.capabilities {
                plan.set_caps = 1
                plan.cap_bounding = try Capabilities.mask(caps.bounding, field: "process.capabilities.bounding")
                plan.cap_effective = try Capabilities.mask(caps.effective, field: "process.capabilities.effective")
                plan.cap_permitted = try Capabilities.mask(caps.permitted, field: "process.capabilities.permitted")
                plan.cap_inheritable = try Capabilities.mask(caps.inheritable, field: "process.capabilities.inheritable")
                plan.cap_ambient = try Capabilities.mask(caps.ambient, field: "process.capabilities.ambient")
            }
            plan.cap_last = Capabilities.last
            plan.no_new_privs = (process.noNewPrivileges ?? false) ? 1 : 0

            plan.personality = -1
            if let personality = linux.personality, case .create = mode {
                switch personality.domain {
                case "LINUX": plan.personality = 0
                case "LINUX32": plan.personality = 0x0008
                default: throw SandboxError(.invalidSpec, "linux.personality.domain: unknown domain \"\(personality.domain)\"")
                }
            }
            plan.ioprio = -1
            if let priority = process.ioPriority {
                let classes = ["IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3]
                guard let cls = classes[priority.class.rawValue] else {
                    throw SandboxError(.invalidSpec, "process.ioPriority.class: unknown class \"\(priority.class.rawValue)\"")
                }
                guard (0...7).contains(priority.priority) else {
                    throw SandboxError(.invalidSpec, "process.ioPriority.priority: \(priority.priority) is not 0...7")
                }
                plan.ioprio = Int32(cls << 13 | priority.priority)
            }
            if let scheduler = process.scheduler {
                plan.sched_attr = UnsafeRawPointer(try arena.copy(try Self.schedAttr(scheduler)))
            }
            if let initial = process.execCPUAffinity?.initial, !initial.isEmpty {
                let words = try Self.cpuMask(initial, field: "process.execCPUAffinity.initial")
                plan.cpu_affinity = UnsafePointer(try arena.copy(words))
                plan.cpu_affinity_words = UInt32(words.count)
            }

            if let seccomp = linux.seccomp {
                let program = try SeccompCompiler.compile(seccomp, cache: seccompCache)
                plan.seccomp_filter = try arena.bytes(program.instructions)
                plan.seccomp_len = UInt32(program.instructions.count / 8)
                plan.seccomp_flags = program.flags
                plan.seccomp_notify = program.usesNotify ? 1 : 0
                // Without no_new_privs the filter needs CAP_SYS_ADMIN: load it before the
                // capabilities go. A notify filter must reach the runtime at create time.
                plan.seccomp_early = (program.usesNotify || plan.no_new_privs == 0) ? 1 : 0
            }

            // MARK: hooks the child runs, or pauses for
            plan.hook_output_slot = -1
            var hookStates: (creating: UnsafeMutableRawPointer, created: UnsafeMutableRawPointer, capacity: Int)?
            if case .create(_, let bundle, _, _) = mode {
                try Hooks.validate(spec.hooks)
                let kinds: [Hooks.Kind] = [.prestart, .createRuntime, .createContainer, .startContainer]
                if kinds.contains(where: { !$0.hooks(in: spec.hooks).isEmpty }) {
                    let memfd = csb_memfd("caisson-hook-output")
                    guard memfd >= 0 else { throw SandboxError(.system, "hooks: memfd for their output", errno: Errno(rawValue: -memfd)) }
                    hookOutput = memfd
                    plan.hook_output_slot = slot(for: memfd)
                    plan.hooks_sync = 1
                    func compiled(_ kind: Hooks.Kind) throws(SandboxError) -> (UnsafePointer<csb_hook>?, UInt32) {
                        let hooks = kind.hooks(in: spec.hooks)
                        guard !hooks.isEmpty else { return (nil, 0) }
                        var out: [csb_hook] = []
                        for hook in hooks {
                            var h = csb_hook()
                            h.path = try arena.string(hook.path)
                            h.argv = try arena.stringArray(hook.args?.isEmpty == false ? hook.args! : [hook.path])
                            h.envp = try arena.stringArray(hook.env ?? [])
                            h.timeout_ms = Int64(hook.timeout ?? 0) * 1000
                            out.append(h)
                        }
                        return (UnsafePointer(try arena.copy(out)), UInt32(out.count))
                    }
                    (plan.create_container_hooks, plan.create_container_hook_count) = try compiled(.createContainer)
                    (plan.start_container_hooks, plan.start_container_hook_count) = try compiled(.startContainer)
                    // Room for the longest state: a 1,024-byte id and a 10-digit pid.
                    let capacity = Hooks.stateJSON(spec: spec, id: String(repeating: "x", count: 1024), status: .creating,
                                                   pid: Int32.max, bundle: bundle).count + 16
                    let creating = try arena.reserve(capacity)
                    let created = try arena.reserve(capacity)
                    plan.hook_state_creating = creating.assumingMemoryBound(to: CChar.self)
                    plan.hook_state_created = created.assumingMemoryBound(to: CChar.self)
                    hookStates = (creating, created, capacity)
                }
            }

            plan.fds = UnsafePointer(try arena.copy(maps))
            plan.fd_count = UInt32(maps.count)
            plan.first_free_fd = nextSlot
            plan.exec_after_fifo = 1

            let compiled = CompiledPlan(
                arena: arena, plan: try arena.copy(plan), stack: stack, stackSize: stackSize, parentFDs: openedFDs,
                mounts: mountDescriptions, devices: deviceDescriptions, symlinks: symlinkDescriptions,
                sysctls: sysctlDescriptions, rlimits: rlimitDescriptions, setns: setnsDescriptions,
                program: args[0], cwd: process.cwd, rootfs: rootfsPath)
            compiled.hookOutput = hookOutput
            compiled.hookStates = hookStates
            compiled.hooks = spec.hooks
            compiled.rootfsMountDescription = rootfsMountDescription
            return compiled
        } catch {
            for fd in openedFDs { close(fd) }
            if hookOutput >= 0 { close(hookOutput) }
            arena.release()
            throw error
        }
    }

    /// Fields Caisson cannot honour on this host are refused, naming the field; labels of
    /// a security module the host does not run are ignored, as runc does.
    static func refuseUnsupported(spec: RuntimeSpec, process: RuntimeSpec.Process) throws(SandboxError) {
        if let profile = process.apparmorProfile, !profile.isEmpty, profile != "unconfined" {
            throw SandboxError(.unsupported, "process.apparmorProfile: AppArmor profiles are not supported (\"\(profile)\")")
        }
        let selinux = pathExists("/sys/fs/selinux/enforce")
        if selinux, process.selinuxLabel?.isEmpty == false || spec.linux?.mountLabel?.isEmpty == false {
            throw SandboxError(.unsupported, "process.selinuxLabel / linux.mountLabel: SELinux labelling is not supported")
        }
        if spec.linux?.intelRdt != nil {
            throw SandboxError(.unsupported, "linux.intelRdt: Intel RDT is not supported")
        }
        if spec.linux?.memoryPolicy != nil {
            throw SandboxError(.unsupported, "linux.memoryPolicy: NUMA memory policies are not supported")
        }
        if let devices = spec.linux?.netDevices, !devices.isEmpty {
            throw SandboxError(.unsupported, "linux.netDevices: moving network devices into the container is not supported yet")
        }
    }

    static func cloneFlag(_ type: RuntimeSpec.Linux.NamespaceType) -> UInt64? {
        switch type {
        case .pid: return UInt64(CSB_CLONE_NEWPID.rawValue)
        case .network: return UInt64(CSB_CLONE_NEWNET.rawValue)
        case .mount: return UInt64(CSB_CLONE_NEWNS.rawValue)
        case .ipc: return UInt64(CSB_CLONE_NEWIPC.rawValue)
        case .uts: return UInt64(CSB_CLONE_NEWUTS.rawValue)
        case .user: return UInt64(CSB_CLONE_NEWUSER.rawValue)
        case .cgroup: return UInt64(CSB_CLONE_NEWCGROUP.rawValue)
        case .time: return UInt64(CSB_CLONE_NEWTIME.rawValue)
        default: return nil
        }
    }

    /// The name of a namespace under /proc/<pid>/ns.
    static func procName(_ type: RuntimeSpec.Linux.NamespaceType) -> String {
        switch type {
        case .network: return "net"
        case .mount: return "mnt"
        default: return type.rawValue
        }
    }

    static func rlimitResource(_ name: String) -> Int32? {
        let names = ["RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
                     "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
                     "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"]
        return names.firstIndex(of: name).map { Int32($0) }
    }

    /// struct sched_attr (sched_setattr(2)).
    struct SchedAttr {
        var size: UInt32 = 48
        var policy: UInt32 = 0
        var flags: UInt64 = 0
        var nice: Int32 = 0
        var priority: UInt32 = 0
        var runtime: UInt64 = 0
        var deadline: UInt64 = 0
        var period: UInt64 = 0
    }

    static func schedAttr(_ scheduler: RuntimeSpec.Process.Scheduler) throws(SandboxError) -> SchedAttr {
        let policies: [String: UInt32] = ["SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                                          "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6]
        let flagValues: [String: UInt64] = ["SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
                                            "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
                                            "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
                                            "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40]
        guard let policy = policies[scheduler.policy] else {
            throw SandboxError(.invalidSpec, "process.scheduler.policy: unknown policy \"\(scheduler.policy)\"")
        }
        var attr = SchedAttr()
        attr.policy = policy
        for flag in scheduler.flags ?? [] {
            guard let value = flagValues[flag] else {
                throw SandboxError(.invalidSpec, "process.scheduler.flags: unknown flag \"\(flag)\"")
            }
            attr.flags |= value
        }
        attr.nice = scheduler.nice ?? 0
        attr.priority = UInt32(clamping: scheduler.priority ?? 0)
        attr.runtime = scheduler.runtime ?? 0
        attr.deadline = scheduler.deadline ?? 0
        attr.period = scheduler.period ?? 0
        return attr
    }

    /// Parses a CPU list ("0-3,7") into cpu_set_t words.
    static func cpuMask(_ list: String, field: String) throws(SandboxError) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: 16)  // 1024 CPUs, like glibc's cpu_set_t
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1).map { Int(String($0).trimmed) }
            guard let low = bounds.first ?? nil, let high = bounds.count == 2 ? bounds[1] : low,
                  low >= 0, high >= low, high < 1024
            else { throw SandboxError(.invalidSpec, "\(field): invalid CPU list \"\(list)\"") }
            for cpu in low...high { words[cpu / 64] |= 1 << UInt64(cpu % 64) }
        }
        return words
    }
}
