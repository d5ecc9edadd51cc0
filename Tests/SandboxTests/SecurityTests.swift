import Foundation
import OCISpec
import Sandbox
import TestSupport
import Testing

/// SECURITY.md items 1–6: each test attempts the attack for real.
@Suite("Security: runc CVE classes", .serialized, .timeLimit(.minutes(2)))
struct SecurityTests {
    /// 1. CVE-2019-5736: a process in the container cannot open or read the executable of
    /// the process that sets up a container (here: the test binary itself), caught while
    /// that process waits in `created` inside the attacker's pid namespace.
    @Test("1: the setup process's /proc/<pid>/exe is out of reach")
    func hostBinary() async throws {
        try await withSandbox { env in
            let attacker = try env.bundle("attacker", ["/bin/sleep", "1000"])
            let a = try await env.runtime.create(id: "attacker", bundle: attacker.path)
            try await a.start()
            // The victim joins the attacker's pid namespace and stops before execve,
            // still running this test binary's code.
            let victim = try env.bundle("victim", ["/bin/true"]) { spec in
                let namespaces = spec.linux?.namespaces ?? []
                spec.linux?.namespaces = namespaces.map { $0.type == .pid ? .init(type: .pid, path: "/proc/\(a.pid)/ns/pid") : $0 }
            }
            let b = try await env.runtime.create(id: "victim", bundle: victim.path)
            #expect(b.status() == .created)
            var attack = RuntimeSpec.runcDefault().process!
            attack.terminal = false
            attack.args = ["/bin/sh", "-c", """
                for p in /proc/[0-9]*; do
                  exe=$(readlink $p/exe 2>/dev/null) && echo "readlink $p $exe"
                  cat $p/exe > /dev/null 2>&1 && echo "read $p"
                  (echo x >> $p/exe) 2>/dev/null && echo "wrote $p"
                done; echo done
                """]
            let shell = try await a.exec(attack, stdio: .pipes)
            let out = String(decoding: try await shell.io.standardOutput!.readAll(), as: UTF8.self)
            #expect(try await shell.wait() == .exited(0))
            #expect(out.hasSuffix("done\n"))
            // Only busybox (the attacker's own processes) may show up.
            for line in out.split(separator: "\n") where line != "done" {
                #expect(line.hasPrefix("readlink") && line.hasSuffix("/bin/busybox") || line.hasPrefix("read /proc/") && !line.contains("wrote"),
                        "the setup process was reachable: \(line)")
            }
            let victimPidInside = out.split(separator: "\n").count  // sanity: the loop ran
            #expect(victimPidInside >= 1)
            let selfExe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            #expect(!out.contains(selfExe))
            try await b.delete(force: true)
            try await a.delete(force: true)
        }
    }

    /// 2. CVE-2024-21626: host fds never reach the container, and a cwd through a leaked
    /// fd (/proc/self/fd/N) cannot escape.
    @Test("2: host fds do not leak; cwd cannot go through a leaked fd")
    func leakedFDs() async throws {
        try await withSandbox { env in
            // A host directory fd without O_CLOEXEC, at a recognisable number.
            let raw = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY)
            try #require(raw >= 0)
            let leaked = dup2(raw, 77)
            close(raw)
            defer { close(leaked) }
            let r = try await env.sh("ls /proc/self/fd | tr '\\n' ' '")
            #expect(r.stdout == "0 1 2 3 ", "fds visible in the container: \(r.stdout)")

            let escape = try env.bundle("escape", ["/bin/pwd"]) { $0.process?.cwd = "/proc/self/fd/77" }
            await #expect {
                _ = try await env.runtime.create(id: "escape", bundle: escape.path)
            } throws: { error in
                "\(error)".contains("process.cwd")
            }
            let dotdot = try await env.run(["/bin/pwd"], id: "dotdot") { $0.process?.cwd = "/../../../../.." }
            #expect(dotdot.stdout == "/\n")
        }
    }

    /// 3. CVE-2021-30465 / CVE-2023-27561: mount targets resolve inside the rootfs; /proc
    /// and /sys targets must not be symlinks.
    @Test("3: mount targets never leave the rootfs; /proc must not be a symlink")
    func mountTargets() async throws {
        try await withSandbox { env in
            let outside = env.directory + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            let bundle = try env.bundle("mnt", ["/bin/sh", "-c", "touch /escape/pwned /escape2/pwned && echo ok"]) { spec in
                spec.mounts?.append(.init(destination: "/escape", type: "tmpfs", source: "tmpfs"))
                spec.mounts?.append(.init(destination: "/escape2/sub", type: "tmpfs", source: "tmpfs"))
            }
            try FileManager.default.createSymbolicLink(atPath: bundle.rootfs + "/escape", withDestinationPath: outside)
            try FileManager.default.createSymbolicLink(atPath: bundle.rootfs + "/escape2", withDestinationPath: "../../../../../../../../" + outside)
            let r = try await env.run(["/bin/sh", "-c", "touch /escape/pwned /escape2/sub/pwned && echo ok"], id: "mnt") { spec in
                spec.mounts?.append(.init(destination: "/escape", type: "tmpfs", source: "tmpfs"))
                spec.mounts?.append(.init(destination: "/escape2/sub", type: "tmpfs", source: "tmpfs"))
            }
            #expect(r.stdout == "ok\n", "\(r.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "something was created on the host")
            #expect(LeakCheck.mounts(containing: outside).isEmpty)

            let procLink = try env.bundle("proclink", ["/bin/true"])
            try FileManager.default.removeItem(atPath: procLink.rootfs + "/proc")
            try FileManager.default.createSymbolicLink(atPath: procLink.rootfs + "/proc", withDestinationPath: "/tmp")
            await #expect {
                _ = try await env.runtime.create(id: "proclink", bundle: procLink.path)
            } throws: { error in
                "\(error)".contains("/proc") && "\(error)".contains("ELOOP")
            }
        }
    }

    /// 4. CVE-2025-31133: what masks a path is the real null device, even when the image
    /// plants its own /dev/null (here: a link to a file the attacker wants exposed).
    @Test("4: masked paths get the real /dev/null")
    func maskedPaths() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("mask", ["/bin/true"]) { spec in
                spec.mounts?.removeAll { $0.destination == "/dev" }
            }
            try FileManager.default.createSymbolicLink(atPath: bundle.rootfs + "/dev/null", withDestinationPath: "/etc/passwd")
            let r = try await env.run(["/bin/sh", "-c", "stat -c '%F %t:%T' /proc/keys /dev/null; wc -c < /proc/keys"], id: "mask") { spec in
                spec.mounts?.removeAll { $0.destination == "/dev" }
            }
            #expect(r.stdout == "character special file 1:3\ncharacter special file 1:3\n0\n", "\(r.stdout) \(r.stderr)")
        }
    }

    /// 5. CVE-2025-52565: /dev/console is the pty peer from TIOCGPTPEER, mounted by fd,
    /// never a path the image controls.
    @Test("5: /dev/console is the container's own pty")
    func console() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("tty", ["/bin/sh", "-c", "stat -c '%t' /dev/console; tty; grep ' /dev/console ' /proc/self/mountinfo | grep -c devpts"]) { spec in
                spec.process?.terminal = true
                spec.process?.consoleSize = .init(height: 30, width: 100)
            }
            // The image plants a console that points at a host file.
            try FileManager.default.createSymbolicLink(atPath: bundle.rootfs + "/dev/console", withDestinationPath: "/etc/shadow")
            let container = try await env.runtime.create(id: "tty", bundle: bundle.path)
            let terminal = try #require(container.io.terminal)
            try await container.start()
            #expect(try await container.wait() == .exited(0))
            let text = readTerminal(terminal)
            #expect(text == "88\n/dev/pts/0\n1\n", "console output: \(text)")
            try await container.delete()
        }
    }

    /// 6. CVE-2024-45310: the runtime never creates files on the host through a path the
    /// container controls (mount targets, cwd).
    @Test("6: no host-side writes through container symlinks")
    func hostSideWrites() async throws {
        try await withSandbox { env in
            let outside = env.directory + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            let shared = env.directory + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            let configure: (inout RuntimeSpec) -> Void = { spec in
                spec.mounts?.append(.init(destination: "/data/sub/dir", type: "bind", source: shared, options: ["bind"]))
                spec.process?.cwd = "/data/work"
            }
            let bundle = try env.bundle("hostwrite", ["/bin/pwd"], configure: configure)
            try FileManager.default.createSymbolicLink(atPath: bundle.rootfs + "/data", withDestinationPath: outside)
            let r = try await env.run(["/bin/pwd"], id: "hostwrite", configure: configure)
            #expect(r.status == .exited(0), "\(r.stderr)")
            let created = try FileManager.default.contentsOfDirectory(atPath: outside)
            #expect(created.isEmpty, "created on the host: \(created)")
        }
    }
}
