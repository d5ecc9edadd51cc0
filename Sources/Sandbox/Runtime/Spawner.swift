import _CSandbox
import Glibc
import OCISpec
import SystemPackage

/// A container process between clone and execve, as the parent sees it.
final class SpawnedProcess: @unchecked Sendable {
    /// The process that becomes the container's process.
    var pid: pid_t
    /// Its pidfd (owned).
    var pidfd: Int32
    /// The parent's end of the sync socket; EOF means the child exec'd (or died).
    var sync: Int32
    /// The pty master when the process has a terminal.
    var ptyMaster: Int32?
    /// The seccomp notify listener, when the filter uses SCMP_ACT_NOTIFY.
    var seccompListener: Int32?
    /// The new network namespace, when the plan asked for it (`send_netns`).
    var networkNamespace: Int32?
    /// The process started inside its cgroup v2 directory (clone3 CLONE_INTO_CGROUP).
    var clonedIntoCgroup = false
    /// The cgroup directories the process is in without the parent's help: its v2 one
    /// (clone3 CLONE_INTO_CGROUP) and the v1 ones it writes itself into.
    var joinedCgroups: Set<String> = []
    /// The plan the child reads until execve.
    let plan: CompiledPlan

    init(pid: pid_t, pidfd: Int32, sync: Int32, plan: CompiledPlan) {
        self.pid = pid
        self.pidfd = pidfd
        self.sync = sync
        self.plan = plan
    }

    deinit {
        // The handle is gone: close what it owned. The plan memory stays mapped unless the
        // child is known to have exec'd or died (it may still be reading it).
        if sync >= 0 {
            Reactor.shared.forget(sync)
            close(sync)
        }
        if pidfd >= 0 { close(pidfd) }
        if let ptyMaster { close(ptyMaster) }
        if let seccompListener { close(seccompListener) }
        if let networkNamespace { close(networkNamespace) }
    }

    /// Waits until the child has exec'd (sync socket EOF) and frees its plan.
    /// - Throws: ``SandboxError`` with the step the child reported, if execve failed.
    func waitForExec(containerID: String) async throws {
        defer { releasePlan() }
        while true {
            try await Reactor.shared.waitReadable(sync)
            var message = csb_message()
            var fd: Int32 = -1
            let n = csb_recv_message(sync, &message, &fd)
            if fd >= 0 { close(fd) }
            if n == -EAGAIN { continue }
            if n <= 0 { return }  // EOF: execve closed the child's end
            if message.kind == Int32(CSB_MSG_ERROR.rawValue) {
                throw Spawner.describe(message, plan: plan, containerID: containerID)
            }
        }
    }

    /// Frees the plan memory and the sync socket. Only once the child cannot read it.
    func releasePlan() {
        if sync >= 0 {
            Reactor.shared.forget(sync)
            close(sync)
            sync = -1
            plan.closeHookOutput()
            plan.arena.release()
        }
    }
}

/// Starts a compiled plan as a new process and runs the parent's half of the handshake.
enum Spawner {
    /// What the parent does when the child says hello: it is cloned but has done nothing.
    struct ParentSetup: Sendable {
        /// The maps of a new user namespace, and how they get written.
        var idMaps: IDMaps?
        var cgroups: Cgroups?
        var oomScoreAdj: Int?
        /// For hooks: the spec and bundle (create only).
        var spec: RuntimeSpec?
        var bundle: String = ""

        /// Whether the child must wait at HELLO for this setup: not when all it would do is
        /// join cgroups that the child enters itself (its v1 `tasks` files, `childJoins`)
        /// or is cloned into (the v2 one).
        func go(childJoins: Set<String>, canCloneIntoCgroup: Bool) -> csb_go {
            let directories = cgroups?.directories ?? []
            let parentJoinsV1 = directories.contains { !$0.controllers.isEmpty && !childJoins.contains($0.path) }
            if idMaps != nil || oomScoreAdj != nil || parentJoinsV1 { return CSB_GO_ALWAYS }
            guard directories.contains(where: { $0.controllers.isEmpty }) else { return CSB_GO_NEVER }
            return canCloneIntoCgroup ? CSB_GO_UNLESS_IN_CGROUP : CSB_GO_ALWAYS
        }
    }

    /// Clones the child and drives it to "created" (waiting for start) or, without a
    /// start fifo, to just before execve.
    static func spawn(containerID: String, builder: PlanBuilder, stdio: [Int32], extraFiles: [Int32],
                      fifo: Int32?, setup: ParentSetup) async throws -> SpawnedProcess {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw SandboxError(.system, "container \"\(containerID)\": socketpair", errno: Errno(rawValue: Glibc.errno))
        }
        let (parentEnd, childEnd) = (pair[0], pair[1])
        // The child moves itself into its v1 cgroups (cheap), not the parent (an RCU grace period).
        let tasksFiles = setup.cgroups?.openTasksFiles() ?? []
        defer { for file in tasksFiles { close(file.fd) } }
        let plan: CompiledPlan
        do {
            plan = try builder.compile(channels: .init(stdio: stdio, extraFiles: extraFiles, sync: childEnd, fifo: fifo,
                                                       cgroupTasks: tasksFiles.map(\.fd)))
        } catch {
            close(parentEnd)
            close(childEnd)
            throw error
        }
        plan.cgroupDescriptions = tasksFiles.map(\.directory)

        var pidfd: Int32 = -1
        var intoCgroup: Int32 = 0
        // On cgroup v2 the child starts inside its cgroup (no window outside its limits).
        let cgroupFD = setup.cgroups?.openUnifiedDirectory() ?? -1
        plan.plan.pointee.go = setup.go(childJoins: Set(plan.cgroupDescriptions), canCloneIntoCgroup: cgroupFD >= 0).rawValue
        var oldMask = [UInt8](repeating: 0, count: 128)
        // No signal handler of the host may run on the child's stack before it resets them.
        oldMask.withUnsafeMutableBytes { csb_block_all_signals($0.baseAddress!) }
        let pid = csb_spawn_into_cgroup(plan.plan, plan.stack, plan.stackSize, cgroupFD, &pidfd, &intoCgroup)
        oldMask.withUnsafeBytes { csb_restore_signals($0.baseAddress!) }
        if cgroupFD >= 0 { close(cgroupFD) }
        close(childEnd)
        plan.closeParentFDs()
        guard pid > 0 else {
            close(parentEnd)
            plan.closeHookOutput()
            plan.arena.release()
            throw SandboxError(.system, "container \"\(containerID)\": clone", errno: Errno(rawValue: -pid))
        }
        _ = fcntl(parentEnd, F_SETFL, O_NONBLOCK)
        let process = SpawnedProcess(pid: pid, pidfd: pidfd, sync: parentEnd, plan: plan)
        process.clonedIntoCgroup = intoCgroup != 0
        process.joinedCgroups = Set(plan.cgroupDescriptions)
        if process.clonedIntoCgroup, let unified = setup.cgroups?.unifiedDirectory { process.joinedCgroups.insert(unified) }
        do {
            try await handshake(process, containerID: containerID, setup: setup)
        } catch {
            // The child is stopped at a step or dead: make sure it is gone, then reap it.
            _ = csb_pidfd_send_signal(process.pidfd, SIGKILL)
            var code: Int32 = 0, signal: Int32 = 0
            _ = csb_pidfd_reap(process.pidfd, 0, &code, &signal)
            process.releasePlan()  // the child is dead: its plan can go
            throw error
        }
        return process
    }

    private static func handshake(_ process: SpawnedProcess, containerID: String, setup: ParentSetup) async throws {
        var intermediate: Int32? = nil
        // When the first child forks into a joined pid namespace, its PID message and the
        // grandchild's CREATED come from two processes and may arrive in either order.
        var awaitingPID = process.plan.plan.pointee.fork_after_setns != 0
        var created = false
        var hooksPending = false
        defer {
            if let intermediate {
                var code: Int32 = 0, signal: Int32 = 0
                _ = csb_pidfd_reap(intermediate, 0, &code, &signal)
                close(intermediate)
            }
        }
        while true {
            try await Reactor.shared.waitReadable(process.sync)
            var message = csb_message()
            var fd: Int32 = -1
            let n = csb_recv_message(process.sync, &message, &fd)
            if n == -EAGAIN { continue }
            if n < 0 {
                throw SandboxError(.system, "container \"\(containerID)\": reading from its setup process", errno: Errno(rawValue: -n))
            }
            if n == 0 {
                // Died without a word: it could not even reach its sync socket.
                var code: Int32 = 0, signal: Int32 = 0
                let reaped = csb_pidfd_reap(process.pidfd, 0, &code, &signal)
                let how = reaped == 1 ? (signal != 0 ? "was killed by signal \(signal)" : "exited with \(code)") : "vanished"
                throw SandboxError(.setupFailed, "container \"\(containerID)\": the setup process \(how) before reporting")
            }
            switch message.kind {
            case Int32(CSB_MSG_HOOKS.rawValue):
                // The state the hooks see names the container's final pid: wait for it.
                hooksPending = true
                if !awaitingPID {
                    hooksPending = false
                    try await runCreateHooks(process, containerID: containerID, setup: setup)
                }
            case Int32(CSB_MSG_HELLO.rawValue):
                try await parentSetup(pid: process.pid, containerID: containerID, setup: setup, joinedCgroups: process.joinedCgroups)
                var go = csb_message(kind: Int32(CSB_MSG_GO.rawValue), step: 0, err: 0, index: -1)
                do { try negErrno(csb_send_message(process.sync, &go, -1)) } catch {
                    throw SandboxError(.system, "container \"\(containerID)\": sending go to its setup process", errno: error)
                }
            case Int32(CSB_MSG_PID.rawValue):
                // The first child joined a pid namespace and forked the real process.
                intermediate = process.pidfd
                process.pid = message.index
                process.pidfd = fd
                awaitingPID = false
                if hooksPending {
                    hooksPending = false
                    try await runCreateHooks(process, containerID: containerID, setup: setup)
                }
                if created { return }
            case Int32(CSB_MSG_PTY.rawValue):
                process.ptyMaster = fd
            case Int32(CSB_MSG_SECCOMP.rawValue):
                process.seccompListener = fd
            case Int32(CSB_MSG_NETNS.rawValue):
                process.networkNamespace = fd
            case Int32(CSB_MSG_CREATED.rawValue):
                created = true
                if !awaitingPID { return }
            case Int32(CSB_MSG_ERROR.rawValue):
                if fd >= 0 { close(fd) }
                throw describe(message, plan: process.plan, containerID: containerID)
            default:
                if fd >= 0 { close(fd) }
                throw SandboxError(.system, "container \"\(containerID)\": unexpected message \(message.kind) from its setup process")
            }
        }
    }

    /// prestart and createRuntime hooks, while the child waits after its mounts; then GO.
    private static func runCreateHooks(_ process: SpawnedProcess, containerID: String, setup: ParentSetup) async throws {
        if let spec = setup.spec {
            process.plan.writeHookStates(spec: spec, id: containerID, pid: process.pid, bundle: setup.bundle)
            for kind in [Hooks.Kind.prestart, .createRuntime] {
                try await Hooks.run(kind, spec: spec, id: containerID, status: .creating, pid: process.pid, bundle: setup.bundle)
            }
        }
        var go = csb_message(kind: Int32(CSB_MSG_GO.rawValue), step: 0, err: 0, index: -1)
        do { try negErrno(csb_send_message(process.sync, &go, -1)) } catch {
            throw SandboxError(.system, "container \"\(containerID)\": sending go after the hooks", errno: error)
        }
    }

    private static func parentSetup(pid: pid_t, containerID: String, setup: ParentSetup, joinedCgroups: Set<String>) async throws(SandboxError) {
        func write(_ file: String, _ text: String) throws(SandboxError) {
            do { try writeFile("/proc/\(pid)/\(file)", text) } catch {
                throw SandboxError(.system, "container \"\(containerID)\": writing /proc/\(pid)/\(file)", errno: error)
            }
        }
        try await setup.idMaps?.write(pid: pid, containerID: containerID)
        try setup.cgroups?.join(pid: pid, skipping: joinedCgroups)
        if let score = setup.oomScoreAdj { try write("oom_score_adj", "\(score)") }
    }

    /// Turns the child's (step, errno, index) into a sentence naming what failed.
    static func describe(_ message: csb_message, plan: CompiledPlan, containerID: String) -> SandboxError {
        let index = Int(message.index)
        func item(_ list: [String]) -> String { list.indices.contains(index) ? list[index] : "item \(index)" }
        let what: String
        switch csb_step(rawValue: UInt32(message.step)) {
        case CSB_STEP_CREATE_CONTAINER_HOOK, CSB_STEP_START_CONTAINER_HOOK:
            let kind: Hooks.Kind = message.step == Int32(CSB_STEP_CREATE_CONTAINER_HOOK.rawValue) ? .createContainer : .startContainer
            let text = Hooks.describeChildFailure(kind: kind, hooks: plan.hooks, index: index, err: message.err, output: plan.hookOutput)
            return SandboxError(.hookFailed, "container \"\(containerID)\": \(text)")
        case CSB_STEP_MOUNT_TARGET: what = "creating the target of \(item(plan.mountDescriptions + plan.deviceDescriptions))"
        case CSB_STEP_MOUNT: what = item(plan.mountDescriptions + plan.deviceDescriptions)
        case CSB_STEP_MASK: what = item(plan.mountDescriptions)
        case CSB_STEP_DEVICE: what = "creating \(item(plan.deviceDescriptions))"
        case CSB_STEP_SYMLINK: what = "creating \(item(plan.symlinkDescriptions))"
        case CSB_STEP_SYSCTL: what = "writing \(item(plan.sysctlDescriptions))"
        case CSB_STEP_RLIMIT: what = "setting \(item(plan.rlimitDescriptions))"
        case CSB_STEP_SETNS: what = "joining \(item(plan.setnsDescriptions))"
        case CSB_STEP_UNSHARE: what = "creating the cgroup/time namespace"
        case CSB_STEP_TIMENS: what = "writing linux.timeOffsets"
        case CSB_STEP_HOSTNAME: what = "setting the hostname"
        case CSB_STEP_CGROUP_JOIN: what = "moving into the cgroup \(item(plan.cgroupDescriptions)) (writing its tasks file)"
        case CSB_STEP_LOOPBACK: what = "bringing up the loopback interface (step \(index))"
        case CSB_STEP_NETNS_SEND: what = "opening its network namespace for the runtime (/proc/thread-self/ns/net)"
        case CSB_STEP_DOMAINNAME: what = "setting the domainname"
        case CSB_STEP_ROOT_PROPAGATION: what = "making / a slave mount"
        case CSB_STEP_ROOTFS_BIND: what = "binding the rootfs \(plan.rootfs) onto itself"
        case CSB_STEP_ROOTFS_OPEN: what = "opening the rootfs"
        case CSB_STEP_ROOTFS_MOUNT: what = "mounting \(plan.rootfsMountDescription) on the rootfs \(plan.rootfs)"
        case CSB_STEP_CONSOLE: what = "setting up /dev/console (step \(index))"
        case CSB_STEP_CWD_CREATE: what = "creating process.cwd \(plan.cwd)"
        case CSB_STEP_PIVOT: what = plan.plan.pointee.no_pivot != 0 ? "chroot into the rootfs (step \(index))" : "pivot_root into the rootfs (step \(index))"
        case CSB_STEP_READONLY_ROOT: what = "making the root read-only"
        case CSB_STEP_ROOTFS_PROPAGATION: what = "setting linux.rootfsPropagation"
        case CSB_STEP_PERSONALITY: what = "setting linux.personality"
        case CSB_STEP_IOPRIO: what = "setting process.ioPriority"
        case CSB_STEP_SCHED: what = "setting process.scheduler"
        case CSB_STEP_AFFINITY: what = "setting process.execCPUAffinity"
        case CSB_STEP_CAP_BOUNDING: what = "dropping capability \(index) from the bounding set"
        case CSB_STEP_GROUPS: what = "setting process.user.additionalGids"
        case CSB_STEP_SETGID: what = "setting gid \(plan.plan.pointee.gid)"
        case CSB_STEP_SETUID: what = "setting uid \(plan.plan.pointee.uid)"
        case CSB_STEP_CAPS: what = "setting process.capabilities"
        case CSB_STEP_AMBIENT: what = "raising ambient capability \(index)"
        case CSB_STEP_NO_NEW_PRIVS: what = "setting no_new_privs"
        case CSB_STEP_SECCOMP: what = "loading the seccomp filter"
        case CSB_STEP_CWD: what = "entering process.cwd \(plan.cwd)"
        case CSB_STEP_LOOKUP: what = "finding the executable \"\(plan.program)\" in the container"
        case CSB_STEP_WAIT_START: what = "waiting for start"
        case CSB_STEP_EXEC: what = "executing \"\(plan.program)\""
        case CSB_STEP_SETSID: what = "creating a session for the terminal"
        case CSB_STEP_FORK: what = "forking into the joined pid namespace"
        case CSB_STEP_DUMPABLE: what = "making the setup process non-dumpable"
        case CSB_STEP_SIGNALS: what = "resetting signal handlers"
        default: what = "step \(message.step)"
        }
        return SandboxError(.setupFailed, "container \"\(containerID)\": \(what) failed", errno: Errno(rawValue: message.err))
    }
}
