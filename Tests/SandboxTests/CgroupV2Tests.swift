import _CSandbox
import Foundation
import OCISpec
@testable import Sandbox
import TestSupport
import Testing

/// The cgroup v2 driver (issue 6).
///
/// Device programs and clone-into-cgroup need no v2 controller, so they run everywhere:
/// on a hybrid host (this project's CI) with the cgroup placed on the v2 mount alone
/// (``Cgroups/forcedHierarchies``). The controller tests — limits, OOM, pids, CPU quota,
/// freezer, update, stats, io, hugetlb — need a v2-only host with controllers, such as the
/// VM of scripts/cgroup-v2-vm/run.sh, and are enabled only there.
@Suite("cgroup v2", .serialized, .timeLimit(.minutes(3)))
struct CgroupV2Tests {
    // MARK: Host

    /// The host's cgroup v2 mount.
    static var v2Hierarchy: Cgroups.Hierarchy? { (try? Cgroups.hierarchies())?.first { $0.isV2 } }

    /// Controllers the v2 root offers.
    static var v2Controllers: Set<String> {
        guard let root = v2Hierarchy?.mountPoint,
              let text = try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8) else { return [] }
        return Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }

    /// A v2-only host whose v2 root offers the controllers a container's limits need.
    static var isV2Host: Bool {
        let hierarchies = (try? Cgroups.hierarchies()) ?? []
        return !hierarchies.isEmpty && hierarchies.allSatisfy(\.isV2) && v2Controllers.isSuperset(of: ["memory", "pids", "cpu"])
    }

    /// This host has v1 pids and devices hierarchies (a v1 or hybrid host).
    static var hasV1PidsAndDevices: Bool {
        let controllers = ((try? Cgroups.hierarchies()) ?? []).flatMap { $0.controllers.split(separator: ",") }
        return controllers.contains("pids") && controllers.contains("devices")
    }

    /// Runs `body` with the containers' cgroups on the host's v2 mount alone (the pure-v2
    /// driver), and checks afterwards that no container cgroup is left at its root (where
    /// a v2-only host keeps them, out of reach of the generic leak check's v1 layout).
    private func withV2(_ body: (SandboxTestEnvironment) async throws -> Void) async throws {
        let v2 = try #require(Self.v2Hierarchy, "the host mounts no cgroup v2 hierarchy")
        let before = Set(Self.containerCgroups(v2.mountPoint))
        try await Cgroups.$forcedHierarchies.withValue([v2]) {
            try await withSandbox(body)
        }
        let left = Set(Self.containerCgroups(v2.mountPoint)).subtracting(before)
        #expect(left.isEmpty, "cgroup directories left on the v2 mount: \(left.sorted())")
    }

    private static func containerCgroups(_ root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("caisson-") }
    }

    // MARK: Device programs (BPF_CGROUP_DEVICE)

    /// A shell script that opens each node and prints "name=ok", "name=EPERM" or the error.
    /// The nodes are made with mknod in the container's /dev (tmpfs): c *:* m is a default.
    private static let probe = """
        mknod /dev/kmsg-probe c 1 11 || exit 9
        mknod /dev/null-probe c 1 3 || exit 9
        try() { if out=$( { eval ": $2 $3"; } 2>&1 ); then echo "$1=ok"; else case "$out" in *"not permitted"*) echo "$1=EPERM";; *) echo "$1=$out";; esac; fi; }
        try null-rw '<>' /dev/null
        try zero-r '<' /dev/zero
        try full-w '>' /dev/full
        try urandom-r '<' /dev/urandom
        try null-node-rw '<>' /dev/null-probe
        try kmsg-w '>' /dev/kmsg-probe
        try kmsg-r '<' /dev/kmsg-probe
        rm /dev/kmsg-probe /dev/null-probe
        """

    /// A spec whose process may mknod (to make nodes the rules do not cover).
    private static func withMknod(_ spec: inout RuntimeSpec) {
        for keyPath in [\RuntimeSpec.Process.Capabilities.bounding, \.effective, \.permitted] {
            spec.process?.capabilities?[keyPath: keyPath]?.append("CAP_MKNOD")
        }
    }

    /// The probe's verdicts, by name.
    private static func verdicts(_ output: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
        }
        return out
    }

    /// The number of device programs attached to the container's v2 cgroup.
    private static func programCount(_ container: Container) throws -> Int32 {
        let unified = try #require(container.record.cgroups?.unifiedDirectory)
        let fd = open(unified, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(fd >= 0, "opening \(unified)")
        defer { close(fd) }
        return csb_bpf_device_program_count(fd)
    }

    @Test("default rules: /dev/null, zero, full, urandom open; any other device gets EPERM")
    func defaultDeviceRules() async throws {
        try await withV2 { env in
            let result = try await env.sh(Self.probe, id: "devdefault") { Self.withMknod(&$0) }
            #expect(result.status == .exited(0), "\(result.stderr)")
            let verdicts = Self.verdicts(result.stdout)
            #expect(verdicts == ["null-rw": "ok", "zero-r": "ok", "full-w": "ok", "urandom-r": "ok", "null-node-rw": "ok",
                                 "kmsg-w": "EPERM", "kmsg-r": "EPERM"], "\(result.stdout)\(result.stderr)")
        }
    }

    @Test("a wildcard rule allows every minor of a major, with only the access it names")
    func wildcardDeviceRule() async throws {
        try await withV2 { env in
            let result = try await env.sh(Self.probe, id: "devwildcard") { spec in
                Self.withMknod(&spec)
                spec.linux?.resources = .init(devices: [.init(allow: false, access: "rwm"), .init(allow: true, type: "c", major: 1, access: "w")])
            }
            let verdicts = Self.verdicts(result.stdout)
            // c 1:* w grants writing to kmsg, not reading it; O_RDWR on a node needs one rule
            // with both (the default c 1:3 rwm has them).
            #expect(verdicts["kmsg-w"] == "ok", "\(result.stdout)\(result.stderr)")
            #expect(verdicts["kmsg-r"] == "EPERM", "\(result.stdout)")
            #expect(verdicts["null-node-rw"] == "ok", "\(result.stdout)")
        }
    }

    @Test("allow-all then a deny rule: the deny is an exception to the open default")
    func allowAllThenDeny() async throws {
        try await withV2 { env in
            let result = try await env.sh(Self.probe, id: "devallowall") { spec in
                Self.withMknod(&spec)
                spec.linux?.resources = .init(devices: [.init(allow: true, access: "rwm"), .init(allow: false, type: "c", major: 1, minor: 11, access: "w")])
            }
            let verdicts = Self.verdicts(result.stdout)
            #expect(verdicts["kmsg-w"] == "EPERM", "\(result.stdout)\(result.stderr)")
            #expect(verdicts["null-rw"] == "ok" && verdicts["zero-r"] == "ok", "\(result.stdout)")
        }
    }

    @Test("update replaces the device program in place")
    func updateDevices() async throws {
        try await withV2 { env in
            let bundle = try env.bundle("devupdate", ["/bin/sleep", "100"]) { Self.withMknod(&$0) }
            try await env.runtime.withContainer(id: "devupdate", bundle: bundle.path) { container in
                try await container.start()
                #expect(try Self.programCount(container) == 1)
                func probe() async throws -> [String: String] {
                    var process = container.spec.process!
                    process.args = ["/bin/sh", "-c", Self.probe]
                    let exec = try await container.exec(process, stdio: .pipes)
                    let out = String(decoding: try await exec.io.standardOutput!.readAll(), as: UTF8.self)
                    _ = try await exec.wait()
                    return Self.verdicts(out)
                }
                #expect(try await probe()["kmsg-w"] == "EPERM")
                try container.update(.init(devices: [.init(allow: true, type: "c", major: 1, minor: 11, access: "w")]))
                #expect(try await probe()["kmsg-w"] == "ok")
                #expect(try Self.programCount(container) == 1, "the old program stayed attached")
                try container.update(.init(devices: [.init(allow: false, access: "rwm")]))
                let after = try await probe()
                #expect(after["kmsg-w"] == "EPERM" && after["null-rw"] == "ok", "\(after)")
            }
        }
    }

    @Test("a rule that would punch a hole in a wildcard is refused with its field named")
    func wildcardHole() async throws {
        try await withV2 { env in
            let bundle = try env.bundle("devhole", ["/bin/true"]) { spec in
                spec.linux?.resources = .init(devices: [.init(allow: false, access: "rwm"), .init(allow: true, type: "c", major: 1, access: "rwm"),
                                                        .init(allow: false, type: "c", major: 1, minor: 11, access: "r")])
            }
            await #expect {
                _ = try await env.runtime.create(id: "devhole", bundle: bundle.path)
            } throws: { "\($0)".contains("linux.resources.devices[2]") && "\($0)".contains("wildcard") }
        }
    }

    @Test("device rules reduce as cgroup v1 applies them")
    func reduction() throws {
        typealias Rule = RuntimeSpec.Linux.Resources.DeviceRule
        func policy(_ rules: [Rule]) throws -> Cgroups.DevicePolicy {
            try Cgroups.reduce(Cgroups.deviceRules(rules, devices: []))
        }
        let standard = try policy([])
        #expect(!standard.defaultAllow)
        #expect(standard.exceptions.map(\.v1Line) == Cgroups.defaultDeviceRules.map(\.v1Line))
        // The same device twice merges its access; "a" resets whatever came before.
        let merged = try policy([.init(allow: true, type: "c", major: 4, minor: 1, access: "r"), .init(allow: true, type: "c", major: 4, minor: 1, access: "w")])
        #expect(merged.exceptions.contains { $0.v1Line == "c 4:1 rw" })
        let reset = try policy([.init(allow: true, type: "b", major: 8, access: "r"), .init(allow: true)])
        #expect(reset.defaultAllow && reset.exceptions.isEmpty)
        // Removing part of an exact exception keeps the rest.
        let partial = try policy([.init(allow: true, type: "c", major: 4, minor: 1, access: "rw"), .init(allow: false, type: "c", major: 4, minor: 1, access: "w")])
        #expect(partial.exceptions.contains { $0.v1Line == "c 4:1 r" })
        #expect(throws: SandboxError.self) { try policy([.init(allow: true, type: "x")]) }
        #expect(throws: SandboxError.self) { try policy([.init(allow: true, type: "c", access: "rx")]) }
        #expect(throws: SandboxError.self) { try policy([.init(allow: true, type: "c", major: -2)]) }
    }

    // MARK: CLONE_INTO_CGROUP

    @Test("the process is cloned into its v2 cgroup (no join after clone) and cgroup.kill ends it")
    func cloneIntoCgroup() async throws {
        try await withV2 { env in
            let bundle = try env.bundle("clone3", ["/bin/sleep", "100"])
            let container = try await env.runtime.create(id: "clone3", bundle: bundle.path)
            let spawned = try #require(container.spawnedProcess)
            // The parent skips the write to cgroup.procs when clone3 placed the child: the
            // child can only be in the cgroup because it started there.
            #expect(spawned.clonedIntoCgroup)
            let cgroups = try #require(container.record.cgroups)
            let unified = try #require(cgroups.unifiedDirectory)
            let v2 = try #require(Self.v2Hierarchy)
            let line = try String(contentsOfFile: "/proc/\(container.pid)/cgroup", encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("0::") }
            #expect(line.map(String.init) == "0::" + unified.dropFirst(v2.mountPoint.count))
            #expect(cgroups.pids().contains(container.pid))
            try await container.start()
            #expect(cgroups.killAllV2())
            #expect(try await container.wait() == .signaled(.kill))
            try await container.delete()
        }
    }

    @Test("on the host's own layout the container is cloned into its v2 cgroup too",
          .enabled(if: v2Hierarchy != nil, "the host mounts no cgroup v2 hierarchy"))
    func cloneIntoCgroupHostLayout() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("clone3host", ["/bin/sleep", "100"])
            try await env.runtime.withContainer(id: "clone3host", bundle: bundle.path) { container in
                #expect(container.spawnedProcess?.clonedIntoCgroup == true)
                // Every hierarchy holds it (v1 ones joined before the child's go).
                let cgroups = try #require(container.record.cgroups)
                for directory in cgroups.directories {
                    let procs = try String(contentsOfFile: directory.path + "/cgroup.procs", encoding: .utf8)
                    #expect(procs.split(separator: "\n").contains(Substring("\(container.pid)")), "not in \(directory.path)")
                }
            }
        }
    }

    @Test("when the kernel refuses the cgroup fd, the process is cloned plainly and joined after",
          .enabled(if: hasV1PidsAndDevices, "needs v1 pids and devices hierarchies"))
    func cloneFallback() async throws {
        // A v1 directory in the place of the v2 one: clone3 refuses it (EBADF, not a
        // cgroup2 directory), a real refusal by the kernel that must not fail the create.
        let hierarchies = try Cgroups.hierarchies()
        let devices = try #require(hierarchies.first { $0.controllers.split(separator: ",").contains("devices") })
        var pids = try #require(hierarchies.first { $0.controllers.split(separator: ",").contains("pids") })
        pids.isV2 = true
        pids.controllers = ""
        try await Cgroups.$forcedHierarchies.withValue([devices, pids]) {
            try await withSandbox { env in
                let bundle = try env.bundle("clonefallback", ["/bin/sleep", "100"])
                try await env.runtime.withContainer(id: "clonefallback", bundle: bundle.path) { container in
                    #expect(container.spawnedProcess?.clonedIntoCgroup == false)
                    let procs = try String(contentsOfFile: pids.mountPoint + "/caisson-clonefallback/cgroup.procs", encoding: .utf8)
                    #expect(procs.split(separator: "\n").contains(Substring("\(container.pid)")))
                }
            }
        }
    }

    // MARK: Controllers (a v2-only host)


    private func read(_ directory: String, _ file: String) throws -> String {
        try String(contentsOfFile: directory + "/" + file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("memory.max: an allocation past it is OOM-killed and the event reported",
          .enabled(if: isV2Host, "needs a cgroup v2 host with controllers (scripts/cgroup-v2-vm/run.sh)"))
    func oom() async throws {
        try await withV2 { env in
            let bundle = try memoryHog(env, id: "v2oom") { spec in
                spec.linux?.resources = .init(memory: .init(limit: 32 << 20, swap: 32 << 20))
            }
            try await env.runtime.withContainer(id: "v2oom", bundle: bundle, options: .init(stdio: .allPipes)) { container in
                let unified = try #require(container.record.cgroups?.unifiedDirectory)
                #expect(try read(unified, "memory.max") == "\(32 << 20)")
                #expect(try read(unified, "memory.swap.max") == "0")
                let (ooms, status) = try await runUntilOOM(container)
                #expect(ooms >= 1, "no OOM event (exit: \(status))")
                let stats = try container.stats()
                #expect(stats.memory.oomKills >= 1)
                #expect(stats.memory.usage.limit == 32 << 20)
            }
        }
    }

    @Test("pids.max contains a fork bomb",
          .enabled(if: isV2Host, "needs a cgroup v2 host with controllers (scripts/cgroup-v2-vm/run.sh)"))
    func pidsLimit() async throws {
        try await withV2 { env in
            let bundle = try env.bundle("v2pids", ["/bin/sleep", "100"]) { spec in
                spec.linux?.resources = .init(pids: .init(limit: 16))
            }
            try await env.runtime.withContainer(id: "v2pids", bundle: bundle.path) { container in
                try await container.start()
                // The bomb runs beside the container's init: a shell may give up when a
                // fork is refused, the container must not end with it.
                var process = container.spec.process!
                process.args = ["/bin/sh", "-c", "i=0; while [ $i -lt 100 ]; do sleep 60 & i=$((i+1)); done 2>/dev/null; wait"]
                let bomb = try await container.exec(process)
                let unified = try #require(container.record.cgroups?.unifiedDirectory)
                var refused = 0
                for _ in 0..<500 {
                    refused = Int((try? read(unified, "pids.events"))?.split(separator: " ").last ?? "") ?? 0
                    if refused > 0 { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(refused > 0, "no fork was refused")
                let stats = try container.stats()
                #expect(stats.pids.limit == 16)
                #expect(stats.pids.current <= 16 && stats.pids.current >= 2, "\(stats.pids.current) tasks")
                #expect(container.processes().count <= 16)
                #expect(container.record.cgroups?.killAllV2() == true)
                _ = try await bomb.wait()
            }
        }
    }

    @Test("cpu.max: a quota shows in measured CPU use and throttling",
          .enabled(if: isV2Host, "needs a cgroup v2 host with controllers (scripts/cgroup-v2-vm/run.sh)"))
    func cpuQuota() async throws {
        try await withV2 { env in
            let bundle = try env.bundle("v2quota", ["/bin/sh", "-c", "while true; do :; done"]) { spec in
                spec.linux?.resources = .init(cpu: .init(shares: 1024, quota: 20_000, period: 100_000))
            }
            try await env.runtime.withContainer(id: "v2quota", bundle: bundle.path) { container in
                let unified = try #require(container.record.cgroups?.unifiedDirectory)
                #expect(try read(unified, "cpu.max") == "20000 100000")
                #expect(try read(unified, "cpu.weight") == "39")  // runc's conversion of 1024 shares
                try await container.start()
                let before = try container.stats()
                let clock = ContinuousClock()
                let started = clock.now
                try await Task.sleep(for: .seconds(1))
                let after = try container.stats()
                let elapsed = clock.now - started
                let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let cpuSeconds = Double(after.cpu.usage.total - before.cpu.usage.total) / 1e9
                #expect(cpuSeconds > 0.05 && cpuSeconds < 0.35 * wall, "used \(cpuSeconds) s of CPU in \(wall) s")
                #expect(after.cpu.throttling.throttledPeriods > before.cpu.throttling.throttledPeriods)
                #expect(after.cpu.usage.user + after.cpu.usage.kernel > 0)
            }
        }
    }

    @Test("pause and resume use the core freezer (cgroup.freeze)",
          .enabled(if: isV2Host, "needs a cgroup v2 host with controllers (scripts/cgroup-v2-vm/run.sh)"))
    func freezer() async throws {
        try await withV2 { env in
            let (bundle, n) = try counter(env, id: "v2pause")
            try await env.runtime.withContainer(id: "v2pause", bundle: bundle) { container in
                try await container.start()
                for _ in 0..<500 where counterValue(n) <= 0 { try await Task.sleep(for: .milliseconds(10)) }
                #expect(container.record.cgroups?.freezer == .v2(try #require(container.record.cgroups?.unifiedDirectory)))
                try await container.pause()
                #expect(container.status() == .paused)
                let frozenAt = counterValue(n)
                try await Task.sleep(for: .milliseconds(300))
                #expect(counterValue(n) - frozenAt <= 1, "the counter moved while paused")
                try await container.resume()
                #expect(container.status() == .running)
                let resumedAt = counterValue(n)
                try await Task.sleep(for: .milliseconds(200))
                #expect(counterValue(n) > resumedAt + 10, "the counter did not move after resume")
            }
        }
    }

    @Test("update changes memory.max, pids.max and cpu.max of a running container",
          .enabled(if: isV2Host, "needs a cgroup v2 host with controllers (scripts/cgroup-v2-vm/run.sh)"))
    func update() async throws {
        try await withV2 { env in
            let bundle = try env.bundle("v2update", ["/bin/sleep", "100"]) { spec in
                spec.linux?.resources = .init(memory: .init(limit: 64 << 20), pids: .init(limit: 50))
            }
            try await env.runtime.withContainer(id: "v2update", bundle: bundle.path) { container in
                try await container.start()
                let unified = try #require(container.record.cgroups?.unifiedDirectory)
                try env.runtime.container(id: "v2update").update(
                    .init(memory: .init(limit: 96 << 20), cpu: .init(quota: 30_000, period: 100_000), pids: .init(limit: 7)))
                #expect(try read(unified, "memory.max") == "\(96 << 20)")
                #expect(try read(unified, "pids.max") == "7")
                #expect(try read(unified, "cpu.max") == "30000 100000")
                let stats = try container.stats()
                #expect(stats.memory.usage.limit == 96 << 20 && stats.pids.limit == 7)
                #expect(try env.runtime.container(id: "v2update").resources()?.pids?.limit == 7)
                #expect {
                    try container.update(.init(memory: .init(limit: 64 << 20, swap: 32 << 20)))
                } throws: { "\($0)".contains("linux.resources.memory.swap") }
            }
        }
    }

    @Test("stats read memory, cpu and pids from the v2 files",
          .enabled(if: isV2Host, "needs a cgroup v2 host with controllers (scripts/cgroup-v2-vm/run.sh)"))
    func stats() async throws {
        try await withV2 { env in
            let bundle = try env.bundle("v2stats", ["/bin/sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 100"]) { spec in
                spec.linux?.resources = .init(memory: .init(limit: 128 << 20), pids: .init(limit: 30))
            }
            try await env.runtime.withContainer(id: "v2stats", bundle: bundle.path) { container in
                try await container.start()
                try await Task.sleep(for: .milliseconds(500))
                let stats = try container.stats()
                #expect(stats.memory.usage.usage > 0 && stats.memory.usage.limit == 128 << 20)
                #expect(stats.memory.raw["anon"] != nil && stats.memory.raw["file"] != nil)
                #expect(stats.cpu.usage.total > 0)
                #expect(stats.pids.current >= 1 && stats.pids.limit == 30)
            }
        }
    }

    /// A block device of the host and its "major:minor" (the VM attaches a scratch disk).
    static var blockDevice: (major: Int64, minor: Int64)? {
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []).sorted()
        where !name.hasPrefix("loop") && !name.hasPrefix("ram") && !name.hasPrefix("zram") {
            guard let text = try? String(contentsOfFile: "/sys/block/\(name)/dev", encoding: .utf8) else { continue }
            let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":")
            if parts.count == 2, let major = Int64(parts[0]), let minor = Int64(parts[1]) { return (major, minor) }
        }
        return nil
    }

    @Test("io.max throttles and the io weight go to the v2 io controller",
          .enabled(if: isV2Host && v2Controllers.contains("io") && blockDevice != nil, "needs the v2 io controller and a block device"))
    func io() async throws {
        let device = try #require(Self.blockDevice)
        try await withV2 { env in
            let bundle = try env.bundle("v2io", ["/bin/sleep", "100"]) { spec in
                spec.linux?.resources = .init(blockIO: .init(
                    weight: 500,
                    throttleReadBpsDevice: [.init(major: device.major, minor: device.minor, rate: 1 << 20)],
                    throttleWriteIOPSDevice: [.init(major: device.major, minor: device.minor, rate: 100)]))
            }
            try await env.runtime.withContainer(id: "v2io", bundle: bundle.path) { container in
                let unified = try #require(container.record.cgroups?.unifiedDirectory)
                let max = try read(unified, "io.max")
                #expect(max.contains("\(device.major):\(device.minor) rbps=\(1 << 20)") && max.contains("wiops=100"), "\(max)")
                if FileManager.default.fileExists(atPath: unified + "/io.bfq.weight") {
                    #expect(try read(unified, "io.bfq.weight").contains("500"))
                } else if FileManager.default.fileExists(atPath: unified + "/io.weight") {
                    #expect(try read(unified, "io.weight").contains("default 4950"))
                }
                try await container.start()
                #expect(try container.stats().blkio.ioServiceBytesRecursive.allSatisfy { $0.major > 0 })
            }
        }
    }

    @Test("hugepage limits go to hugetlb.<size>.max",
          .enabled(if: isV2Host && v2Controllers.contains("hugetlb") && Cgroups.hugepageSizes().contains("2MB"), "needs the v2 hugetlb controller"))
    func hugetlb() async throws {
        try await withV2 { env in
            let bundle = try env.bundle("v2hugetlb", ["/bin/sleep", "100"]) { spec in
                spec.linux?.resources = .init(hugepageLimits: [.init(pageSize: "2MB", limit: 4 << 20)])
            }
            try await env.runtime.withContainer(id: "v2hugetlb", bundle: bundle.path) { container in
                let unified = try #require(container.record.cgroups?.unifiedDirectory)
                #expect(try read(unified, "hugetlb.2MB.max") == "\(4 << 20)")
                try await container.start()
                try container.update(.init(hugepageLimits: [.init(pageSize: "2MB", limit: 8 << 20)]))
                #expect(try read(unified, "hugetlb.2MB.max") == "\(8 << 20)")
                #expect(try container.stats().hugetlb["2MB"] != nil)
            }
        }
    }
}
