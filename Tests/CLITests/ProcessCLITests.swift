import Foundation
import OCISpec
import Testing
import TestSupport

/// `exec`, `ps`, `list` and `features` through the built `caisson` binary.
@Suite("caisson CLI: exec, ps, list, features", .enabled(if: geteuid() == 0, "runs containers: needs root"))
struct ProcessCLITests {
    /// A started `sleep 1000` container.
    private func sleeper(_ cli: CaissonCLI, _ name: String) async throws -> (id: String, pid: pid_t, bundle: BusyboxBundle) {
        let id = cli.id(name)
        let bundle = try cli.bundle(name, ["/bin/sleep", "1000"])
        let pid = try await cli.create(id, bundle: bundle)
        try await cli.ok(["start", id])
        return (id, pid, bundle)
    }

    @Test("exec: the spec's process plus flags; exit status is the process's")
    func exec() async throws {
        try await withCLI { cli in
            let (id, _, _) = try await sleeper(cli, "exec")
            let env = try await cli.ok(["exec", "-e", "FOO=bar", "--env", "TERM=dumb", id, "/bin/env"])
            let lines = Set(env.stdout.split(separator: "\n").map(String.init))
            // The spec's environment (runc spec: PATH, TERM=xterm), a flag overriding TERM.
            #expect(lines.contains("FOO=bar") && lines.contains("TERM=dumb") && !lines.contains("TERM=xterm"), "\(env)")
            #expect(lines.contains { $0.hasPrefix("PATH=/usr/local/sbin") }, "\(env)")

            let who = try await cli.ok(["exec", "--user", "65534:65534", "--cwd", "/tmp", id, "/bin/sh", "-c", "id -u; id -g; pwd"])
            #expect(who.stdout == "65534\n65534\n/tmp\n", "\(who)")
            let uidOnly = try await cli.ok(["exec", "-u", "65534", id, "/bin/sh", "-c", "id -u; id -g"])
            #expect(uidOnly.stdout == "65534\n0\n", "\(uidOnly)")

            // Capabilities: runc's spec gives AUDIT_WRITE, KILL, NET_BIND_SERVICE; --cap adds.
            let plain = try await cli.ok(["exec", id, "/bin/grep", "CapEff", "/proc/self/status"])
            #expect(plain.stdout.contains("0000000020000420"), "\(plain)")
            let more = try await cli.ok(["exec", "--cap", "CAP_SYS_ADMIN", id, "/bin/grep", "CapEff", "/proc/self/status"])
            #expect(more.stdout.contains("0000000020200420"), "\(more)")

            // Dash-prefixed words after the id belong to the command, not to caisson.
            let dashes = try await cli.ok(["exec", id, "/bin/sh", "-c", "echo -n hi; exit 0"])
            #expect(dashes.stdout == "hi")

            let seven = try await cli.run(["exec", id, "/bin/sh", "-c", "echo out; echo err >&2; exit 7"])
            #expect(seven.status == 7 && seven.stdout == "out\n" && seven.stderr == "err\n", "\(seven)")
            let missing = try await cli.run(["exec", id, "/bin/no-such-program"])
            #expect(missing.status != 0 && missing.stderr.contains("no-such-program"), "\(missing)")

            // --process: a whole process.json, used as it is.
            var process = RuntimeSpec.runcDefault().process!
            process.terminal = false
            process.args = ["/bin/sh", "-c", "echo $FROM_FILE; exit 5"]
            process.env = ["FROM_FILE=yes"]
            let file = cli.directory + "/process.json"
            try OCIJSON.encode(process).write(to: URL(fileURLWithPath: file))
            let fromFile = try await cli.run(["exec", "--process", file, id])
            #expect(fromFile.status == 5 && fromFile.stdout == "yes\n", "\(fromFile)")

            let noCommand = try await cli.run(["exec", id])
            #expect(noCommand.status == 1 && noCommand.stderr.contains("command"), "\(noCommand)")
            // A foreground --tty relays the pty even when the CLI has no terminal itself.
            let tty = try await cli.run(["exec", "-t", id, "/bin/sh", "-c", "tty"])
            #expect(tty.status == 0 && tty.stdout.contains("/dev/pts/"), "\(tty)")
            let badUser = try await cli.run(["exec", "-u", "nobody", id, "/bin/true"])
            #expect(badUser.status == 1 && badUser.stderr.contains("uid"), "\(badUser)")
        }
    }

    @Test("exec --tty in the foreground relays the pty to the CLI's own terminal (runc's behaviour)")
    func execTTY() async throws {
        try await withCLI { cli in
            let (id, _, _) = try await sleeper(cli, "exectty")
            // `script` gives the CLI a terminal of its own; the process must see a pty, its
            // output must come back through the CLI, and its exit status too.
            let command = "\(cli.binary) --root \(cli.root) exec -t \(id) /bin/sh -c 'tty; echo relayed; exit 5'"
            let result = try await cli.runProgram("/usr/bin/script", ["-qec", command, "/dev/null"])
            let output = result.stdout.replacingOccurrences(of: "\r", with: "")
            #expect(result.status == 5, "\(result)")
            #expect(output.contains("/dev/pts/0\n"), "\(result)")
            #expect(output.contains("relayed\n"), "\(result)")
        }
    }

    @Test("exec: 128 + signal when the process is killed; signals to exec reach it")
    func execSignals() async throws {
        try await withCLI { cli in
            let (id, _, _) = try await sleeper(cli, "execsig")
            let selfKilled = try await cli.run(["exec", id, "/bin/sh", "-c", "kill -KILL $$"])
            #expect(selfKilled.status == 128 + 9, "\(selfKilled)")

            // SIGTERM to the CLI is passed on to the process (runc's signal proxy).
            let pidFile = cli.directory + "/fg.pid"
            let foreground = try cli.spawn(["exec", "--pid-file", pidFile, id, "/bin/sleep", "1000"])
            let deadline = Date().addingTimeInterval(30)
            while !FileManager.default.fileExists(atPath: pidFile) && Date() < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(100))  // the forwarder is installed right after the pid file
            foreground.signal(SIGTERM)
            let terminated = await foreground.wait(timeout: 30)
            #expect(terminated.status == 128 + 15, "\(terminated)")
        }
    }

    @Test("exec --detach, ps in json and table form")
    func execDetachAndPs() async throws {
        try await withCLI { cli in
            let (id, initPid, _) = try await sleeper(cli, "ps")
            let pidFile = cli.directory + "/exec.pid"
            let detached = try await cli.ok(["exec", "-d", "--pid-file", pidFile, id, "/bin/sleep", "999"])
            #expect(detached.stdout.isEmpty)
            let execPid = try CaissonCLI.readPid(pidFile)
            Orphans.adopt(execPid)

            // runc: json.NewEncoder(os.Stdout).Encode(pids)
            let json = try await cli.ok(["ps", "--format", "json", id])
            let pids = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [Int])
            #expect(Set(pids) == [Int(initPid), Int(execPid)], "\(json)")
            #expect(json.stdout == "[\(pids.map(String.init).joined(separator: ","))]\n")

            // Table: ps -ef's header, then exactly the container's lines.
            let table = try await cli.ok(["ps", id])
            let lines = table.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true).contains("PID") == true, "\(table)")
            #expect(lines.count == 3, "\(table)")
            #expect(lines.contains { $0.contains("sleep 1000") } && lines.contains { $0.contains("sleep 999") }, "\(table)")
            // Options after the id go to ps.
            let custom = try await cli.ok(["ps", id, "-o", "pid,comm"])
            #expect(custom.stdout.hasPrefix("    PID COMMAND\n") || custom.stdout.hasPrefix("  PID COMMAND\n"), "\(custom)")
            #expect(custom.stdout.contains("\(execPid) sleep"), "\(custom)")

            let bad = try await cli.run(["ps", "--format", "yaml", id])
            #expect(bad.status == 1 && bad.stderr.contains("invalid format"), "\(bad)")

            // delete --force takes the exec'd process down with the container.
            try await cli.ok(["delete", "--force", id])
            #expect(await Orphans.waitUntilReaped([initPid, execPid]).isEmpty)
        }
    }

    @Test("list: runc's table and json formats, -q")
    func list() async throws {
        try await withCLI { cli in
            let empty = try await cli.ok(["list"])
            #expect(empty.stdout == "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n")
            #expect(try await cli.ok(["list", "--format", "json"]).stdout == "null\n")

            let (running, runningPid, bundle) = try await sleeper(cli, "list-a")
            let created = cli.id("list-b")
            let createdPid = try await cli.create(created, bundle: try cli.bundle("list-b", ["/bin/true"]))

            #expect(try await cli.ok(["list", "-q"]).stdout == [created, running].sorted().joined(separator: "\n") + "\n")

            let json = try await cli.ok(["list", "-f", "json"])
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            #expect(entries.count == 2)
            for entry in entries {
                #expect(Set(entry.keys) == ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"], "\(entry)")
                #expect(entry["owner"] as? String == "root")
            }
            // Keys in runc's order, compact, one line.
            #expect(json.stdout.hasPrefix("[{\"ociVersion\":") && json.stdout.hasSuffix("}]\n") && json.stdout.split(separator: "\n").count == 1)
            let byID = Dictionary(uniqueKeysWithValues: entries.map { ($0["id"] as! String, $0) })
            #expect(byID[running]?["status"] as? String == "running")
            #expect(byID[running]?["pid"] as? Int == Int(runningPid))
            #expect(byID[created]?["status"] as? String == "created")
            #expect(byID[created]?["pid"] as? Int == Int(createdPid))
            #expect(byID[running]?["rootfs"] as? String == bundle.rootfs)

            // Table: tabwriter(minwidth 12, padding 3); columns line up under the header.
            let table = try await cli.ok(["list"]).stdout.split(separator: "\n").map(String.init)
            #expect(table.count == 3)
            let header = table[0]
            for column in ["PID", "STATUS", "BUNDLE", "CREATED", "OWNER"] {
                let offset = try #require(header.range(of: column)).lowerBound.utf16Offset(in: header)
                for row in table.dropFirst() {
                    let before = row.utf16.index(row.utf16.startIndex, offsetBy: offset - 1)
                    #expect(row[before] == " " && row[row.index(after: before)] != " ", "\(column) misaligned in \(table)")
                }
            }
            #expect(table.dropFirst().allSatisfy { $0.hasSuffix("   root") })
        }
    }

    @Test("features: a RuntimeFeatures document that agrees with runc where both support a field")
    func features() async throws {
        try await withCLI { cli in
            let output = try await cli.ok(["features"])
            let features = try OCIJSON.decode(RuntimeFeatures.self, from: Data(output.stdout.utf8))
            #expect(features.ociVersionMin == "1.0.0")
            #expect(features.ociVersionMax == "1.2.0")
            #expect(features.hooks == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"])
            let mountOptions = Set(features.mountOptions ?? [])
            #expect(mountOptions.isSuperset(of: ["bind", "rbind", "ro", "rro", "nosuid", "rprivate", "tmpcopyup"]))
            #expect(!mountOptions.contains("mand"))
            let linux = try #require(features.linux)
            #expect(Set(linux.namespaces ?? []).isSuperset(of: [.pid, .network, .mount, .ipc, .uts, .user, .cgroup]))
            #expect(linux.capabilities?.contains("CAP_SYS_ADMIN") == true && linux.capabilities?.contains("CAP_CHOWN") == true)
            #expect(linux.cgroup == .init(v1: true, v2: true, systemd: false, systemdUser: false))
            #expect(linux.seccomp?.enabled == true)
            #expect(linux.seccomp?.archs?.contains(.x86_64) == true)
            #expect(linux.apparmor?.enabled == false && linux.selinux?.enabled == false)
            // Printed as runc prints it: four-space indentation, "key": value.
            #expect(output.stdout.hasPrefix("{\n    \"ociVersionMin\": \"1.0.0\",\n    \"ociVersionMax\": \"1.2.0\",\n"), "\(output)")

            // Against the reference runtime, on the fields both implement.
            let runc = try Self.runcFeatures()
            let runcSeccomp = try #require(runc.linux?.seccomp)
            let seccomp = try #require(linux.seccomp)
            let runcActions: Set<SeccompAction> = Set(runcSeccomp.actions ?? [])
            let runcOperators: Set<SeccompOperator> = Set(runcSeccomp.operators ?? [])
            let runcArchs: Set<SeccompArchitecture> = Set(runcSeccomp.archs ?? [])
            let runcNamespaces: Set<RuntimeSpec.Linux.NamespaceType> = Set(runc.linux?.namespaces ?? [])
            #expect(runcActions == Set(seccomp.actions ?? []))
            #expect(runcOperators == Set(seccomp.operators ?? []))
            #expect(runcArchs.isSubset(of: Set(seccomp.archs ?? [])))
            #expect(runcNamespaces.isSubset(of: Set(linux.namespaces ?? [])))
            #expect(Set(runc.hooks ?? []) == Set(features.hooks ?? []), "runc hooks: \(runc.hooks ?? [])")
            #expect(mountOptions.isSubset(of: Set(runc.mountOptions ?? [])), "\(mountOptions.subtracting(runc.mountOptions ?? []))")
            // runc lists what its Go library knows; libcap lists what this kernel has.
            let kernelLast = Int((try? String(contentsOfFile: "/proc/sys/kernel/cap_last_cap", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            #expect(linux.capabilities?.count == kernelLast + 1)
            #expect(Set(linux.capabilities ?? []).isSubset(of: Set(runc.linux?.capabilities ?? [])) || kernelLast >= 41)
        }
    }

    static func runcFeatures() throws -> RuntimeFeatures {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["runc", "features"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError("runc features exited \(process.terminationStatus)") }
        return try OCIJSON.decode(RuntimeFeatures.self, from: data)
    }
}
