import Foundation
import OCISpec
import Testing
import TestSupport

/// pause, resume, update, events and the runc log file, through the built binary.
@Suite("caisson CLI: control", .enabled(if: geteuid() == 0, "runs containers: needs root"))
struct ControlCLITests {
    private func status(_ id: String, _ cli: CaissonCLI) async throws -> String {
        try LifecycleCLITests.field("status", of: try await cli.ok(["state", id]).stdout)
    }

    @Test("pause and resume: state says paused, errors name the container")
    func pauseResume() async throws {
        try await withCLI { cli in
            let id = cli.id("pause")
            try await cli.create(id, bundle: try cli.bundle("pause", ["/bin/sleep", "1000"]))
            let early = try await cli.run(["pause", id])
            #expect(early.status == 1 && early.stderr.contains(id) && early.stderr.contains("created"), "\(early)")
            try await cli.ok(["start", id])
            try await cli.ok(["pause", id])
            #expect(try await status(id, cli) == "paused")
            let list = try await cli.ok(["list"])
            #expect(list.stdout.contains("paused"), "\(list)")
            try await cli.ok(["resume", id])
            #expect(try await status(id, cli) == "running")
            let again = try await cli.run(["resume", id])
            #expect(again.status == 1 && again.stderr.contains("not paused"), "\(again)")
            try await cli.ok(["pause", id])
            try await cli.ok(["delete", "--force", id])
            let missing = try await cli.run(["pause", id])
            #expect(missing.status == 1 && missing.stderr.contains(id), "\(missing)")
        }
    }

    @Test("update from flags and from a resources file; bad values name the flag")
    func update() async throws {
        try await withCLI { cli in
            let id = cli.id("update")
            try await cli.create(id, bundle: try cli.bundle("update", ["/bin/sleep", "1000"]))
            try await cli.ok(["start", id])
            try await cli.ok(["update", "--memory", "96m", "--pids-limit", "9", "--cpu-quota", "30000", "--cpu-period", "100000", id])
            #expect(try String(contentsOfFile: "/sys/fs/cgroup/memory/caisson-\(id)/memory.limit_in_bytes", encoding: .utf8) == "\(96 << 20)\n")
            #expect(try String(contentsOfFile: "/sys/fs/cgroup/pids/caisson-\(id)/pids.max", encoding: .utf8) == "9\n")
            #expect(try String(contentsOfFile: "/sys/fs/cgroup/cpu/caisson-\(id)/cpu.cfs_quota_us", encoding: .utf8) == "30000\n")

            let file = cli.directory + "/resources.json"
            try #"{"pids":{"limit":11},"cpu":{"shares":256}}"#.write(toFile: file, atomically: true, encoding: .utf8)
            try await cli.ok(["update", "--resources", file, id])
            #expect(try String(contentsOfFile: "/sys/fs/cgroup/pids/caisson-\(id)/pids.max", encoding: .utf8) == "11\n")
            #expect(try String(contentsOfFile: "/sys/fs/cgroup/cpu/caisson-\(id)/cpu.shares", encoding: .utf8) == "256\n")

            let bad = try await cli.run(["update", "--memory", "lots", id])
            #expect(bad.status != 0 && bad.stderr.contains("--memory"), "\(bad)")
            let badFile = try await cli.run(["update", "--resources", cli.directory + "/missing.json", id])
            #expect(badFile.status != 0 && badFile.stderr.contains("missing.json"), "\(badFile)")
            try await cli.ok(["delete", "--force", id])
        }
    }

    @Test("events --stats prints runc's stats envelope; events streams until the container stops")
    func events() async throws {
        try await withCLI { cli in
            let id = cli.id("events")
            try await cli.create(id, bundle: try cli.bundle("events", ["/bin/sleep", "1000"]))
            try await cli.ok(["start", id])
            let once = try await cli.ok(["events", "--stats", id])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(once.stdout.utf8)) as? [String: Any])
            #expect(object["type"] as? String == "stats" && object["id"] as? String == id)
            let data = try #require(object["data"] as? [String: Any])
            let pids = try #require(data["pids"] as? [String: Any])
            #expect((pids["current"] as? Int ?? 0) >= 1)
            #expect(((data["cpu"] as? [String: Any])?["usage"] as? [String: Any])?["total"] != nil)

            let stream = try cli.spawn(["events", "--interval", "100ms", id])
            try await Task.sleep(for: .milliseconds(450))
            try await cli.ok(["kill", id, "KILL"])
            let result = await stream.wait(timeout: 30)
            #expect(result.status == 0, "\(result)")
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.count >= 2, "\(result)")
            #expect(lines.allSatisfy { $0.hasPrefix("{\"data\":") && $0.contains("\"type\":\"stats\"") }, "\(result)")
            _ = try await LifecycleCLITests.waitForStatus("stopped", id: id, cli: cli)
            try await cli.ok(["delete", id])
        }
    }

    @Test("the hand-parsed hot commands answer exactly as the ArgumentParser path does")
    func fastPathMatchesArgumentParser() async throws {
        try await withCLI { cli in
            let id = cli.id("fast")
            let bundle = try cli.bundle("fast", ["/bin/sleep", "1000"])
            try await cli.create(id, bundle: bundle)
            /// Runs the CLI with or without CAISSON_NO_FAST_PATH; returns (status, stdout, stderr).
            func both(_ arguments: [String]) throws -> [String] {
                try [false, true].map { slow in
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: cli.binary)
                    process.arguments = ["--root", cli.root] + arguments
                    var environment = ProcessInfo.processInfo.environment
                    if slow { environment["CAISSON_NO_FAST_PATH"] = "1" } else { environment["CAISSON_NO_FAST_PATH"] = nil }
                    process.environment = environment
                    let out = Pipe(), err = Pipe()
                    process.standardOutput = out
                    process.standardError = err
                    try process.run()
                    let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    process.waitUntilExit()
                    return "\(process.terminationStatus)|\(stdout)|\(stderr)"
                }
            }
            for arguments in [["state", id], ["state", "missing-" + id], ["kill", id, "NOSUCHSIGNAL"], ["kill", "-a", "missing-" + id],
                              ["delete", id + "-missing"], ["delete", "--force", id + "-missing"], ["start", "missing-" + id],
                              ["create", "--bundle=" + bundle.path, "--preserve-fds", "0", id]] {
                let results = try both(arguments)
                #expect(results[0] == results[1], "\(arguments): fast \(results[0]) vs ArgumentParser \(results[1])")
            }
            // Forms the fast path does not take still work (through ArgumentParser).
            let help = try await cli.run(["kill", "--help"])
            #expect(help.status == 0 && help.stdout.contains("USAGE"), "\(help)")
            let unknown = try await cli.run(["kill", "--bogus", id])
            #expect(unknown.status != 0 && unknown.stderr.contains("--bogus"), "\(unknown)")
            try await cli.ok(["delete", "--force", id])
        }
    }

    @Test("--log with --log-format json gets containerd's error line; --systemd-cgroup is refused")
    func logFile() async throws {
        try await withCLI { cli in
            let log = cli.directory + "/runtime.log"
            let result = try await cli.run(["--log", log, "--log-format", "json", "start", "no-such-container"], root: true)
            #expect(result.status == 1)
            let last = try #require(try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").last)
            let entry = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: String])
            #expect(entry["level"] == "error")
            #expect(entry["msg"]?.contains("no-such-container") == true, "\(entry)")
            #expect(entry["time"] != nil)

            let text = cli.directory + "/text.log"
            _ = try await cli.run(["--log", text, "state", "no-such-container"])
            #expect(try String(contentsOfFile: text, encoding: .utf8).contains("level=error msg=\"container \\\"no-such-container\\\""))

            let systemd = try await cli.run(["--systemd-cgroup", "list"])
            #expect(systemd.status != 0 && systemd.stderr.contains("--systemd-cgroup"), "\(systemd)")
            let format = try await cli.run(["--log-format", "xml", "list"])
            #expect(format.status != 0 && format.stderr.contains("--log-format"), "\(format)")
        }
    }
}
