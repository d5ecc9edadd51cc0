import Foundation
import Testing
import TestSupport

/// `caisson run IMAGE`, `ps`, `logs`, `stop`, `rm`: containers made from images through the
/// CLI, on an image copied into a private store by skopeo (umoci-built busybox: entrypoint
/// /bin/busybox, so the command is an applet).
@Suite("caisson CLI: run IMAGE, ps, logs, stop, rm", .serialized, .enabled(if: geteuid() == 0, "runs containers: needs root"))
struct ImageRunCLITests {
    /// A store under the test directory holding `localhost/bb:latest`.
    private func store(_ cli: CaissonCLI) async throws -> String {
        let fixture = try BusyboxImageFixture.build(in: cli.directory + "/fixture")
        let store = cli.directory + "/store"
        let copy = try await cli.runProgram("/usr/bin/skopeo", ["copy", "-q", "oci:\(fixture.skopeoLayout):\(BusyboxImageFixture.tag)",
                                                                "oci:\(store):localhost/bb:latest"])
        try #require(copy.status == 0, "\(copy)")
        return store
    }

    private func ids(_ cli: CaissonCLI, _ store: String) async throws -> [String] {
        try await cli.ok(["ps", "--store", store, "-q"]).stdout.split(separator: "\n").map(String.init)
    }

    @Test("run in the foreground, --rm, -e, exit status; -d with logs, ps, stop, rm; -it; errors")
    func everyday() async throws {
        try await withCLI { cli in
            let store = try await store(cli)
            defer {
                #expect(LeakCheck.mounts(containing: store).isEmpty, "mounts left: \(LeakCheck.mounts(containing: store))")
            }
            do {
                let plain = try await cli.run(["run", "--store", store, "localhost/bb:latest", "sh", "-c", "echo hi; exit 3"])
                #expect(plain.status == 3 && plain.stdout == "hi\n", "\(plain)")
                let kept = try await ids(cli, store)
                #expect(kept.count == 1, "without --rm the container stays: \(kept)")
                try await cli.ok(["rm", "--store", store] + kept)

                let removed = try await cli.run(["run", "--store", store, "--rm", "-e", "X=from-flag", "localhost/bb", "sh", "-c", "echo $X"])
                #expect(removed.status == 0 && removed.stdout == "from-flag\n", "\(removed)")
                #expect(try await ids(cli, store).isEmpty)

                let name = cli.id("web")
                let detached = try await cli.ok(["run", "--store", store, "-d", "--name", name, "--memory", "64m",
                                                 "localhost/bb", "sh", "-c", "echo started; sleep 1000"])
                #expect(detached.stdout == name + "\n", "\(detached)")
                let pid = Int32(try LifecycleCLITests.field("pid", of: try await cli.ok(["state", name]).stdout)) ?? 0
                Orphans.adopt(pid)  // its CLI has exited: the process is ours (subreaper)
                var logs = ""
                for _ in 0..<100 where !logs.contains("started") {
                    logs = try await cli.run(["logs", "--store", store, name]).stdout
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(logs == "started\n")
                let table = try await cli.ok(["ps", "--store", store]).stdout
                #expect(table.contains(name) && table.contains("running") && table.contains("localhost/bb:latest"), "\(table)")
                #expect(try String(contentsOfFile: "/sys/fs/cgroup/memory/caisson-\(name)/memory.limit_in_bytes", encoding: .utf8) == "\(64 << 20)\n")
                try await cli.ok(["stop", "--store", store, "-t", "1", name])
                #expect(try await cli.ok(["ps", "--store", store]).stdout.contains("stopped"))
                try await cli.ok(["rm", "--store", store, name])
                #expect(try await ids(cli, store).isEmpty)
                #expect(!FileManager.default.fileExists(atPath: store + "/logs/\(name).log"))

                // Without --name the id is generated, and the log file is named by it.
                let anonymous = try await cli.ok(["run", "--store", store, "-d", "localhost/bb", "sh", "-c", "echo anonymous; sleep 1000"])
                let anonymousID = anonymous.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(anonymousID.count == 16, "\(anonymous)")
                Orphans.adopt(Int32(try LifecycleCLITests.field("pid", of: try await cli.ok(["state", anonymousID]).stdout)) ?? 0)
                var anonymousLogs = ""
                for _ in 0..<100 where anonymousLogs.isEmpty {
                    anonymousLogs = try await cli.run(["logs", "--store", store, anonymousID]).stdout
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(anonymousLogs == "anonymous\n")
                try await cli.ok(["rm", "--store", store, "-f", anonymousID])

                let command = "\(cli.binary) --root \(cli.root) run --store \(store) --rm -it localhost/bb sh -c 'tty; echo in-a-tty'"
                let tty = try await cli.runProgram("/usr/bin/script", ["-qec", command, "/dev/null"])
                let output = tty.stdout.replacingOccurrences(of: "\r", with: "")
                #expect(tty.status == 0 && output.contains("/dev/pts/0\n") && output.contains("in-a-tty\n"), "\(tty)")

                let missing = try await cli.run(["run", "--store", store, "localhost/nothing:here", "true"])
                #expect(missing.status == 1 && missing.stderr.contains("localhost/nothing:here"), "\(missing)")
                let both = try await cli.run(["run", "--store", store, "-d", "--rm", "localhost/bb", "true"])
                #expect(both.status == 1 && both.stderr.contains("--rm"), "\(both)")
            } catch {
                for id in (try? await ids(cli, store)) ?? [] { _ = try? await cli.run(["rm", "--store", store, "-f", id]) }
                throw error
            }
        }
    }

    @Test("slirp4netns; network create, ls, run on a bridge, prune after a container deleted behind the engine's back, rm")
    func networks() async throws {
        try await withCLI { cli in
            let store = try await store(cli)
            let name = "clinet"
            defer {
                #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/cstest8"), "bridge left behind")
                #expect(LeakCheck.mounts(containing: store).isEmpty, "mounts left: \(LeakCheck.mounts(containing: store))")
            }
            // slirp4netns, connected during create through the namespace's descriptor.
            let slirp = try await cli.ok(["run", "--store", store, "--rm", "--network", "slirp4netns", "localhost/bb",
                                          "ip", "-4", "addr", "show", "tap0"])
            #expect(slirp.stdout.contains("inet 10.0.2.100/24"), "\(slirp)")
            try await cli.ok(["network", "--store", store, "create", "--subnet", "10.213.8.0/24", "--bridge", "cstest8", name])
            do {
                #expect(try await cli.ok(["network", "--store", store, "ls"]).stdout.contains("cstest8"))
                let addr = try await cli.ok(["run", "--store", store, "--rm", "--network", "bridge:\(name)", "localhost/bb",
                                             "ip", "-4", "addr", "show", "eth0"])
                #expect(addr.stdout.contains("inet 10.213.8.2/24"), "\(addr)")

                // A container removed with runc's delete keeps its address until prune.
                let id = cli.id("netsleeper")
                try await cli.ok(["run", "--store", store, "-d", "--name", id, "--network", "bridge:\(name)", "localhost/bb", "sleep", "1000"])
                let pid = Int32(try LifecycleCLITests.field("pid", of: try await cli.ok(["state", id]).stdout)) ?? 0
                Orphans.adopt(pid)
                #expect(try await cli.ok(["network", "--store", store, "check", id]).stdout == "\(id): ok\n")
                try await cli.ok(["delete", "--force", id])
                let pruned = try await cli.ok(["network", "--store", store, "prune"])
                #expect(pruned.stdout.contains("released container \(id)"), "\(pruned)")
                #expect(try await cli.ok(["network", "--store", store, "prune"]).stdout == "nothing to prune\n")
                let unattached = try await cli.run(["network", "--store", store, "check", id])
                #expect(unattached.status != 0 && unattached.stderr.contains(id), "\(unattached)")
                try await cli.ok(["rm", "--store", store, "-f", id])

                let bad = try await cli.run(["network", "--store", store, "create", "--subnet", "10.213.8.0/99", "other"])
                #expect(bad.status != 0 && bad.stderr.contains("10.213.8.0/99"), "\(bad)")
            } catch {
                _ = try? await cli.run(["network", "--store", store, "rm", name])
                throw error
            }
            try await cli.ok(["network", "--store", store, "rm", name])
            #expect(!(try await cli.ok(["network", "--store", store, "ls"]).stdout.contains(name)))
            let missing = try await cli.run(["network", "--store", store, "rm", name])
            #expect(missing.status != 0 && missing.stderr.contains(name), "\(missing)")
        }
    }
}
