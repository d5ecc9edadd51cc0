import Foundation
import Glibc
@testable import CaissonNetwork
import Logging
import OCISpec
import Sandbox
import TestSupport
import Testing
import _CNetwork

/// A TCP server on the host's 127.0.0.1 (an ephemeral port) that answers every
/// connection with `echo:` and what it read, and remembers what it read: the only
/// "outside" a slirp4netns container is allowed to reach in these tests.
final class LoopbackEchoServer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var messages: [String] = []
    private let finished = DispatchSemaphore(value: 0)

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw ProbeError(description: "socket: errno \(errno)") }
        let bound = withSocketAddress(IPAddress("127.0.0.1")!, 0) { bind(listener, $0, $1) }
        guard bound == 0, listen(listener, 8) == 0 else {
            close(listener)
            throw ProbeError(description: "bind/listen on 127.0.0.1: errno \(errno)")
        }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        fd = listener
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    private func serve() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                break
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            var tv = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1024)
            while true {
                let n = recv(client, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data += buffer[0..<n]
                if data.last == UInt8(ascii: "\n") { break }
            }
            let message = String(decoding: data, as: UTF8.self)
            lock.withLock { messages.append(message) }
            let reply = Array(("echo:" + message).utf8)
            _ = send(client, reply, reply.count, Int32(MSG_NOSIGNAL))
            close(client)
        }
        finished.signal()
    }

    /// What the server has read so far.
    var received: [String] { lock.withLock { messages } }

    /// Waits up to `timeout` seconds for a message.
    func waitForMessage(timeout: Double) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        while received.isEmpty, Date() < deadline { usleep(50_000) }
        return received
    }

    /// Stops accepting and waits for the serving thread to end.
    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        finished.wait()
        close(fd)
    }
}

/// A spec for `args` with a user namespace mapping container ids 0...65535 to host ids
/// 400000... (root creating a container whose root is not the host's root).
func userNamespaceSpec(_ args: [String]) -> RuntimeSpec {
    var spec = RuntimeSpec.runcDefault()
    spec.process?.args = args
    spec.process?.terminal = false
    spec.linux?.namespaces?.append(.init(type: .user))
    spec.linux?.uidMappings = [.init(containerID: 0, hostID: 400_000, size: 65536)]
    spec.linux?.gidMappings = [.init(containerID: 0, hostID: 400_000, size: 65536)]
    return spec
}

/// A busybox bundle for a user-namespace container: the /etc files the attachment
/// bind-mounts exist in the rootfs already (as in images), since the container's root
/// (not the host's) cannot create them in the host-owned /etc.
func userNamespaceBundle(_ directory: String, _ spec: RuntimeSpec) throws -> BusyboxBundle {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let bundle = try BusyboxBundle.make(in: directory, spec: spec)
    try FileManager.default.createDirectory(atPath: bundle.rootfs + "/etc", withIntermediateDirectories: true)
    for name in ["hosts", "hostname", "resolv.conf"] where !FileManager.default.fileExists(atPath: bundle.rootfs + "/etc/" + name) {
        try "".write(toFile: bundle.rootfs + "/etc/" + name, atomically: false, encoding: .utf8)
    }
    return bundle
}

/// Whether `pid` is gone or a zombie (ended, not yet reaped).
func hasEnded(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(after: close)...].hasPrefix(" Z")
}

/// Waits up to `timeout` seconds for `condition`.
func eventually(_ timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() >= deadline { return false }
        usleep(50_000)
    }
    return true
}

/// The body of the process that is killed after connecting container "slirpy" (a
/// swift-testing exit test): attach in slirp4netns mode, create the container in a
/// user namespace, start slirp4netns with a published port, die.
func connectAndDie(directory: String) async throws {
    let networking = try Networking(stateRoot: directory + "/net-state", runRoot: directory + "/net-run",
                                    firewallTable: TestNet.table, interfacePrefix: TestNet.prefix)
    let attachment = try await networking.attach(containerID: "slirpy", mode: .slirp4netns(SlirpOptions()),
                                                  options: AttachOptions(ports: [try PortMapping(parsing: "127.0.0.1:18093:7000")]))
    var spec = userNamespaceSpec(["/bin/sleep", "60"])
    attachment.apply(to: &spec)
    let bundle = try userNamespaceBundle(directory + "/bundle-slirpy", spec)
    let container = try await Runtime(stateRoot: directory + "/sandbox").create(
        id: "slirpy", bundle: bundle.path, options: .init(stdio: Stdio(input: .null, output: .null, error: .null)))
    try await networking.connect(containerID: "slirpy", pid: container.pid)
    kill(getpid(), SIGKILL)
}

@Suite("slirp4netns", .serialized)
struct SlirpTests {
    @Test func parsing() throws {
        #expect(try NetworkMode(parsing: "slirp4netns") == .slirp4netns(SlirpOptions()))
        let parsed = try NetworkMode(parsing: "slirp4netns:allow_host_loopback=true,mtu=1500,cidr=10.0.3.0/24,port_handler=slirp4netns")
        let expected = SlirpOptions(allowHostLoopback: true, mtu: 1500, cidr: try Subnet("10.0.3.0/24"))
        #expect(parsed == .slirp4netns(expected))
        #expect(parsed.description == "slirp4netns:allow_host_loopback=true,mtu=1500,cidr=10.0.3.0/24")
        #expect(try NetworkMode(parsing: parsed.description) == parsed)
        #expect(expected.gateway == IPAddress("10.0.3.2") && expected.nameserver == IPAddress("10.0.3.3")
                && expected.containerAddress == IPAddress("10.0.3.100"))
        let refusals: [(String, String)] = [
            ("slirp4netns:port_handler=rootlesskit", "port_handler"),
            ("slirp4netns:mtu=big", "mtu"),
            ("slirp4netns:mtu=70000", "65521"),
            ("slirp4netns:cidr=10.0.2.0/26", "at most 25"),
            ("slirp4netns:color=blue", "\"color\" is unknown"),
            ("slirp4netns:allow_host_loopback=yes", "true or false"),
            ("slirp4netns:mtu", "NAME=VALUE"),
            ("slirp4netns:", "needs a value"),
        ]
        for (text, fragment) in refusals {
            #expect { _ = try NetworkMode(parsing: text) } throws: { error in
                (error as? NetworkError)?.code == .invalidArgument && "\(error)".contains(fragment)
            }
        }
    }

    /// Root creates a container in a user namespace; slirp4netns joins it after create:
    /// outbound TCP to the host's loopback through 10.0.2.2, a published port from the
    /// host's 127.0.0.1, resolv.conf pointing at slirp's DNS; a taken host port is a
    /// clear error; slirp4netns ends with its container, and detach leaves nothing.
    @Test func rootWithUserNamespace() async throws {
        try await withNetworking { env in
            chmod(env.directory, 0o755)
            let server = try LoopbackEchoServer()
            defer { server.stop() }
            let options = AttachOptions(hostname: "slirpy", ports: [try PortMapping(parsing: "127.0.0.1:18092:7000")])
            let attachment = try await env.networking.attach(containerID: "slirp-root",
                                                             mode: .slirp4netns(SlirpOptions(allowHostLoopback: true)), options: options)
            #expect(attachment.namespace == RuntimeSpec.Linux.Namespace(type: .network))
            #expect(attachment.addresses == [IPAddress("10.0.2.100")!])
            var spec = userNamespaceSpec(["/bin/sh", "-c", """
                cat /etc/resolv.conf; /bin/busybox ip -o -4 addr show tap0; /bin/busybox ip route
                echo outbound | /bin/busybox nc -w 5 10.0.2.2 \(server.port); echo
                exec /bin/busybox nc -ll -p 7000 -e /bin/cat
                """])
            attachment.apply(to: &spec)
            let bundle = try userNamespaceBundle(env.directory + "/bundle-slirp-root", spec)
            let container = try await env.runtime.create(id: "slirp-root", bundle: bundle.path, options: .init(stdio: .pipes))
            async let out = container.io.standardOutput!.readAll()
            async let err = container.io.standardError!.readAll()
            let connected = try await env.networking.connect(containerID: "slirp-root", pid: container.pid)
            let slirp = try #require(connected.slirp)
            let slirpPID = try #require(slirp.pid)
            #expect(slirp.startTime == SlirpProcess.startTime(of: slirpPID))
            #expect(FileManager.default.fileExists(atPath: slirp.apiSocket))
            try await container.start()

            // Outbound: the container reached the test's server on the host's loopback.
            #expect(server.waitForMessage(timeout: 10) == ["outbound\n"])
            // Inbound: the published port, from the host's 127.0.0.1.
            #expect(try tcpExchange(IPAddress("127.0.0.1")!, 18092, "published\n", timeout: 10) == "published\n")

            // Another container asking for the same host port: refused at attach.
            do throws(NetworkError) {
                _ = try await env.networking.attach(containerID: "slirp-twin", mode: .slirp4netns(SlirpOptions()), options: options)
                Issue.record("a second container published host port 18092")
            } catch {
                #expect(error.code == .portInUse && error.description.contains("slirp-root"), "\(error)")
            }
            // A host port some other program holds (the echo server's): refused at connect,
            // naming the port, and that slirp4netns is stopped.
            let taken = AttachOptions(ports: [PortMapping(hostIP: IPAddress("127.0.0.1"), hostPort: server.port, containerPort: 7000)])
            let other = try await env.networking.attach(containerID: "slirp-taken", mode: .slirp4netns(SlirpOptions()), options: taken)
            var otherSpec = userNamespaceSpec(["/bin/sleep", "30"])
            other.apply(to: &otherSpec)
            let otherBundle = try userNamespaceBundle(env.directory + "/bundle-taken", otherSpec)
            let otherContainer = try await env.runtime.create(id: "slirp-taken", bundle: otherBundle.path,
                                                              options: .init(stdio: Stdio(input: .null, output: .null, error: .null)))
            do throws(NetworkError) {
                try await env.networking.connect(containerID: "slirp-taken", pid: otherContainer.pid)
                Issue.record("published a host port that is in use")
            } catch {
                #expect(error.code == .portInUse && error.description.contains("127.0.0.1:\(server.port)/tcp"), "\(error)")
            }
            #expect(SlirpProcess.processes(withSocketIn: env.networking.slirpDirectory).map(\.pid) == [slirpPID])
            #expect(!FileManager.default.fileExists(atPath: env.networking.slirpDirectory + "/slirp-taken.sock"))
            try await otherContainer.delete(force: true)
            try await env.networking.detach(containerID: "slirp-taken")
            // The first container still works.
            #expect(try tcpExchange(IPAddress("127.0.0.1")!, 18092, "still\n", timeout: 5) == "still\n")

            // slirp4netns ends with its container (its exit fd is the container's pidfd).
            try await container.delete(force: true)
            let stdout = String(decoding: try await out, as: UTF8.self)
            _ = try await err
            #expect(eventually(5) { hasEnded(slirpPID) }, "slirp4netns \(slirpPID) outlived its container")
            #expect(stdout.contains("nameserver 10.0.2.3\n"), "\(stdout)")
            #expect(stdout.contains("inet 10.0.2.100/24"), "\(stdout)")
            #expect(stdout.contains("default via 10.0.2.2 dev tap0"), "\(stdout)")
            #expect(stdout.contains("echo:outbound"), "\(stdout)")

            try await env.networking.detach(containerID: "slirp-root")
            #expect(SlirpProcess.startTime(of: slirpPID) == nil, "slirp4netns \(slirpPID) not reaped")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: env.networking.slirpDirectory)) ?? []
            #expect(left.isEmpty, "\(left)")
            #expect(!FileManager.default.fileExists(atPath: attachment.etcDirectory))
        }
    }

    /// The process that connected a container is SIGKILLed; slirp4netns (in a session of
    /// its own) keeps serving the container. Prune stops it when the container is gone,
    /// or — its record lost — finds it by its API socket.
    @Test(arguments: ["container-deleted", "record-lost"])
    func pruneAfterOwnerKilled(scenario: String) async throws {
        try await withNetworking { env in
            chmod(env.directory, 0o755)
            let directory = env.directory
            await #expect(processExitsWith: .signal(SIGKILL)) { [directory = directory as String] in
                try await connectAndDie(directory: directory)
            }
            let record = try #require(try env.networking.attachment(containerID: "slirpy"))
            let slirp = try #require(record.slirp)
            let pid = try #require(slirp.pid)
            #expect(!hasEnded(pid) && SlirpProcess.startTime(of: pid) == slirp.startTime)
            let live = Set(try env.runtime.list().filter { $0.status != .stopped }.map(\.id))
            #expect(live == ["slirpy"])
            #expect(try await env.networking.prune(liveContainers: live).isEmpty, "a live container's slirp4netns stays")
            #expect(!hasEnded(pid))

            if scenario == "record-lost" {
                try env.networking.store.removeAttachment("slirpy")
                let report = try await env.networking.prune(liveContainers: live)
                #expect(report.processes == [pid], "\(report)")
                #expect(report.etcDirectories == [record.etcDirectory], "\(report)")
                #expect(eventually(5) { hasEnded(pid) }, "slirp4netns \(pid) still runs after prune")
                try await env.runtime.container(id: "slirpy").delete(force: true)
            } else {
                try await env.runtime.container(id: "slirpy").delete(force: true)
                // The container's init and then slirp4netns are reaped by pid 1 (their parent
                // died), which may take a while; ended is what counts.
                #expect(eventually(10) { hasEnded(pid) }, "slirp4netns \(pid) outlived its container")
                let report = try await env.networking.prune(liveContainers: [])
                #expect(report.attachments == ["slirpy"], "\(report)")
            }
            #expect(try env.networking.attachment(containerID: "slirpy") == nil)
            let left = (try? FileManager.default.contentsOfDirectory(atPath: env.networking.slirpDirectory)) ?? []
            #expect(left.isEmpty, "\(left)")
            #expect(try await env.networking.prune(liveContainers: []).isEmpty, "a second prune finds nothing")
        }
    }
}

// MARK: - Rootless

/// A failure of the rootless child, printed to its stderr for the parent.
struct ChildFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The rootless child's work, as the unprivileged user: a rootless container (user
/// namespace owned by the user) with slirp4netns started by the user; outbound to a
/// loopback server of the user's, a published port, and nothing left after delete.
func rootlessSlirpRun(home: String, uid: UInt32, gid: UInt32) async throws {
    guard geteuid() == uid, getegid() == gid else { throw ChildFailure("not running as \(uid):\(gid)") }
    let server = try LoopbackEchoServer()
    defer { server.stop() }
    let networking = try Networking(stateRoot: home + "/net-state", runRoot: home + "/net-run",
                                    firewallTable: TestNet.table, interfacePrefix: TestNet.prefix)
    let runtime = Runtime(stateRoot: home + "/sandbox")
    let attachment = try await networking.attach(containerID: "slirp-user", mode: .slirp4netns(SlirpOptions(allowHostLoopback: true)),
                                                 options: AttachOptions(ports: [try PortMapping(parsing: "127.0.0.1:18094:7000")]))
    var spec = RuntimeSpec.runcRootless(uid: uid, gid: gid)
    // Started before slirp4netns joins it (see connect's documentation): the container
    // waits for tap0 and its default route.
    spec.process?.args = ["/bin/sh", "-c", """
        i=0; while ! /bin/busybox ip route | grep -q default && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
        cat /etc/resolv.conf; /bin/busybox ip -o -4 addr show tap0
        echo rootless | /bin/busybox nc -w 5 10.0.2.2 \(server.port); echo
        exec /bin/busybox nc -ll -p 7000 -e /bin/cat
        """]
    spec.process?.terminal = false
    attachment.apply(to: &spec)
    let bundle = try userNamespaceBundle(home + "/bundle", spec)
    let container = try await runtime.create(id: "slirp-user", bundle: bundle.path, options: .init(stdio: .pipes))
    async let out = container.io.standardOutput!.readAll()
    async let err = container.io.standardError!.readAll()
    var failure: ChildFailure?
    var slirpPID: Int32?
    do {
        // Before start the init is not dumpable, so the user's slirp4netns may not join it:
        // connect names that.
        do throws(NetworkError) {
            try await networking.connect(containerID: "slirp-user", pid: container.pid)
            failure = ChildFailure("slirp4netns joined a non-dumpable process as uid \(uid)")
        } catch {
            if !error.description.contains("connect after start") { failure = ChildFailure("connect before start: \(error)") }
        }
        try await container.start()
        let connected = try await networking.connect(containerID: "slirp-user", pid: container.pid)
        slirpPID = connected.slirp?.pid
        if let pid = slirpPID, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           !status.contains("Uid:\t\(uid)\t") {
            failure = ChildFailure("slirp4netns \(pid) does not run as \(uid)")
        }
        let received = server.waitForMessage(timeout: 10)
        if received != ["rootless\n"] { failure = failure ?? ChildFailure("the loopback server got \(received)") }
        let echoed = try tcpExchange(IPAddress("127.0.0.1")!, 18094, "published\n", timeout: 10)
        if echoed != "published\n" { failure = failure ?? ChildFailure("published port answered \(echoed.debugDescription)") }
    } catch {
        failure = ChildFailure("\(error)")
    }
    try await container.delete(force: true)
    let stdout = String(decoding: try await out, as: UTF8.self)
    let stderr = String(decoding: try await err, as: UTF8.self)
    try await networking.detach(containerID: "slirp-user")
    if let failure { throw ChildFailure("\(failure); container said: \(stdout) \(stderr)") }
    guard stdout.contains("nameserver 10.0.2.3\n"), stdout.contains("inet 10.0.2.100/24"), stdout.contains("echo:rootless") else {
        throw ChildFailure("container output: \(stdout) \(stderr)")
    }
    if let slirpPID, SlirpProcess.startTime(of: slirpPID) != nil { throw ChildFailure("slirp4netns \(slirpPID) left after detach") }
    let report = try await networking.prune(liveContainers: [])
    guard report.isEmpty else { throw ChildFailure("prune found \(report)") }
    let left = (try? FileManager.default.contentsOfDirectory(atPath: networking.slirpDirectory)) ?? []
    let etc = (try? FileManager.default.contentsOfDirectory(atPath: home + "/net-run/etc")) ?? []
    guard left.isEmpty, etc.isEmpty else { throw ChildFailure("left behind: \(left) \(etc)") }
}

/// PR_SET_DUMPABLE 1: setuid from root left this process non-dumpable (its /proc files
/// root's), which a user's own process never is; the runtime's child inherits it and its
/// id maps could not be written. prctl is variadic, which Swift does not call; its
/// integer arguments pass the same way through a fixed-arity pointer on Linux's ABIs.
func becomeDumpable() -> Bool {
    typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    guard let symbol = dlsym(nil, "prctl") else { return false }
    return unsafeBitCast(symbol, to: Prctl.self)(4 /* PR_SET_DUMPABLE */, 1, 0, 0, 0) == 0
}

@Suite("slirp4netns rootless", .serialized)
struct SlirpRootlessTests {
    /// The whole slirp4netns path as an unprivileged user: a child process of the test
    /// binary drops to the user (setuid from root: every id and capability goes) and runs it.
    @Test func unprivilegedUser() async throws {
        try await withNetworking { env in
            // Single-id maps: its subordinate ids go unused.
            let user = try UnprivilegedUser.create(name: "caisson-test-slirp", home: env.directory + "/home",
                                                   subordinate: (start: 3_300_000, count: 65536))
            defer { user.remove() }
            // slirp4netns opens /dev/net/tun as the user: Debian's udev rules make it 0666,
            // a system without udev may have left it 0600. Opened up for the test only.
            var tun = stat()
            try #require(stat("/dev/net/tun", &tun) == 0, "no /dev/net/tun")
            let tunMode = tun.st_mode & 0o7777
            if tunMode & 0o006 != 0o006 { chmod("/dev/net/tun", 0o666) }
            defer { chmod("/dev/net/tun", tunMode) }
            let home = user.home
            // The child writes how it went to a file of the user's and exits 0 (an exit
            // test's observed output is only there when the exit status matched).
            let report = home + "/result"
            await #expect(processExitsWith: .success) { [home = home as String, uid = user.uid as UInt32, gid = user.gid as UInt32] in
                guard setgroups(0, nil) == 0, setgid(gid) == 0, setuid(uid) == 0, becomeDumpable() else { exit(2) }
                var outcome = "rootless-ok"
                do {
                    try await rootlessSlirpRun(home: home, uid: uid, gid: gid)
                } catch {
                    outcome = "rootless slirp4netns: \(error)"
                }
                try? outcome.write(toFile: home + "/result", atomically: false, encoding: .utf8)
                exit(0)
            }
            let outcome = (try? String(contentsOfFile: report, encoding: .utf8)) ?? "no result from the child"
            #expect(outcome == "rootless-ok", "\(outcome)")
            let left = user.processes()
            for pid in left { kill(pid, SIGKILL) }
            #expect(left.isEmpty, "processes of \(user.name) left: \(left)")
        }
    }
}
