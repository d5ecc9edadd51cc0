import Foundation
import Synchronization
import OCISpec
import Sandbox
import TestSupport
import Testing

@Suite("Isolation", .serialized, .timeLimit(.minutes(2)))
struct IsolationTests {
    @Test("new pid, uts, ipc, net and mount namespaces")
    func namespaces() async throws {
        try await withSandbox { env in
            let r = try await env.sh("echo $$; hostname; cat /proc/net/dev | wc -l; for n in pid net uts ipc mnt; do readlink /proc/self/ns/$n; done; cat /sys/class/net/lo/flags") { spec in
                spec.hostname = "box"
                spec.domainname = "example.test"
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines[0] == "1")
            #expect(lines[1] == "box")
            #expect(lines[2] == "3", "only lo in a new network namespace")
            let host = try ["pid", "net", "uts", "ipc", "mnt"].map { try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\($0)") }
            for (inside, outside) in zip(lines[3...7], host) { #expect(inside != outside) }
            #expect(lines[8] == "0x9", "lo is up (IFF_UP | IFF_LOOPBACK), as runc leaves it")
        }
    }

    @Test("domainname is set")
    func domainname() async throws {
        try await withSandbox { env in
            let r = try await env.sh("cat /proc/sys/kernel/domainname") { $0.domainname = "example.test" }
            #expect(r.stdout == "example.test\n")
        }
    }

    @Test("joining another container's network namespace by path")
    func joinNamespace() async throws {
        try await withSandbox { env in
            let sleeper = try env.bundle("sleeper", ["/bin/sleep", "100"])
            let a = try await env.runtime.create(id: "sleeper", bundle: sleeper.path)
            try await a.start()
            let r = try await env.sh("readlink /proc/self/ns/net") { spec in
                let namespaces = spec.linux?.namespaces ?? []
                spec.linux?.namespaces = namespaces.map { ns in
                    ns.type == .network ? .init(type: .network, path: "/proc/\(a.pid)/ns/net") : ns
                }
            }
            let theirs = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(a.pid)/ns/net")
            #expect(r.stdout == theirs + "\n")
            try await a.delete(force: true)
        }
    }

    @Test("the network namespace handler gets the new namespace during create; a throwing one fails the create cleanly")
    func networkNamespaceHandler() async throws {
        try await withSandbox { env in
            struct Refused: Error {}
            let bundle = try env.bundle("nethandler", ["/bin/sleep", "100"])
            let seen = Mutex<(pid: Int32, inode: UInt64)?>(nil)
            let options = Runtime.CreateOptions(networkNamespaceHandler: { pid, namespace in
                var st = stat()
                #expect(fstat(namespace, &st) == 0)
                seen.withLock { $0 = (pid, UInt64(st.st_ino)) }
            })
            let container = try await env.runtime.create(id: "nethandler", bundle: bundle.path, options: options)
            // Called before create returned, with the created process and its own namespace.
            var own = stat()
            #expect(stat("/proc/\(container.pid)/ns/net", &own) == 0)
            let got = seen.withLock { $0 }
            #expect(got?.pid == container.pid && got?.inode == UInt64(own.st_ino), "handler saw \(String(describing: got))")
            var host = stat()
            #expect(stat("/proc/self/ns/net", &host) == 0 && UInt64(host.st_ino) != got?.inode)
            try await container.delete(force: true)

            // A throwing handler fails the create and leaves nothing behind.
            let failing = Runtime.CreateOptions(networkNamespaceHandler: { _, _ in throw Refused() })
            await #expect(throws: Refused.self) {
                _ = try await env.runtime.create(id: "nethandler2", bundle: bundle.path, options: failing)
            }
            #expect(!FileManager.default.fileExists(atPath: env.paths.stateRoot + "/nethandler2"))
            #expect(LeakCheck.cgroups(named: "nethandler2").isEmpty)

            // Without a new network namespace there is none to hand over: refused by field.
            let hostNet = try env.bundle("nethandler3", ["/bin/true"]) { spec in
                let namespaces = spec.linux?.namespaces ?? []
                spec.linux?.namespaces = namespaces.filter { $0.type != .network }
            }
            await #expect {
                _ = try await env.runtime.create(id: "nethandler3", bundle: hostNet.path, options: options)
            } throws: { ($0 as? SandboxError)?.code == .invalidSpec && "\($0)".contains("linux.namespaces") }
            #expect(!FileManager.default.fileExists(atPath: env.paths.stateRoot + "/nethandler3"))
        }
    }

    @Test("user namespace with uid and gid mappings")
    func userNamespace() async throws {
        try await withSandbox { env in
            // As with runc, the mapped root must be able to reach and own its rootfs.
            chmod(env.directory, 0o755)
            let bundle = try env.bundle("sh", ["/bin/true"])
            try chownTree(bundle.rootfs, uid: 100000, gid: 100000)
            let r = try await env.sh("cat /proc/self/uid_map /proc/self/gid_map; id -u") { spec in
                spec.linux?.namespaces?.append(.init(type: .user))
                spec.linux?.uidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
                spec.linux?.gidMappings = [.init(containerID: 0, hostID: 100000, size: 65536)]
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            let fields = r.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            #expect(fields == ["0", "100000", "65536", "0", "100000", "65536", "0"])
        }
    }

    @Test("cgroup namespace roots /proc/self/cgroup at the container's cgroup")
    func cgroupNamespace() async throws {
        try await withSandbox { env in
            let r = try await env.sh("cat /proc/self/cgroup") { spec in
                spec.linux?.namespaces?.append(.init(type: .cgroup))
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            for line in r.stdout.split(separator: "\n") { #expect(line.hasSuffix(":/"), "\(line)") }
        }
    }

    @Test("time namespace offsets")
    func timeNamespace() async throws {
        try await withSandbox { env in
            let r = try await env.sh("cut -d. -f1 /proc/uptime") { spec in
                spec.linux?.namespaces?.append(.init(type: .time))
                spec.linux?.timeOffsets = ["boottime": .init(secs: 86400 * 365, nanosecs: 0)]
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect((Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 86400 * 365)
        }
    }

    @Test("mounts: tmpfs size and mode, read-only bind, read-only root")
    func mounts() async throws {
        try await withSandbox { env in
            let shared = env.directory + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            try "from host\n".write(toFile: shared + "/note", atomically: true, encoding: .utf8)
            let r = try await env.sh("""
                grep ' /scratch ' /proc/self/mountinfo | grep -o 'size=[0-9]*k'; stat -c %a /scratch
                cat /data/note; touch /data/x 2>/dev/null && echo wrote-data || echo ro-data
                touch /x 2>/dev/null && echo wrote-root || echo ro-root
                """) { spec in
                spec.root?.readonly = true
                spec.mounts?.append(.init(destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["size=1m", "mode=1777"]))
                spec.mounts?.append(.init(destination: "/data", type: "bind", source: shared, options: ["bind", "ro"]))
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect(r.stdout == "size=1024k\n1777\nfrom host\nro-data\nro-root\n")
        }
    }

    @Test("default and spec devices, /dev links, /dev/shm, /dev/pts")
    func devices() async throws {
        try await withSandbox { env in
            let r = try await env.sh("""
                for d in null zero full random urandom tty mydev; do stat -c '%n %t:%T %a' /dev/$d; done
                for l in fd stdin ptmx; do readlink /dev/$l; done; grep -c -E ' /dev/(shm|pts|mqueue) ' /proc/self/mountinfo
                """) { spec in
                spec.linux?.devices = [.init(type: "c", path: "/dev/mydev", major: 1, minor: 7, fileMode: 0o600, uid: 0, gid: 0)]
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect(r.stdout == """
                /dev/null 1:3 666
                /dev/zero 1:5 666
                /dev/full 1:7 666
                /dev/random 1:8 666
                /dev/urandom 1:9 666
                /dev/tty 5:0 666
                /dev/mydev 1:7 600
                /proc/self/fd
                /proc/self/fd/0
                pts/ptmx
                3

                """)
        }
    }

    @Test("sysctls are written in the container's namespaces")
    func sysctl() async throws {
        try await withSandbox { env in
            let r = try await env.sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax") { spec in
                spec.linux?.sysctl = ["net.ipv4.ip_forward": "1", "kernel.msgmax": "4242"]
            }
            #expect(r.stdout == "1\n4242\n", "\(r.stderr)")
            #expect(try String(contentsOfFile: "/proc/sys/kernel/msgmax", encoding: .utf8) != "4242\n")
        }
    }

    @Test("masked and read-only paths")
    func maskedAndReadonly() async throws {
        try await withSandbox { env in
            let r = try await env.sh("""
                stat -c '%t:%T' /proc/keys; wc -c < /proc/keys; ls /proc/acpi | wc -l
                echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo wrote || echo ro
                """)
            #expect(r.stdout == "1:3\n0\n0\nro\n", "\(r.stderr)")
        }
    }

    @Test("process: cwd, env, user, groups, umask, rlimits")
    func process() async throws {
        try await withSandbox { env in
            let r = try await env.sh("pwd; echo $GREETING; id -u; id -g; id -G; umask; ulimit -n") { spec in
                spec.process?.cwd = "/home/work"
                spec.process?.env?.append("GREETING=hi")
                spec.process?.user = .init(uid: 1000, gid: 1001, umask: 0o027, additionalGids: [1001, 2000, 3000])
                spec.process?.rlimits = [.init(type: "RLIMIT_NOFILE", hard: 512, soft: 256)]
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect(r.stdout == "/home/work\nhi\n1000\n1001\n1001 2000 3000\n0027\n256\n")
        }
    }

    @Test("capabilities, no_new_privs and oom_score_adj")
    func capabilities() async throws {
        try await withSandbox { env in
            let r = try await env.sh("cat /proc/self/status; cat /proc/self/oom_score_adj") { spec in
                spec.process?.capabilities = .init(
                    bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                    effective: ["CAP_CHOWN", "CAP_KILL"], inheritable: ["CAP_KILL"],
                    permitted: ["CAP_CHOWN", "CAP_KILL"], ambient: ["CAP_KILL"])
                spec.process?.noNewPrivileges = true
                spec.process?.oomScoreAdj = 123
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            // CHOWN = bit 0, KILL = bit 5, NET_BIND_SERVICE = bit 10.
            #expect(statusField(r.stdout, "CapBnd") == "0000000000000421")
            #expect(statusField(r.stdout, "CapEff") == "0000000000000021")
            #expect(statusField(r.stdout, "CapPrm") == "0000000000000021")
            #expect(statusField(r.stdout, "CapInh") == "0000000000000020")
            #expect(statusField(r.stdout, "CapAmb") == "0000000000000020")
            #expect(statusField(r.stdout, "NoNewPrivs") == "1")
            #expect(r.stdout.hasSuffix("123\n"))
        }
    }

    @Test("seccomp from the spec: errno action with argument conditions")
    func seccomp() async throws {
        try await withSandbox { env in
            let r = try await env.sh("mkdir /tmp/a 2>&1; echo mkdir=$?; grep Seccomp: /proc/self/status") { spec in
                spec.linux?.seccomp = LinuxSeccomp(
                    defaultAction: .allow, architectures: [.x86_64, .x86, .aarch64],
                    syscalls: [.init(names: ["mkdir", "mkdirat"], action: .errno, errnoRet: 13)])
            }
            #expect(r.stdout.contains("Permission denied"), "\(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("mkdir=1"))
            #expect(statusField(r.stdout, "Seccomp") == "2")
        }
    }

    @Test("Docker's default seccomp profile and capabilities run busybox")
    func secureDefault() async throws {
        try await withSandbox { env in
            let r = try await env.sh("grep -E 'Seccomp|NoNewPrivs|CapEff' /proc/self/status; echo ok") { spec in
                let secure = RuntimeSpec.secureDefault(args: spec.process?.args ?? [])
                spec.process = secure.process
                spec.linux?.seccomp = secure.linux?.seccomp
                spec.linux?.maskedPaths = secure.linux?.maskedPaths
                spec.linux?.readonlyPaths = secure.linux?.readonlyPaths
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect(statusField(r.stdout, "Seccomp") == "2")
            #expect(statusField(r.stdout, "NoNewPrivs") == "1")
            #expect(statusField(r.stdout, "CapEff") == "00000000a80425fb")
        }
    }

    @Test("a seccomp profile without no_new_privileges (podman's default) loads before the capabilities drop")
    func seccompWithoutNoNewPrivileges() async throws {
        try await withSandbox { env in
            let r = try await env.sh("grep -E 'Seccomp|NoNewPrivs|CapEff' /proc/self/status; id -u") { spec in
                let secure = RuntimeSpec.secureDefault(args: spec.process?.args ?? [])
                spec.process = secure.process
                spec.process?.noNewPrivileges = false
                spec.linux?.seccomp = secure.linux?.seccomp
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect(statusField(r.stdout, "Seccomp") == "2")
            #expect(statusField(r.stdout, "NoNewPrivs") == "0")
            // No CAP_SYS_ADMIN (bit 21) left, yet the filter is in place.
            #expect(statusField(r.stdout, "CapEff") == "00000000a80425fb")
        }
    }

    @Test("personality, scheduler and exec CPU affinity")
    func schedulingAndPersonality() async throws {
        try await withSandbox { env in
            let r = try await env.sh("uname -m; grep -E '^policy' /proc/self/sched; grep Cpus_allowed_list /proc/self/status") { spec in
                spec.linux?.personality = .init(domain: "LINUX32")
                spec.process?.scheduler = .init(policy: "SCHED_BATCH", nice: 5)
                spec.process?.execCPUAffinity = .init(initial: "0")
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect(r.stdout.hasPrefix("i686\n"))
            let policy = r.stdout.split(separator: "\n").first { $0.hasPrefix("policy") }
            #expect(policy?.split(separator: " ").last == "3", "SCHED_BATCH is policy 3: \(r.stdout)")
            #expect(statusField(r.stdout, "Cpus_allowed_list") == "0")
        }
    }
}

/// chown -R, without following symlinks.
func chownTree(_ path: String, uid: uid_t, gid: gid_t) throws {
    lchown(path, uid, gid)
    guard let walker = FileManager.default.enumerator(atPath: path) else { return }
    for case let relative as String in walker { lchown(path + "/" + relative, uid, gid) }
}

@Suite("Resources", .serialized, .timeLimit(.minutes(2)))
struct ResourceTests {
    @Test("memory, pids and cpu limits land in the container's cgroup")
    func limits() async throws {
        try await withSandbox { env in
            let r = try await env.sh("""
                cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max
                cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us
                """) { spec in
                spec.linux?.resources = .init(
                    memory: .init(limit: 64 << 20), cpu: .init(shares: 512, quota: 50000, period: 100000),
                    pids: .init(limit: 42))
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect(r.stdout == "\(64 << 20)\n42\n512\n50000\n100000\n")
        }
    }

    @Test("the pids limit is enforced")
    func pidsEnforced() async throws {
        try await withSandbox { env in
            let r = try await env.sh("for i in 1 2 3 4 5 6; do sleep 5 & done") { spec in
                spec.linux?.resources = .init(pids: .init(limit: 3))
            }
            #expect((r.stdout + r.stderr).contains("can't fork"), "\(r.stdout) \(r.stderr)")
        }
    }

    @Test("device rules: a node outside the allow list cannot be opened, even by root with CAP_MKNOD")
    func devices() async throws {
        try await withSandbox { env in
            let r = try await env.sh("mknod /dev/testkmsg c 1 11 && echo made; head -c1 /dev/testkmsg >/dev/null 2>&1 || echo denied; head -c1 /dev/zero >/dev/null && echo zero-ok") { spec in
                for set in [\RuntimeSpec.Process.Capabilities.bounding, \.effective, \.permitted] {
                    spec.process?.capabilities?[keyPath: set]?.append("CAP_MKNOD")
                }
            }
            #expect(r.stdout == "made\ndenied\nzero-ok\n", "\(r.stdout) \(r.stderr)")
        }
    }

    @Test("unsupported fields are refused by name")
    func unsupported() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("rdt", ["/bin/true"]) { $0.linux?.intelRdt = .init(closID: "x") }
            await #expect { _ = try await env.runtime.create(id: "rdt", bundle: bundle.path) } throws: {
                "\($0)".contains("linux.intelRdt")
            }
        }
    }
}
