import Foundation
import Testing
import TestSupport

/// `caisson pull`, `run IMAGE` and friends run by an unprivileged user, as `podman` is: its own
/// store (~/.local/share/caisson) and state ($XDG_RUNTIME_DIR/caisson), a user namespace
/// mapping the container's root to the user, the overlay mounted inside the container,
/// slirp4netns networking — and the things that need root refused with the option named.
@Suite("caisson CLI as an unprivileged user: rootless run IMAGE", .serialized,
       .enabled(if: geteuid() == 0 && imageToolsAvailable, "creates a user (root) and seeds a registry (docker-registry, umoci, skopeo)"))
struct RootlessImageRunCLITests {
    /// The CLI run as `user` (setpriv, no capabilities, clean environment).
    private struct UserCLI {
        let cli: CaissonCLI
        let user: UnprivilegedUser
        var runtimeDirectory: String { user.home + "/xdg" }
        var stateRoot: String { runtimeDirectory + "/caisson" }
        var store: String { user.home + "/.local/share/caisson" }

        func run(_ arguments: [String]) async throws -> CLIResult {
            let command = user.command(cli.binary, runtimeDirectory: runtimeDirectory)
            return try await cli.runProgram(command.executable, command.arguments + arguments)
        }

        @discardableResult
        func ok(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> CLIResult {
            let result = try await run(arguments)
            #expect(result.status == 0, "caisson \(arguments.joined(separator: " ")) as \(user.name): \(result)", sourceLocation: sourceLocation)
            return result
        }

        /// The user's containers (ids), from `caisson ps -q`.
        func ids() async throws -> [String] {
            try await ok(["ps", "-q"]).stdout.split(separator: "\n").map(String.init)
        }
    }

    @Test("a user pulls and runs an image in a store of its own: root inside is the user, writes go to the overlay, -d + exec + stop + rm, slirp4netns with a port; what needs root is refused")
    func rootlessRun() async throws {
        try await withCLI { cli in
            let user = try UnprivilegedUser.create(name: "caisson-test-engine", home: cli.directory + "/user",
                                                   subordinate: (start: 3_200_000, count: 65536))
            defer { user.remove() }
            let u = UserCLI(cli: cli, user: user)
            try FileManager.default.createDirectory(atPath: u.runtimeDirectory, withIntermediateDirectories: true)
            chown(u.runtimeDirectory, user.uid, user.gid)
            chmod(u.runtimeDirectory, 0o700)
            try await withLocalRegistry { registry in
                // The user pulls the image into its default store; the layers are unpacked, as
                // the user, while they download.
                try seed(registry, "rootless/busybox:1", in: cli.directory)
                let image = "\(registry.host)/rootless/busybox:1"
                try await u.ok(["pull", image])
                let snapshots = try FileManager.default.contentsOfDirectory(atPath: u.store + "/snapshots").filter { !$0.hasPrefix(".") }
                var owner = stat()
                #expect(snapshots.count == 1 && stat(u.store + "/snapshots/" + snapshots[0] + "/fs/bin/busybox", &owner) == 0
                        && owner.st_uid == user.uid, "snapshots \(snapshots) unpacked by uid \(owner.st_uid)")

                do {
                    // The image's USER (1000:1000) is not mapped: refused, naming it. Root inside
                    // is mapped to the user alone; the rootfs is writable (the upper dir).
                    let imageUser = try await u.run(["run", "--rm", image, "true"])
                    #expect(imageUser.status != 0 && imageUser.stderr.contains("user \"1000:1000\"") && imageUser.stderr.contains("rootless"),
                            "\(imageUser)")
                    let plain = try await u.ok(["run", "--rm", "--user", "0", image, "sh", "-c",
                                                "id -u; id -G; cat /proc/self/uid_map; echo hi > /root/f && cat /root/f"])
                    let lines = plain.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
                    #expect(lines == ["0", "0", "0 \(user.uid) 1", "hi"], "\(plain)")
                    #expect(try await u.ids().isEmpty)

                    // Detached, then exec, stop and rm; its state is under XDG_RUNTIME_DIR.
                    let name = cli.id("rootless")
                    let detached = try await u.ok(["run", "-d", "--name", name, "--user", "0", image, "sh", "-c", "echo up; sleep 1000"])
                    #expect(detached.stdout == name + "\n", "\(detached)")
                    #expect(FileManager.default.fileExists(atPath: u.stateRoot + "/" + name), "no state under \(u.stateRoot)")
                    let state = try await u.ok(["state", name]).stdout
                    let pid = Int32(try LifecycleCLITests.field("pid", of: state)) ?? 0
                    Orphans.adopt(pid)  // its CLI has exited: the process is ours (subreaper)
                    var status = stat()
                    #expect(stat("/proc/\(pid)", &status) == 0 && status.st_uid == user.uid, "the container's init runs as \(user.name)")
                    let exec = try await u.ok(["exec", name, "sh", "-c", "echo \"$(id -u) $(cat /root/f 2>/dev/null || echo fresh)\""])
                    #expect(exec.stdout == "0 fresh\n", "\(exec)")
                    let asRoot = try await u.ok(["exec", "--user", "0:0", name, "sh", "-c", "id -u"])
                    #expect(asRoot.stdout == "0\n", "\(asRoot)")
                    let asOther = try await u.run(["exec", "--user", "1000", name, "sh", "-c", "id -u"])
                    #expect(asOther.status != 0 && asOther.stderr.contains("1000") && asOther.stderr.contains("rootless"), "\(asOther)")
                    // Its own network namespace, or the host's; joining another's is refused.
                    let ownNet = try await u.ok(["exec", name, "sh", "-c", "readlink /proc/self/ns/net"]).stdout
                    let host = try await u.ok(["run", "--rm", "--user", "0", "--network", "host", image, "readlink", "/proc/self/ns/net"])
                    #expect(host.stdout.hasPrefix("net:") && host.stdout != ownNet, "\(host) vs \(ownNet)")
                    let pod = try await u.run(["run", "--rm", "--user", "0", "--network", "container:\(name)", image, "true"])
                    #expect(pod.status != 0 && pod.stderr.contains("network container:\(name)") && pod.stderr.contains("rootless"), "\(pod)")
                    var logs = ""
                    for _ in 0..<100 where !logs.contains("up") {
                        logs = try await u.run(["logs", name]).stdout
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    #expect(logs == "up\n")
                    try await u.ok(["stop", "-t", "1", name])
                    #expect(try await u.ok(["ps"]).stdout.contains("stopped"))
                    try await u.ok(["rm", name])
                    #expect(try await u.ids().isEmpty)

                    // slirp4netns, rootless podman's default network: the container's own
                    // namespace with tap0, connected before it starts, and a published port.
                    // It opens /dev/net/tun as the user: Debian's udev makes it 0666, this VM 0600.
                    var tun = stat()
                    try #require(stat("/dev/net/tun", &tun) == 0, "no /dev/net/tun")
                    let tunMode = tun.st_mode & 0o7777
                    if tunMode & 0o006 != 0o006 { chmod("/dev/net/tun", 0o666) }
                    defer { chmod("/dev/net/tun", tunMode) }
                    let web = cli.id("web")
                    try await u.ok(["run", "-d", "--name", web, "--user", "0", "--network", "slirp4netns", "-p", "127.0.0.1:18296:8080",
                                    image, "sh", "-c",
                                    "mkdir -p /www; echo served > /www/index.html; ip -4 addr show tap0 > /www/addr; exec httpd -f -p 8080 -h /www"])
                    Orphans.adopt(Int32(try LifecycleCLITests.field("pid", of: try await u.ok(["state", web]).stdout)) ?? 0)
                    var page = CLIResult(status: -1, stdout: "", stderr: "")
                    for _ in 0..<100 where page.stdout != "served\n" {
                        page = try await cli.runProgram("/bin/busybox", ["wget", "-q", "-O", "-", "http://127.0.0.1:18296/"])
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(page.stdout == "served\n", "\(page)")
                    let address = try await cli.runProgram("/bin/busybox", ["wget", "-q", "-O", "-", "http://127.0.0.1:18296/addr"])
                    #expect(address.stdout.contains("inet 10.0.2.100/24"), "\(address)")
                    try await u.ok(["rm", "-f", web])

                    // What a rootless engine cannot do is refused, naming the option.
                    let bridge = try await u.run(["run", "--rm", "--user", "0", "--network", "bridge", image, "true"])
                    #expect(bridge.status != 0 && bridge.stderr.contains("network bridge") && bridge.stderr.contains("rootless"), "\(bridge)")
                    let other = try await u.run(["run", "--rm", "--user", "1000", image, "true"])
                    #expect(other.status != 0 && other.stderr.contains("user \"1000\"") && other.stderr.contains("rootless"), "\(other)")
                    let memory = try await u.run(["run", "--rm", "--user", "0", "--memory", "64m", image, "true"])
                    #expect(memory.status != 0 && memory.stderr.contains("linux.resources.memory"), "\(memory)")
                    #expect(try await u.ids().isEmpty, "a refused run leaves no container")
                } catch {
                    for id in (try? await u.ids()) ?? [] { _ = try? await u.run(["rm", "-f", id]) }
                    throw error
                }
            }
            // Nothing left: no process of the user, no mount, no state, no prepared rootfs.
            for _ in 0..<100 where !user.processes().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            #expect(user.processes().isEmpty, "processes of \(user.name) left: \(user.processes())")
            #expect(LeakCheck.mounts(containing: user.home).isEmpty, "mounts left: \(LeakCheck.mounts(containing: user.home))")
            #expect(LeakCheck.stateEntries(in: u.stateRoot).isEmpty, "state left: \(LeakCheck.stateEntries(in: u.stateRoot))")
            let prepared = (try? FileManager.default.contentsOfDirectory(atPath: u.store + "/containers")) ?? []
            #expect(prepared.isEmpty, "root filesystems left: \(prepared)")
        }
    }
}
