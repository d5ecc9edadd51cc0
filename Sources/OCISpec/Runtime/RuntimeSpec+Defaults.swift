// Ready-made configurations: runc's templates and a hardened default modelled on Docker.

extension RuntimeSpec {
    /// Docker's 14 default capabilities (moby `oci/caps.DefaultCapabilities`).
    public static let dockerDefaultCapabilities: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// Docker's masked paths (moby `oci/defaults.go`).
    public static let dockerMaskedPaths: [String] = [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
        "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]

    /// Docker's read-only paths (moby `oci/defaults.go`); includes `/proc/sys`.
    public static let dockerReadonlyPaths: [String] = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]

    /// The `PATH` every template sets.
    public static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The configuration `runc spec` (runc 1.1) writes: `sh` on a terminal, a read-only
    /// `rootfs`, three capabilities, new pid/network/ipc/uts/mount namespaces.
    /// - Returns: a value equal to the decoded output of `runc spec`.
    public static func runcDefault() -> RuntimeSpec {
        let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        return RuntimeSpec(
            ociVersion: "1.0.2-dev",
            process: Process(
                terminal: true,
                user: Process.User(uid: 0, gid: 0),
                args: ["sh"],
                env: [defaultPath, "TERM=xterm"],
                cwd: "/",
                capabilities: Process.Capabilities(bounding: caps, effective: caps, permitted: caps, ambient: caps),
                rlimits: [Process.Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)],
                noNewPrivileges: true
            ),
            root: Root(path: "rootfs", readonly: true),
            hostname: "runc",
            mounts: [
                Mount(destination: "/proc", type: "proc", source: "proc"),
                Mount(
                    destination: "/dev", type: "tmpfs", source: "tmpfs",
                    options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
                Mount(
                    destination: "/dev/pts", type: "devpts", source: "devpts",
                    options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
                Mount(
                    destination: "/dev/shm", type: "tmpfs", source: "shm",
                    options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
                Mount(
                    destination: "/dev/mqueue", type: "mqueue", source: "mqueue",
                    options: ["nosuid", "noexec", "nodev"]),
                Mount(
                    destination: "/sys", type: "sysfs", source: "sysfs",
                    options: ["nosuid", "noexec", "nodev", "ro"]),
                Mount(
                    destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
                    options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
            ],
            linux: Linux(
                namespaces: [.init(type: .pid), .init(type: .network), .init(type: .ipc), .init(type: .uts), .init(type: .mount)],
                resources: Linux.Resources(devices: [.init(allow: false, access: "rwm")]),
                maskedPaths: [
                    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                ],
                readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
            )
        )
    }

    /// The configuration `runc spec --rootless` writes for a user: ``runcDefault()``
    /// without a network namespace or cgroup resources, with a user namespace mapping
    /// container root to `uid`/`gid`, `/sys` bind-mounted and `/dev/pts` without `gid=5`.
    /// - Parameters:
    ///   - uid: the host user ID mapped to container root (runc uses the caller's euid).
    ///   - gid: the host group ID mapped to container root (runc uses the caller's egid).
    /// - Returns: a value equal to the decoded output of `runc spec --rootless`.
    public static func runcRootless(uid: UInt32, gid: UInt32) -> RuntimeSpec {
        var spec = runcDefault()
        guard var linux = spec.linux else { return spec }
        linux.namespaces = linux.namespaces?.filter { $0.type != .network }
        linux.resources = nil
        spec.linux = linux
        spec.mapRootInNewUserNamespace(uid: uid, gid: gid)
        spec.mounts = spec.mounts?.map { mount in
            guard mount.destination == "/sys" else { return mount }
            return Mount(destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"])
        }
        return spec
    }

    /// Gives the container a new user namespace whose only ids are its root, mapped to
    /// `uid` and `gid` — what an unprivileged user can map without newuidmap, as
    /// `runc spec --rootless` does — and drops `gid=5` from mount options (the tty group is
    /// not mapped, and the kernel refuses a devpts mount naming it).
    /// - Parameters:
    ///   - uid: the host user ID that is the container's root.
    ///   - gid: the host group ID that is the container's root group.
    public mutating func mapRootInNewUserNamespace(uid: UInt32, gid: UInt32) {
        var linux = self.linux ?? Linux()
        linux.namespaces = (linux.namespaces ?? []).filter { $0.type != .user } + [.init(type: .user)]
        linux.uidMappings = [.init(containerID: 0, hostID: uid, size: 1)]
        linux.gidMappings = [.init(containerID: 0, hostID: gid, size: 1)]
        self.linux = linux
        mounts = mounts?.map { mount in
            var mount = mount
            mount.options = mount.options?.filter { $0 != "gid=5" }
            return mount
        }
    }

    /// A hardened configuration for running `args` (SECURITY item 10).
    ///
    /// Docker's defaults: the 14 default capabilities in the bounding, effective and
    /// permitted sets (no inheritable or ambient), `noNewPrivileges`, Docker's masked and
    /// read-only paths (`/proc/sys` read-only), new pid, network, ipc, uts, mount and cgroup
    /// namespaces, Docker's default mounts and device rules, and Docker's default seccomp
    /// profile (``LinuxSeccomp/dockerDefault``). The root filesystem is `rootfs`, writable.
    /// - Parameter args: the program and its arguments.
    /// - Returns: the configuration.
    public static func secureDefault(args: [String]) -> RuntimeSpec {
        let caps = dockerDefaultCapabilities
        return RuntimeSpec(
            ociVersion: currentVersion,
            process: Process(
                user: Process.User(uid: 0, gid: 0),
                args: args,
                env: [defaultPath],
                cwd: "/",
                capabilities: Process.Capabilities(bounding: caps, effective: caps, permitted: caps),
                rlimits: [Process.Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)],
                noNewPrivileges: true
            ),
            root: Root(path: "rootfs"),
            mounts: dockerDefaultMounts,
            linux: Linux(
                namespaces: [
                    .init(type: .pid), .init(type: .network), .init(type: .ipc), .init(type: .uts),
                    .init(type: .mount), .init(type: .cgroup),
                ],
                resources: Linux.Resources(devices: dockerDefaultDeviceRules),
                seccomp: LinuxSeccomp.dockerDefault,
                maskedPaths: dockerMaskedPaths,
                readonlyPaths: dockerReadonlyPaths
            )
        )
    }

    /// Docker's default mounts (moby `oci/defaults.go`), `/dev/shm` sized 64 MiB.
    public static let dockerDefaultMounts: [Mount] = [
        Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
        Mount(
            destination: "/dev", type: "tmpfs", source: "tmpfs",
            options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        Mount(
            destination: "/dev/pts", type: "devpts", source: "devpts",
            options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
        Mount(
            destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
            options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
        Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
        Mount(
            destination: "/dev/shm", type: "tmpfs", source: "shm",
            options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
    ]

    /// Docker's default device cgroup rules (moby `oci/defaults.go`): deny everything, then
    /// allow zero (1:5), null (1:3), urandom (1:9), random (1:8), tty (5:0), console (5:1),
    /// and deny fuse (10:229).
    public static let dockerDefaultDeviceRules: [Linux.Resources.DeviceRule] = [
        .init(allow: false, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 5, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 9, access: "rwm"),
        .init(allow: true, type: "c", major: 1, minor: 8, access: "rwm"),
        .init(allow: true, type: "c", major: 5, minor: 0, access: "rwm"),
        .init(allow: true, type: "c", major: 5, minor: 1, access: "rwm"),
        .init(allow: false, type: "c", major: 10, minor: 229, access: "rwm"),
    ]
}
