import Foundation
import OCISpec
import Testing

@Suite("Runtime spec defaults")
struct RuntimeDefaultsTests {
    @Test("runcDefault() equals what `runc spec` writes")
    func runcDefault() async throws {
        let data = try await RuntimeFixtures.generatedSpec("runc")
        let runc = try OCIJSON.decode(RuntimeSpec.self, from: data)
        #expect(runc == RuntimeSpec.runcDefault())
    }

    @Test("runcRootless(uid:gid:) equals what `runc spec --rootless` writes for this user")
    func runcRootless() async throws {
        let data = try await RuntimeFixtures.generatedSpec("runc", ["--rootless"])
        let runc = try OCIJSON.decode(RuntimeSpec.self, from: data)
        let ours = RuntimeSpec.runcRootless(uid: geteuid(), gid: getegid())
        #expect(runc == ours)
        #expect(ours.linux?.uidMappings == [.init(containerID: 0, hostID: geteuid(), size: 1)])
        #expect(ours.linux?.namespaces?.contains(.init(type: .network)) == false)
        #expect(ours.linux?.namespaces?.last == .init(type: .user))
        #expect(ours.linux?.resources == nil)
        let other = RuntimeSpec.runcRootless(uid: 1000, gid: 1001)
        #expect(other.linux?.gidMappings == [.init(containerID: 0, hostID: 1001, size: 1)])
    }

    @Test("secureDefault: Docker's 14 capabilities, exactly, and no privilege gain")
    func capabilities() throws {
        let spec = RuntimeSpec.secureDefault(args: ["/bin/app", "--serve"])
        let process = try #require(spec.process)
        #expect(process.args == ["/bin/app", "--serve"])
        #expect(process.noNewPrivileges == true)
        #expect(process.user == .init(uid: 0, gid: 0))
        let expected: Set = [
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
        ]
        let caps = try #require(process.capabilities)
        for set in [caps.bounding, caps.effective, caps.permitted] {
            let names = try #require(set)
            #expect(names.count == 14)
            #expect(Set(names) == expected)
        }
        #expect(caps.inheritable == nil)
        #expect(caps.ambient == nil)
        #expect(caps.bounding?.contains("CAP_SYS_ADMIN") == false)
    }

    @Test("secureDefault: masked and read-only paths, namespaces, mounts")
    func paths() throws {
        let linux = try #require(RuntimeSpec.secureDefault(args: ["sh"]).linux)
        let masked = try #require(linux.maskedPaths)
        for path in [
            "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/acpi", "/proc/asound",
            "/proc/latency_stats", "/proc/timer_stats", "/proc/scsi", "/sys/firmware", "/proc/interrupts",
            "/sys/devices/virtual/powercap",
        ] {
            #expect(masked.contains(path), "\(path)")
        }
        #expect(linux.readonlyPaths == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
        #expect(linux.namespaces?.map(\.type) == [.pid, .network, .ipc, .uts, .mount, .cgroup])
        #expect(linux.namespaces?.allSatisfy { $0.path == nil } == true)
        #expect(linux.resources?.devices?.first == .init(allow: false, access: "rwm"))
        let mounts = try #require(RuntimeSpec.secureDefault(args: ["sh"]).mounts)
        #expect(mounts.map(\.destination) == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"])
        #expect(mounts.first { $0.destination == "/sys" }?.options?.contains("ro") == true)
        #expect(mounts.first { $0.destination == "/sys/fs/cgroup" }?.options?.contains("ro") == true)
    }

    @Test("secureDefault: Docker's seccomp profile, deny by default with EPERM")
    func seccomp() throws {
        let seccomp = try #require(RuntimeSpec.secureDefault(args: ["sh"]).linux?.seccomp)
        #expect(seccomp == LinuxSeccomp.dockerDefault)
        #expect(seccomp.defaultAction == .errno)
        #expect(seccomp.defaultErrnoRet == 1)
        let rules = try #require(seccomp.syscalls)
        func unconditionallyAllowed(_ name: String) -> Bool {
            rules.contains { $0.action == .allow && $0.names.contains(name) && ($0.args ?? []).isEmpty }
        }
        func mentioned(_ name: String) -> Bool { rules.contains { $0.names.contains(name) } }
        // ptrace is allowed as Docker allows it on kernels >= 4.8 (includes.minKernel).
        for name in ["read", "write", "openat", "execve", "exit_group", "futex", "clock_gettime", "chroot", "ptrace"] {
            #expect(unconditionallyAllowed(name), "\(name)")
        }
        for name in [
            "kexec_load", "mount", "umount2", "unshare", "setns", "bpf", "reboot", "init_module",
            "open_by_handle_at", "perf_event_open", "settimeofday", "acct", "keyctl", "add_key", "pivot_root",
        ] {
            #expect(!mentioned(name), "\(name)")
        }
        // clone only without namespace flags; clone3 → ENOSYS so libc falls back to clone.
        let clone = try #require(rules.first { $0.names == ["clone"] })
        #expect(clone.action == .allow)
        #expect(clone.args == [.init(index: 0, value: 2_114_060_288, op: .maskedEqual)])
        let clone3 = try #require(rules.first { $0.names == ["clone3"] })
        #expect(clone3.action == .errno)
        #expect(clone3.errnoRet == 38)
        // socket: everything but AF_VSOCK; personality: a few safe domains.
        #expect(rules.first { $0.names == ["socket"] }?.args == [.init(index: 0, value: 40, op: .notEqual)])
        #expect(rules.filter { $0.names == ["personality"] }.count == 5)
        #if arch(x86_64)
        #expect(seccomp.architectures == [.x86_64, .x86, .x32])
        #expect(unconditionallyAllowed("arch_prctl"))
        #expect(unconditionallyAllowed("modify_ldt"))
        #elseif arch(arm64)
        #expect(seccomp.architectures == [.aarch64, .arm])
        #expect(unconditionallyAllowed("set_tls"))
        #endif
        // The profile encodes and decodes like any document.
        #expect(try OCIJSON.decode(LinuxSeccomp.self, from: OCIJSON.encode(seccomp)) == seccomp)
    }

    @Test("the Docker profile resolves per architecture and capability set")
    func dockerProfileResolution() throws {
        let amd64 = LinuxSeccomp.dockerDefault(architecture: .x86_64, capabilities: RuntimeSpec.dockerDefaultCapabilities)
        #expect(amd64.architectures == [.x86_64, .x86, .x32])
        #expect(amd64.syscalls?.contains { $0.names.contains("arch_prctl") } == true)
        #expect(amd64.syscalls?.contains { $0.names.contains("set_tls") } == false)

        let arm64 = LinuxSeccomp.dockerDefault(architecture: .aarch64, capabilities: RuntimeSpec.dockerDefaultCapabilities)
        #expect(arm64.architectures == [.aarch64, .arm])
        #expect(arm64.syscalls?.contains { $0.names.contains("set_tls") } == true)
        #expect(arm64.syscalls?.contains { $0.names.contains("arch_prctl") } == false)

        let s390x = LinuxSeccomp.dockerDefault(architecture: .s390x, capabilities: [String]())
        #expect(s390x.syscalls?.first { $0.names == ["clone"] }?.args?.first?.index == 1)

        let admin = LinuxSeccomp.dockerDefault(
            architecture: .x86_64, capabilities: RuntimeSpec.dockerDefaultCapabilities + ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"])
        let adminRules = try #require(admin.syscalls)
        #expect(adminRules.contains { $0.names.contains("mount") && $0.action == .allow })
        #expect(adminRules.contains { $0.names.contains("ptrace") })
        #expect(!adminRules.contains { $0.names == ["clone3"] })
        #expect(!adminRules.contains { $0.names == ["clone"] && $0.args != nil })

        // No capabilities at all: chroot goes too.
        let none = LinuxSeccomp.dockerDefault(architecture: .x86_64, capabilities: [String]())
        #expect(none.syscalls?.contains { $0.names.contains("chroot") } == false)
    }

    @Test("secureDefault encodes deterministically and round trips")
    func secureDefaultRoundTrip() throws {
        let spec = RuntimeSpec.secureDefault(args: ["sh"])
        let encoded = try OCIJSON.encode(spec, pretty: true)
        #expect(try OCIJSON.decode(RuntimeSpec.self, from: encoded) == spec)
        #expect(try OCIJSON.encode(spec, pretty: true) == encoded)
        #expect(spec.ociVersion == RuntimeSpec.currentVersion)
    }
}
