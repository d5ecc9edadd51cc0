import Foundation
import OCISpec
@testable import Sandbox
import TestSupport
import Testing

/// User namespaces and rootless operation (issue 6): maps written directly or through
/// newuidmap/newgidmap, the runtime run by an unprivileged user, rootless overlay, and
/// SECURITY.md item 7. The unprivileged part runs in `rootless-helper` under setpriv.
@Suite("Rootless and user namespaces", .serialized, .timeLimit(.minutes(3)))
struct RootlessTests {
    // MARK: Maps (decided in-process)

    @Test("maps: validation names the field; unprivileged single-id maps are written directly, others need subuid and newuidmap")
    func mapPlanning() throws {
        let own = IDMaps.Identity(uid: 1234, gid: 2345, privileged: false, helperDirectories: ["/usr/bin"])
        let direct = try IDMaps.plan(uidMappings: [.init(containerID: 0, hostID: 1234, size: 1)],
                                     gidMappings: [.init(containerID: 0, hostID: 2345, size: 1)], identity: own)
        #expect(direct.uidWriter == .direct && direct.gidWriter == .direct && direct.denySetgroups)

        let directory = try makeTemporaryDirectory(prefix: "caisson-subid")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = SubordinateIDs.Files(subuid: directory + "/subuid", subgid: directory + "/subgid")
        try "1234:100000:65536\n".write(toFile: files.subuid, atomically: true, encoding: .utf8)
        try "1234:100000:65536\n".write(toFile: files.subgid, atomically: true, encoding: .utf8)
        let ranges: [RuntimeSpec.Linux.IDMapping] = [.init(containerID: 0, hostID: 1234, size: 1), .init(containerID: 1, hostID: 100000, size: 65536)]
        let gidRanges: [RuntimeSpec.Linux.IDMapping] = [.init(containerID: 0, hostID: 2345, size: 1), .init(containerID: 1, hostID: 100000, size: 65536)]
        let helped = try IDMaps.plan(uidMappings: ranges, gidMappings: gidRanges, files: files, identity: own)
        #expect(helped.uidWriter == .helper("/usr/bin/newuidmap") && helped.gidWriter == .helper("/usr/bin/newgidmap"))
        #expect(!helped.denySetgroups)

        // A range outside /etc/subuid: the file, the range and the grant are named.
        let outside: [RuntimeSpec.Linux.IDMapping] = [.init(containerID: 0, hostID: 200000, size: 10)]
        #expect {
            _ = try IDMaps.plan(uidMappings: outside, gidMappings: gidRanges, files: files, identity: own)
        } throws: { error in
            let text = "\(error)"
            return text.contains("linux.uidMappings[0]") && text.contains("200000-200009") && text.contains(files.subuid)
                && text.contains("100000-165535")
        }
        // newuidmap missing: say which package brings it.
        let noHelpers = IDMaps.Identity(uid: 1234, gid: 2345, privileged: false, helperDirectories: [directory])
        #expect {
            _ = try IDMaps.plan(uidMappings: ranges, gidMappings: gidRanges, files: files, identity: noHelpers)
        } throws: { error in "\(error)".contains("newuidmap") && "\(error)".contains("uidmap") }
        // Kernel rules, before any clone.
        let root = IDMaps.Identity(uid: 0, gid: 0, privileged: true, helperDirectories: [])
        #expect(throws: SandboxError.self) { try IDMaps.plan(uidMappings: [], gidMappings: ranges, identity: root) }
        #expect {
            _ = try IDMaps.plan(uidMappings: [.init(containerID: 0, hostID: 100000, size: 10), .init(containerID: 5, hostID: 200000, size: 10)],
                                gidMappings: ranges, identity: root)
        } throws: { error in "\(error)".contains("linux.uidMappings[1]: container uids overlap") }
        #expect {
            _ = try IDMaps.plan(uidMappings: [.init(containerID: 0, hostID: 4_294_967_000, size: 1000)], gidMappings: ranges, identity: root)
        } throws: { error in "\(error)".contains("goes past") }
    }

    @Test("as root: a multi-range map is written directly; setgroups stays allowed")
    func rootMultiRange() async throws {
        try await withSandbox { env in
            chmod(env.directory, 0o755)
            let r = try await env.sh("cat /proc/self/uid_map /proc/self/setgroups; id -G") { spec in
                spec.linux?.namespaces?.append(.init(type: .user))
                spec.linux?.uidMappings = [.init(containerID: 0, hostID: 400000, size: 1000), .init(containerID: 1000, hostID: 500000, size: 1000)]
                spec.linux?.gidMappings = [.init(containerID: 0, hostID: 400000, size: 3000)]
                spec.process?.user = .init(uid: 0, gid: 0, additionalGids: [2000])
            }
            #expect(r.status == .exited(0), "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
            #expect(lines == ["0 400000 1000", "1000 500000 1000", "allow", "0 2000"])
        }
    }

    // MARK: Rootless runtime (as an unprivileged user)

    @Test("rootless: single-id maps written by the user, setgroups denied, state under XDG_RUNTIME_DIR, no cgroup")
    func rootlessSingleRange() async throws {
        try await withRootlessUser { user, env in
            let defaultRoot = try user.helper(["state-root"])
            #expect(defaultRoot.stdout == user.runtimeDirectory + "/caisson\n")

            let bundle = try user.bundle("single", ["/bin/sh", "-c",
                "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; cat /proc/self/cgroup | grep -c caisson-; ls /sys/fs/cgroup | wc -l"])
            let r = try user.helper(["run", user.runtimeDirectory + "/caisson", "single", bundle])
            #expect(r.status == .exited(0), "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
            // No cgroup of its own (none was delegated), and an empty, read-only /sys/fs/cgroup.
            #expect(lines == ["0 \(user.uid) 1", "0 \(user.gid) 1", "deny", "0", "0", "0"], "\(r.stdout)")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: user.runtimeDirectory + "/caisson")) ?? []
            #expect(left.isEmpty)
        }
    }

    @Test("rootless: multi-range maps through newuidmap/newgidmap from /etc/subuid and /etc/subgid")
    func rootlessMultiRange() async throws {
        try await withRootlessUser { user, env in
            let bundle = try user.bundle("multi", ["/bin/sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id"]) { spec in
                let sub = RootlessUser.subordinateStart
                spec.linux?.uidMappings = [.init(containerID: 0, hostID: user.uid, size: 1), .init(containerID: 1, hostID: sub, size: 65536)]
                spec.linux?.gidMappings = [.init(containerID: 0, hostID: user.gid, size: 1), .init(containerID: 1, hostID: sub, size: 65536)]
                spec.process?.user = .init(uid: 1000, gid: 1000, additionalGids: [2000])
            }
            let r = try user.helper(["run", user.stateRoot, "multi", bundle])
            #expect(r.status == .exited(0), "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
            let sub = RootlessUser.subordinateStart
            #expect(Array(lines.prefix(5)) == ["0 \(user.uid) 1", "1 \(sub) 65536", "0 \(user.gid) 1", "1 \(sub) 65536", "allow"], "\(r.stdout)")
            #expect(lines.last?.hasPrefix("uid=1000 gid=1000") == true && lines.last?.contains("2000") == true, "\(r.stdout)")
        }
    }

    @Test("rootless: clear errors for undelegated ranges, limits without a cgroup, a missing user namespace, unmapped devpts gid")
    func rootlessRefusals() async throws {
        try await withRootlessUser { user, env in
            let notDelegated = try user.bundle("range", ["/bin/true"]) { spec in
                spec.linux?.uidMappings = [.init(containerID: 0, hostID: 7_000_000, size: 100)]
            }
            var r = try user.helper(["run", user.stateRoot, "range", notDelegated])
            #expect(r.status == .exited(125))
            #expect(r.stderr.contains("linux.uidMappings[0]: host uids 7000000-7000099 are not delegated to user \(RootlessUser.name)")
                && r.stderr.contains("/etc/subuid") && r.stderr.contains("\(RootlessUser.subordinateStart)-"), "\(r.stderr)")

            let limited = try user.bundle("limit", ["/bin/true"]) { spec in
                spec.linux?.resources = .init(memory: .init(limit: 64 << 20))
            }
            r = try user.helper(["run", user.stateRoot, "limit", limited])
            #expect(r.status == .exited(125))
            #expect(r.stderr.contains("linux.resources.memory: a rootless container") && r.stderr.contains("/sys/fs/cgroup/memory/"), "\(r.stderr)")

            let noUserns = try user.bundle("nouserns", ["/bin/true"]) { spec in
                let kept = spec.linux?.namespaces?.filter { $0.type != .user }
                spec.linux?.namespaces = kept
            }
            r = try user.helper(["run", user.stateRoot, "nouserns", noUserns])
            #expect(r.status == .exited(125))
            #expect(r.stderr.contains("linux.namespaces: a rootless container (runtime uid \(user.uid)) needs a user namespace"), "\(r.stderr)")

            let devpts = try user.bundle("devpts", ["/bin/true"]) { spec in
                spec.mounts = spec.mounts?.map { $0.destination == "/dev/pts" ? .init(destination: "/dev/pts", type: "devpts", source: "devpts", options: ["newinstance", "gid=5"]) : $0 }
            }
            r = try user.helper(["run", user.stateRoot, "devpts", devpts])
            #expect(r.status == .exited(125))
            #expect(r.stderr.contains("gid=5") && r.stderr.contains("linux.gidMappings"), "\(r.stderr)")
        }
    }

    @Test("rootless: a delegated cgroup is used (limits applied, container joined), the rest skipped, all removed on delete")
    func rootlessDelegatedCgroup() async throws {
        try await withRootlessUser { user, env in
            let delegated = try Delegation(user: user, controllers: ["memory", "pids"])
            defer { delegated.remove() }
            let bundle = try user.bundle("deleg", ["/bin/sh", "-c",
                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; grep -E ':(memory|pids|cpu):' /proc/self/cgroup | sort"]) { spec in
                spec.linux?.cgroupsPath = "/\(delegated.name)/ctr"
                spec.linux?.resources = .init(memory: .init(limit: 64 << 20), pids: .init(limit: 50))
            }
            let r = try user.helper(["run", user.stateRoot, "deleg", bundle])
            #expect(r.status == .exited(0), "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.prefix(2) == ["67108864", "50"], "\(r.stdout)")
            // Joined where delegated; left in its user's cgroup (/) where not.
            #expect(lines.contains { $0.hasSuffix(":memory:/\(delegated.name)/ctr") } && lines.contains { $0.hasSuffix(":pids:/\(delegated.name)/ctr") },
                    "\(r.stdout)")
            #expect(lines.contains { $0.hasSuffix(":cpu:/") }, "\(r.stdout)")
            for controller in delegated.controllers {
                #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(controller)/\(delegated.name)/ctr"))
            }
        }
    }

    @Test("rootless: an overlay rootfs mounted in the container's user namespace (userxattr); nothing mounted on the host")
    func rootlessOverlay() async throws {
        try await withRootlessUser { user, env in
            let bundle = try user.bundle("overlay", ["/bin/sh", "-c",
                "echo made > /new; rm /etc/group; grep ' / ' /proc/self/mountinfo | grep -o 'overlay.*userxattr' | head -c 7; echo"]) { spec in
                spec.root?.readonly = false
            }
            // The busybox rootfs is the lower layer (the user's, as an image store of its
            // own would unpack it); upper and work are the user's too.
            let lower = bundle + "/rootfs"
            try chownTree(lower, uid: user.uid, gid: user.gid)
            let upper = user.home + "/upper", work = user.home + "/work", merged = user.home + "/merged"
            for path in [upper, work, merged] {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                chown(path, user.uid, user.gid)
            }
            var spec = try BusyboxBundle(path: bundle).spec()
            spec.root?.path = merged
            try BusyboxBundle(path: bundle).write(spec: spec)
            let r = try user.helper(["run", user.stateRoot, "overlay", bundle, upper, work, lower])
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect(r.stdout == "overlay\n", "\(r.stdout)")
            #expect((try? String(contentsOfFile: upper + "/new", encoding: .utf8)) == "made\n")
            var st = stat()
            #expect(lstat(upper + "/etc/group", &st) == 0 && st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0, "a whiteout in the upper dir")
            #expect(FileManager.default.fileExists(atPath: lower + "/etc/group"), "the lower layer is untouched")
            #expect(try FileManager.default.contentsOfDirectory(atPath: merged).isEmpty, "the host never saw the overlay")
            #expect(LeakCheck.mounts(containing: user.home).isEmpty)
        }
    }

    @Test("rootless: an image store of the user's own, prepared as userNamespaceOverlay and run in the container")
    func rootlessImageStore() async throws {
        try await withRootlessUser { user, env in
            let store = user.home + "/store"
            let source = try user.bundle("image", ["/bin/true"]) + "/rootfs"
            try chownTree(source, uid: user.uid, gid: user.gid)
            var r = try user.helper(["build-image", store, source, "busybox"])
            #expect(r.status == .exited(0), "\(r.stderr)")
            let bundle = try user.bundle("from-image", ["/bin/sh", "-c", "echo hi > /root/hi; cat /root/hi; id -u"]) { spec in
                spec.root?.readonly = false
            }
            r = try user.helper(["run-image", store, "busybox", "c1", user.stateRoot, "from-image", bundle])
            #expect(r.status == .exited(0), "\(r.stderr)")
            #expect(r.stdout == "hi\n0\n")
            // Unpacked by the user into its snapshot; the prepared rootfs is gone again.
            #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/containers").isEmpty)
            let snapshots = try FileManager.default.contentsOfDirectory(atPath: store + "/snapshots").filter { !$0.hasPrefix(".") }
            #expect(snapshots.count == 1)
            var st = stat()
            #expect(stat(store + "/snapshots/" + snapshots[0] + "/fs/bin/busybox", &st) == 0 && st.st_uid == user.uid)
            #expect(LeakCheck.mounts(containing: user.home).isEmpty)
        }
    }

    // MARK: SECURITY.md item 7

    /// 7. CVE-2023-25809: a rootless container gets no write access to host cgroups, even
    /// where the host's cgroups belong to its user (delegated) and reach the container
    /// through a read-write rbind of /sys, a read-write cgroup mount, and a bind of the
    /// delegated directory itself.
    @Test("SECURITY 7: a rootless container cannot write the user's delegated host cgroups")
    func rootlessCgroupEscape() async throws {
        try await withRootlessUser { user, env in
            let delegated = try Delegation(user: user, controllers: ["memory", "pids"])
            defer { delegated.remove() }
            let parent = "/sys/fs/cgroup/memory/\(delegated.name)"
            // The attack could work: the files belong to the container's root.
            var st = stat()
            try #require(stat(parent + "/cgroup.procs", &st) == 0 && st.st_uid == user.uid)
            let limitBefore = try String(contentsOfFile: parent + "/memory.limit_in_bytes", encoding: .utf8)
            let name = delegated.name
            let targets = ["/sys/fs/cgroup/memory/\(name)", "/sys/fs/cgroup/pids/\(name)", "/hostsys/fs/cgroup/memory/\(name)",
                           "/hostsys/fs/cgroup/pids/\(name)", "/deleg", "/cg/memory", "/cg/pids"].joined(separator: " ")
            let bundle = try user.bundle("attack", ["/bin/sh", "-c", """
                n=0; for d in \(targets); do test -f $d/cgroup.procs && n=$((n+1)); done; echo "reachable $n"
                for d in \(targets); do
                  mkdir $d/escape 2>/dev/null && echo "made $d/escape"
                  (echo $$ > $d/cgroup.procs) 2>/dev/null && echo "joined $d"
                  (echo 999999999 > $d/memory.limit_in_bytes) 2>/dev/null && echo "wrote $d/memory.limit_in_bytes"
                  (echo max > $d/pids.max) 2>/dev/null && echo "wrote $d/pids.max"
                done
                for f in $(find \(targets) -type f 2>/dev/null); do (: >> $f) 2>/dev/null && echo "writable $f"; done
                echo done
                """]) { spec in
                // Every way in, read-write: sysfs without a network namespace (bound from
                // the host), /sys rbind'ed again at /hostsys, a rw cgroup mount at /cg,
                // the delegated parent bound at /deleg.
                spec.mounts = spec.mounts?.compactMap { mount in
                    if mount.destination == "/sys" { return .init(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev"]) }
                    if mount.destination == "/sys/fs/cgroup" { return .init(destination: "/cg", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "rw"]) }
                    return mount
                }
                spec.mounts?.append(.init(destination: "/hostsys", type: "bind", source: "/sys", options: ["rbind", "rw"]))
                spec.mounts?.append(.init(destination: "/deleg", type: "bind", source: parent, options: ["bind", "rw"]))
                spec.linux?.cgroupsPath = "/\(delegated.name)/ctr"
                spec.linux?.resources = .init(memory: .init(limit: 64 << 20))
            }
            for target in ["cg", "hostsys", "deleg"] {
                try FileManager.default.createDirectory(atPath: bundle + "/rootfs/" + target, withIntermediateDirectories: true)
            }
            let r = try user.helper(["run", user.stateRoot, "attack", bundle])
            #expect(r.status == .exited(0), "\(r.stderr)")
            // All seven ways in exist in the container, and none of them writes.
            #expect(r.stdout == "reachable 7\ndone\n", "the container wrote host cgroups:\n\(r.stdout)")
            #expect(!FileManager.default.fileExists(atPath: parent + "/escape"))
            #expect(try String(contentsOfFile: parent + "/memory.limit_in_bytes", encoding: .utf8) == limitBefore)
            #expect(try String(contentsOfFile: parent + "/cgroup.procs", encoding: .utf8).isEmpty)
        }
    }
}

/// Cgroup directories handed to the test user the way systemd delegates: made by root,
/// then chowned (directory and files) to the user. Removed with anything left inside.
struct Delegation {
    let name: String
    let controllers: [String]

    init(user: RootlessUser, controllers: [String]) throws {
        name = "caisson-rootless-\(getpid())"
        self.controllers = controllers
        for controller in controllers {
            let path = "/sys/fs/cgroup/\(controller)/\(name)"
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw RootlessTestError("mkdir \(path): errno \(errno)") }
            chown(path, user.uid, user.gid)
            for file in try FileManager.default.contentsOfDirectory(atPath: path) { chown(path + "/" + file, user.uid, user.gid) }
        }
    }

    func remove() {
        // Depth first: whatever a failed run made inside goes too (cgroup files cannot be
        // unlinked, only directories removed).
        func removeTree(_ path: String) {
            var st = stat()
            for child in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            where lstat(path + "/" + child, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR {
                removeTree(path + "/" + child)
            }
            rmdir(path)
        }
        for controller in controllers { removeTree("/sys/fs/cgroup/\(controller)/\(name)") }
    }
}
