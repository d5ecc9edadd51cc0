// Docker's default seccomp profile, as data.
//
// Converted from moby/moby profiles/seccomp/default.json (Apache-2.0): same rule order,
// names, arguments and conditions. `DockerSeccompRule` keeps the profile's
// `includes`/`excludes` conditions so the profile can be resolved for any capability set
// and architecture, exactly as moby's `profiles/seccomp.setupSeccomp` does.

// Spec: config-linux.md#seccomp
extension LinuxSeccomp {
    /// Docker's default profile resolved for the native architecture and Docker's 14
    /// default capabilities (``RuntimeSpec/dockerDefaultCapabilities``).
    ///
    /// Deny by default with `EPERM`; every syscall of Docker's allow list; `socket`
    /// refusing `AF_VSOCK`; `personality` limited to the safe domains; `clone` without
    /// namespace flags; `clone3` failing with `ENOSYS` so that libc falls back to `clone`.
    public static let dockerDefault: LinuxSeccomp = dockerDefault(
        architecture: .native, capabilities: RuntimeSpec.dockerDefaultCapabilities)

    /// Docker's default profile resolved for an architecture and a capability set.
    ///
    /// Rules that depend on a capability (e.g. `mount` with `CAP_SYS_ADMIN`) are kept only
    /// when the capability is in `capabilities` (the bounding set); rules that depend on an
    /// architecture are kept only for that architecture. Rules gated on a minimum kernel
    /// version (4.8) are always kept: Caisson needs a newer kernel anyway.
    /// - Parameters:
    ///   - architecture: the native architecture of the container.
    ///   - capabilities: the bounding capability set, names with the `CAP_` prefix.
    /// - Returns: the filter, with `architectures` set from Docker's arch map.
    public static func dockerDefault(
        architecture: SeccompArchitecture,
        capabilities: some Sequence<String>
    ) -> LinuxSeccomp {
        let caps = Set(capabilities)
        let goArch = DockerSeccompProfile.goArch[architecture]
        var syscalls: [Syscall] = []
        for rule in DockerSeccompProfile.rules {
            if !rule.includesArches.isEmpty {
                guard let goArch, rule.includesArches.contains(goArch) else { continue }
            }
            if !rule.includesCaps.isEmpty, !rule.includesCaps.allSatisfy(caps.contains) { continue }
            if let goArch, rule.excludesArches.contains(goArch) { continue }
            if rule.excludesCaps.contains(where: caps.contains) { continue }
            syscalls.append(rule.syscall)
        }
        let subArchitectures = DockerSeccompProfile.archMap[architecture] ?? []
        return LinuxSeccomp(
            defaultAction: .errno,
            defaultErrnoRet: DockerSeccompProfile.eperm,
            architectures: [architecture] + subArchitectures,
            syscalls: syscalls
        )
    }
}

/// One rule of moby's profile with its conditions.
struct DockerSeccompRule: Sendable {
    var syscall: LinuxSeccomp.Syscall
    var includesCaps: [String] = []
    var includesArches: [String] = []
    var excludesCaps: [String] = []
    var excludesArches: [String] = []

    init(
        _ names: [String], _ action: SeccompAction = .allow, errnoRet: UInt? = nil,
        args: [LinuxSeccomp.Argument]? = nil,
        includesCaps: [String] = [], includesArches: [String] = [],
        excludesCaps: [String] = [], excludesArches: [String] = []
    ) {
        self.syscall = LinuxSeccomp.Syscall(names: names, action: action, errnoRet: errnoRet, args: args)
        self.includesCaps = includesCaps
        self.includesArches = includesArches
        self.excludesCaps = excludesCaps
        self.excludesArches = excludesArches
    }
}

/// moby/moby profiles/seccomp/default.json.
enum DockerSeccompProfile {
    static let eperm: UInt = 1
    static let enosys: UInt = 38
    /// Namespace flags of clone(2): CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
    /// CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET.
    static let cloneNamespaceFlags: UInt64 = 2_114_060_288

    /// `archMap`: the sub-architectures allowed next to a native one.
    static let archMap: [SeccompArchitecture: [SeccompArchitecture]] = [
        .x86_64: [.x86, .x32],
        .aarch64: [.arm],
        .mips64: [.mips, .mips64n32],
        .mips64n32: [.mips, .mips64],
        .mipsel64: [.mipsel, .mipsel64n32],
        .mipsel64n32: [.mipsel, .mipsel64],
        .s390x: [.s390],
        .riscv64: [],
    ]

    /// Go's `runtime.GOARCH` for a native architecture: the names `includes.arches` use.
    static let goArch: [SeccompArchitecture: String] = [
        .x86_64: "amd64", .x86: "386", .x32: "x32", .aarch64: "arm64", .arm: "arm",
        .mips64: "mips64", .mipsel64: "mips64le", .mips: "mips", .mipsel: "mipsle",
        .ppc64: "ppc64", .ppc64le: "ppc64le", .s390x: "s390x", .s390: "s390",
        .riscv64: "riscv64",
    ]

    static let allowed: [String] = [
            "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
            "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
            "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
            "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
            "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
            "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
            "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
            "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
            "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64",
            "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
            "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
            "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd",
            "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid",
            "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
            "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
            "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
            "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
            "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
            "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
            "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
            "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
            "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
            "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr",
            "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
            "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
            "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr",
            "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
            "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd",
            "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
            "newfstatat", "_newselect", "open", "openat", "openat2", "pause", "pidfd_open",
            "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect",
            "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
            "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2",
            "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg",
            "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
            "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
            "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
            "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
            "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
            "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
            "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
            "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
            "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
            "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
            "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32",
            "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
            "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
            "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt",
            "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
            "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
            "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
            "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
            "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
            "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
            "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
            "uname", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
            "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev"
    ]

    static let rules: [DockerSeccompRule] = [
        DockerSeccompRule(allowed),
        // includes.minKernel 4.8
        DockerSeccompRule(["process_vm_readv", "process_vm_writev", "ptrace"]),
        DockerSeccompRule(["socket"], args: [.init(index: 0, value: 40, op: .notEqual)]),
        DockerSeccompRule(["personality"], args: [.init(index: 0, value: 0, op: .equal)]),
        DockerSeccompRule(["personality"], args: [.init(index: 0, value: 8, op: .equal)]),
        DockerSeccompRule(["personality"], args: [.init(index: 0, value: 131_072, op: .equal)]),
        DockerSeccompRule(["personality"], args: [.init(index: 0, value: 131_080, op: .equal)]),
        DockerSeccompRule(["personality"], args: [.init(index: 0, value: 4_294_967_295, op: .equal)]),
        DockerSeccompRule(["sync_file_range2", "swapcontext"], includesArches: ["ppc64le"]),
        DockerSeccompRule(
            ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
            includesArches: ["arm", "arm64"]),
        DockerSeccompRule(["arch_prctl"], includesArches: ["amd64", "x32"]),
        DockerSeccompRule(["modify_ldt"], includesArches: ["amd64", "x32", "x86"]),
        DockerSeccompRule(
            ["s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"], includesArches: ["s390", "s390x"]),
        DockerSeccompRule(["riscv_flush_icache"], includesArches: ["riscv64"]),
        DockerSeccompRule(["open_by_handle_at"], includesCaps: ["CAP_DAC_READ_SEARCH"]),
        DockerSeccompRule(
            [
                "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
                "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
                "umount2", "unshare",
            ],
            includesCaps: ["CAP_SYS_ADMIN"]),
        DockerSeccompRule(
            ["clone"], args: [.init(index: 0, value: cloneNamespaceFlags, op: .maskedEqual)],
            excludesCaps: ["CAP_SYS_ADMIN"], excludesArches: ["s390", "s390x"]),
        // s390 parameter ordering for clone is different
        DockerSeccompRule(
            ["clone"], args: [.init(index: 1, value: cloneNamespaceFlags, op: .maskedEqual)],
            includesArches: ["s390", "s390x"], excludesCaps: ["CAP_SYS_ADMIN"]),
        DockerSeccompRule(["clone3"], .errno, errnoRet: enosys, excludesCaps: ["CAP_SYS_ADMIN"]),
        DockerSeccompRule(["reboot"], includesCaps: ["CAP_SYS_BOOT"]),
        DockerSeccompRule(["chroot"], includesCaps: ["CAP_SYS_CHROOT"]),
        DockerSeccompRule(["delete_module", "init_module", "finit_module"], includesCaps: ["CAP_SYS_MODULE"]),
        DockerSeccompRule(["acct"], includesCaps: ["CAP_SYS_PACCT"]),
        DockerSeccompRule(
            ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"],
            includesCaps: ["CAP_SYS_PTRACE"]),
        DockerSeccompRule(["iopl", "ioperm"], includesCaps: ["CAP_SYS_RAWIO"]),
        DockerSeccompRule(
            ["settimeofday", "stime", "clock_settime", "clock_settime64"], includesCaps: ["CAP_SYS_TIME"]),
        DockerSeccompRule(["vhangup"], includesCaps: ["CAP_SYS_TTY_CONFIG"]),
        DockerSeccompRule(
            ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"], includesCaps: ["CAP_SYS_NICE"]),
        DockerSeccompRule(["syslog"], includesCaps: ["CAP_SYSLOG"]),
        DockerSeccompRule(["bpf"], includesCaps: ["CAP_BPF"]),
        DockerSeccompRule(["perf_event_open"], includesCaps: ["CAP_PERFMON"]),
    ]
}
