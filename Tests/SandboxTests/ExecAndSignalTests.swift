import Foundation
import OCISpec
import Sandbox
import TestSupport
import Testing

@Suite("Exec, signals, state across handles", .serialized, .timeLimit(.minutes(2)))
struct ExecAndSignalTests {
    @Test("exec joins the container's namespaces and cgroup with its own user and env")
    func exec() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("box", ["/bin/sleep", "1000"]) { $0.hostname = "box" }
            let container = try await env.runtime.create(id: "box", bundle: bundle.path)
            try await container.start()
            var process = RuntimeSpec.runcDefault().process!
            process.terminal = false
            process.args = ["/bin/sh", "-c", "echo $$; hostname; id -u; echo $WHO; pwd; cat /proc/self/cgroup | grep memory; ps -o pid | wc -l; exit 3"]
            process.env = ["PATH=/bin", "WHO=exec"]
            process.user = .init(uid: 1000, gid: 1000)
            process.cwd = "/tmp"
            let shell = try await container.exec(process, stdio: .pipes)
            let out = String(decoding: try await shell.io.standardOutput!.readAll(), as: UTF8.self)
            #expect(try await shell.wait() == .exited(3))
            let lines = out.split(separator: "\n").map(String.init)
            #expect(lines.count == 7, "\(out)")
            #expect(lines[0] != "1")
            #expect(Array(lines[1...4]) == ["box", "1000", "exec", "/tmp"])
            let containerCgroup = try String(contentsOfFile: "/proc/\(container.pid)/cgroup", encoding: .utf8)
                .split(separator: "\n").first { $0.contains("memory") }.map(String.init)
            #expect(lines[5] == containerCgroup)
            #expect(lines[6] == "5", "header, sleep, sh, ps and wc: \(out)")  // ps sees the container's processes
            try await container.delete(force: true)
        }
    }

    @Test("concurrent execs each get their own process's status (PID/CREATED order race)")
    func concurrentExecs() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("many", ["/bin/sleep", "1000"])
            let container = try await env.runtime.create(id: "many", bundle: bundle.path)
            try await container.start()
            var process = RuntimeSpec.runcDefault().process!
            process.terminal = false
            process.args = ["/bin/sh", "-c", "exit 5"]
            let exitFive = process
            let statuses = try await withThrowingTaskGroup(of: TerminationStatus.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await container.exec(exitFive).wait() }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.count == 40)
            #expect(statuses.allSatisfy { $0 == .exited(5) }, "\(statuses)")
            try await container.delete(force: true)
        }
    }

    @Test("exec with a terminal gets a pty of the container's devpts")
    func execTerminal() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("ttybox", ["/bin/sleep", "1000"])
            let container = try await env.runtime.create(id: "ttybox", bundle: bundle.path)
            try await container.start()
            var process = RuntimeSpec.runcDefault().process!
            process.terminal = true
            process.consoleSize = .init(height: 33, width: 99)
            process.args = ["/bin/sh", "-c", "tty; stty size"]
            let shell = try await container.exec(process)
            let terminal = try #require(shell.io.terminal)
            #expect(try await shell.wait() == .exited(0))
            let text = readTerminal(terminal)
            #expect(text == "/dev/pts/0\n33 99\n", "\(text)")
            try await container.delete(force: true)
        }
    }

    @Test("kill delivers one signal; wait reports it; kill --all reaches every process")
    func kill() async throws {
        try await withSandbox { env in
            // Without a pid namespace: sleep is not an init, so SIGTERM's default action applies.
            let bundle = try env.bundle("sleeper", ["/bin/sleep", "1000"]) { spec in
                spec.linux?.namespaces?.removeAll { $0.type == .pid }
            }
            let container = try await env.runtime.create(id: "sleeper", bundle: bundle.path)
            try await container.start()
            #expect(container.status() == .running)
            try container.kill(.term)
            #expect(try await container.wait() == .signaled(.term))
            #expect(container.status() == .stopped)
            #expect(throws: SandboxError.self) { try container.kill(.term) }
            try await container.delete()

            // Without a pid namespace, children survive their parent: --all reaches them.
            let shared = try env.bundle("family", ["/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait"]) { spec in
                spec.linux?.namespaces?.removeAll { $0.type == .pid }
            }
            let family = try await env.runtime.create(id: "family", bundle: shared.path)
            try await family.start()
            try await Task.sleep(for: .milliseconds(100))
            try family.kill(.kill, all: true)
            #expect(try await family.wait() == .signaled(.kill))
            try await family.delete()
        }
    }

    @Test("delete is refused while running, allowed for created and with force")
    func deleteRules() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("d", ["/bin/sleep", "1000"])
            let created = try await env.runtime.create(id: "d", bundle: bundle.path)
            try await created.delete()  // a created container may be deleted (its process is killed)
            let running = try await env.runtime.create(id: "d", bundle: bundle.path)
            try await running.start()
            await #expect { try await running.delete() } throws: { ($0 as? SandboxError)?.code == .invalidState }
            try await running.delete(force: true)
            #expect(throws: SandboxError.self) { try env.runtime.container(id: "d") }
        }
    }

    @Test("state, kill and delete from another handle (as another process would)")
    func otherHandle() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("shared", ["/bin/sleep", "1000"])
            let mine = try await env.runtime.create(id: "shared", bundle: bundle.path)
            let other = Runtime(stateRoot: env.paths.stateRoot)
            let theirs = try other.container(id: "shared")
            #expect(theirs.state().status == .created)
            #expect(theirs.state().pid == mine.pid)
            try await theirs.start()
            #expect(mine.status() == .running)
            try theirs.kill(.kill)  // an init ignores signals it has no handler for; not SIGKILL
            #expect(try await mine.wait() == .signaled(.kill))
            #expect(try other.list().map { $0.status } == [.stopped])
            try await theirs.delete()
        }
    }

    @Test("a failed create names what failed and leaves nothing behind")
    func failedCreate() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("missing", ["/bin/does-not-exist"])
            await #expect {
                _ = try await env.runtime.create(id: "missing", bundle: bundle.path)
            } throws: { error in
                let text = "\(error)"
                return text.contains("does-not-exist") && text.contains("ENOENT")
            }
            #expect(!FileManager.default.fileExists(atPath: env.paths.stateRoot + "/missing"))
            #expect(LeakCheck.cgroups(named: "missing").isEmpty)
            let bad = try env.bundle("badmount", ["/bin/true"]) { spec in
                spec.mounts?.append(.init(destination: "/x", type: "nosuchfs", source: "none"))
            }
            await #expect {
                _ = try await env.runtime.create(id: "badmount", bundle: bad.path)
            } throws: { "\($0)".contains("mount /x (nosuchfs)") }
            #expect(LeakCheck.cgroups(named: "badmount").isEmpty)
        }
    }

    @Test("duplicate ids, bad ids and double start are refused")
    func refusals() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("dup", ["/bin/sleep", "1000"])
            let first = try await env.runtime.create(id: "dup", bundle: bundle.path)
            await #expect { _ = try await env.runtime.create(id: "dup", bundle: bundle.path) } throws: {
                ($0 as? SandboxError)?.code == .alreadyExists
            }
            await #expect { _ = try await env.runtime.create(id: "../evil", bundle: bundle.path) } throws: {
                ($0 as? SandboxError)?.code == .invalidSpec
            }
            try await first.start()
            await #expect { try await first.start() } throws: { ($0 as? SandboxError)?.code == .invalidState }
            try await first.delete(force: true)
        }
    }
}
