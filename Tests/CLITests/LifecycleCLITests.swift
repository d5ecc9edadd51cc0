import Foundation
import OCISpec
import Testing
import TestSupport

/// The runtime commands through the built `caisson` binary, each step a separate process,
/// as an engine drives runc.
@Suite("caisson CLI: lifecycle", .enabled(if: geteuid() == 0, "runs containers: needs root"))
struct LifecycleCLITests {
    @Test("spec writes runc's default config.json and refuses to overwrite it")
    func spec() async throws {
        try await withCLI { cli in
            let bundle = cli.directory + "/spec-bundle"
            try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
            try await cli.ok(["spec", "--bundle", bundle])
            let spec = try OCIJSON.decode(RuntimeSpec.self, from: Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json")))
            #expect(spec == RuntimeSpec.runcDefault())
            let again = try await cli.run(["spec", "--bundle", bundle])
            #expect(again.status != 0)
            #expect(again.stderr.contains("exists"), "\(again)")
        }
    }

    @Test("create, state, start, kill, state, delete: one CLI process per step")
    func lifecycle() async throws {
        try await withCLI { cli in
            let id = cli.id("life")
            let bundle = try cli.bundle("life", ["/bin/sleep", "1000"])
            let pid = try await cli.create(id, bundle: bundle)

            // runc's exact bytes: MarshalIndent with two spaces, runc's key order, no newline.
            let created = try await cli.ok(["state", id])
            let createdTime = try Self.field("created", of: created.stdout)
            #expect(created.stdout == """
                {
                  "ociVersion": "\(RuntimeSpec.runcDefault().ociVersion)",
                  "id": "\(id)",
                  "pid": \(pid),
                  "status": "created",
                  "bundle": "\(bundle.path)",
                  "rootfs": "\(bundle.rootfs)",
                  "created": "\(createdTime)",
                  "owner": ""
                }
                """)
            #expect(createdTime.hasSuffix("Z") && !createdTime.contains(".000") && createdTime.count >= 20)

            try await cli.ok(["start", id])
            #expect(try Self.field("status", of: try await cli.ok(["state", id]).stdout) == "running")
            let startAgain = try await cli.run(["start", id])
            #expect(startAgain.status == 1 && startAgain.stderr.contains(id), "\(startAgain)")
            let deleteRunning = try await cli.run(["delete", id])
            #expect(deleteRunning.status == 1 && deleteRunning.stderr.contains("running"), "\(deleteRunning)")

            try await cli.ok(["kill", id, "KILL"])
            let stopped = try await Self.waitForStatus("stopped", id: id, cli: cli)
            #expect(try Self.field("pid", of: stopped) == "0")

            try await cli.ok(["delete", id])  // a stopped container deletes without --force
            let gone = try await cli.run(["state", id])
            #expect(gone.status == 1)
            #expect(gone.stderr.contains("container \"\(id)\" does not exist"), "\(gone)")
            #expect(gone.stdout.isEmpty)
        }
    }

    @Test("kill takes signal names and numbers; --all reaches every process")
    func kill() async throws {
        try await withCLI { cli in
            let id = cli.id("kill")
            let bundle = try cli.bundle("kill", ["/bin/sh", "-c", "trap 'exit 42' USR1; sleep 1000 & wait"])
            try await cli.create(id, bundle: bundle)
            try await cli.ok(["start", id])
            let bad = try await cli.run(["kill", id, "SIGNOPE"])
            #expect(bad.status == 1 && bad.stderr.contains("SIGNOPE"), "\(bad)")
            try await cli.ok(["kill", id, "10"])  // SIGUSR1: the trap runs
            _ = try await Self.waitForStatus("stopped", id: id, cli: cli)
            let late = try await cli.run(["kill", id])
            #expect(late.status == 1, "\(late)")
            try await cli.ok(["delete", id])

            let all = cli.id("killall")
            try await cli.create(all, bundle: try cli.bundle("killall", ["/bin/sleep", "1000"]))
            try await cli.ok(["start", all])
            try await cli.ok(["exec", "--detach", "--pid-file", cli.directory + "/x.pid", all, "/bin/sleep", "1000"])
            let execPid = try CaissonCLI.readPid(cli.directory + "/x.pid")
            Orphans.adopt(execPid)
            try await cli.ok(["kill", "--all", all, "SIGKILL"])
            _ = try await Self.waitForStatus("stopped", id: all, cli: cli)
            #expect(await Orphans.waitUntilReaped([execPid]).isEmpty, "the exec'd process outlived kill --all")
            try await cli.ok(["delete", all])
        }
    }

    @Test("run exits with the container's status: its code, or 128 + the signal")
    func runExitCodes() async throws {
        try await withCLI { cli in
            let zero = try await cli.run(["run", "--bundle", try cli.bundle("ok", ["/bin/true"]).path, cli.id("ok")])
            #expect(zero.status == 0, "\(zero)")
            let three = try await cli.run(["run", "--bundle", try cli.bundle("three", ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]).path, cli.id("three")])
            #expect(three.status == 3, "\(three)")
            #expect(three.stdout == "out\n" && three.stderr == "err\n", "\(three)")

            // Killed from outside while `run` waits for it.
            let id = cli.id("killed")
            let running = try cli.spawn(["run", "--bundle", try cli.bundle("killed", ["/bin/sleep", "1000"]).path, id])
            do {
                _ = try await Self.waitForStatus("running", id: id, cli: cli)
            } catch {
                throw CLIError("\(error)\nrun: \(await running.wait(timeout: 5))")
            }
            try await cli.ok(["kill", id, "KILL"])
            let killed = await running.wait()
            #expect(killed.status == 128 + 9, "\(killed)")

            let missing = try await cli.run(["run", "--bundle", cli.directory + "/no-such-bundle", cli.id("nobundle")])
            #expect(missing.status == 1 && missing.stderr.contains("no-such-bundle"), "\(missing)")
            // run deletes what it created: nothing is listed afterwards.
            #expect(try await cli.ok(["list", "-q"]).stdout.isEmpty)
        }
    }

    @Test("unknown ids: every command names the container; delete --force succeeds")
    func unknownContainer() async throws {
        try await withCLI { cli in
            let id = cli.id("nope")
            for command in [["state", id], ["start", id], ["kill", id], ["delete", id], ["ps", id], ["exec", id, "/bin/true"]] {
                let result = try await cli.run(command)
                #expect(result.status == 1, "\(command): \(result)")
                #expect(result.stderr.contains("container \"\(id)\" does not exist"), "\(command): \(result)")
            }
            try await cli.ok(["delete", "--force", id])
            let invalid = try await cli.run(["state", "../escape"])
            #expect(invalid.status == 1 && invalid.stderr.contains("invalid"), "\(invalid)")
        }
    }

    // MARK: Helpers

    /// A top-level field of a JSON object printed by the CLI, as text.
    static func field(_ name: String, of json: String) throws -> String {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "not a JSON object: \(json)")
        let value = try #require(object[name], "no \(name) in \(json)")
        return "\(value)"
    }

    /// Polls `state` until the container reaches `status`; returns that state's output.
    static func waitForStatus(_ status: String, id: String, cli: CaissonCLI) async throws -> String {
        let deadline = Date().addingTimeInterval(30)
        while true {
            let state = try await cli.run(["state", id])
            if state.status == 0, (try? field("status", of: state.stdout)) == status { return state.stdout }
            guard Date() < deadline else {
                throw CLIError("\(id) never became \(status): \(state)\nprocesses: \(Orphans.describeChildren())")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
