import Foundation
import Glibc
@testable import CaissonNetwork
import OCISpec
import Sandbox
import TestSupport
import Testing
import _CNetwork

/// Test-only names and subnets, chosen so nothing clashes with the host's own networks.
enum TestNet {
    static let table = "caisson_test"
    static let prefix = "cstv"
    static let bridgePrefix = "cstest"
    static let subnet0 = "10.213.0.0/24"
    static let subnet1 = "10.213.1.0/24"
    static let subnet6 = "fd00:caf::/64"
}

/// A network test's world: a `Networking` and a Sandbox runtime over private roots.
struct NetworkTestEnvironment: Sendable {
    let directory: String
    let networking: Networking
    let runtime: Runtime

    /// A new `Networking` over the same roots, as a restarted process would make.
    func reopen() throws -> Networking {
        try Networking(stateRoot: directory + "/net-state", runRoot: directory + "/net-run",
                       firewallTable: TestNet.table, interfacePrefix: TestNet.prefix)
    }

    /// Creates the test bridge network `name` on bridge `cstest<n>`.
    @discardableResult
    func createNetwork(_ name: String = "t0", bridge: String = "cstest0", subnet: String = TestNet.subnet0,
                       subnet6: String? = nil, mtu: Int? = nil, isolated: Bool = true) async throws -> BridgeNetwork {
        let network = BridgeNetwork(name: name, bridge: bridge, subnet: try Subnet(subnet),
                                    subnet6: try subnet6.map { try Subnet($0) }, mtu: mtu, isolated: isolated)
        try await networking.createNetwork(network)
        return network
    }

    /// Attaches `id`, builds a busybox bundle running `args` with the attachment applied,
    /// and creates and starts the container (stdout/stderr to pipes when `capture`).
    func start(_ id: String, _ args: [String], mode: NetworkMode, options: AttachOptions = AttachOptions(),
               capture: Bool = false) async throws -> (Container, NetworkAttachment) {
        let attachment = try await networking.attach(containerID: id, mode: mode, options: options)
        let bundleDirectory = directory + "/bundle-" + id
        try FileManager.default.createDirectory(atPath: bundleDirectory, withIntermediateDirectories: true)
        var spec = RuntimeSpec.runcDefault()
        spec.process?.args = args
        spec.process?.terminal = false
        attachment.apply(to: &spec)
        let bundle = try BusyboxBundle.make(in: bundleDirectory, spec: spec)
        let stdio = capture ? Stdio.pipes : Stdio(input: .null, output: .null, error: .null)
        let container = try await runtime.create(id: id, bundle: bundle.path, options: .init(stdio: stdio))
        try await container.start()
        return (container, attachment)
    }

    /// Runs `script` in a new container attached with `mode`, to the end; deletes the
    /// container and detaches it.
    func sh(_ id: String, _ script: String, mode: NetworkMode, options: AttachOptions = AttachOptions()) async throws -> RunResult {
        let (container, _) = try await start(id, ["/bin/sh", "-c", script], mode: mode, options: options, capture: true)
        async let out = container.io.standardOutput!.readAll()
        async let err = container.io.standardError!.readAll()
        let status = try await container.wait()
        let result = RunResult(status: status, stdout: String(decoding: try await out, as: UTF8.self),
                               stderr: String(decoding: try await err, as: UTF8.self))
        try await container.delete(force: true)
        try await networking.detach(containerID: id)
        return result
    }

    /// Stops and deletes a container started with ``start(_:_:mode:options:capture:)`` and detaches it.
    func stop(_ container: Container) async throws {
        try await container.delete(force: true)
        try await networking.detach(containerID: container.id)
    }
}

/// What a container printed, and how it ended.
struct RunResult: Sendable {
    var status: TerminationStatus
    var stdout: String
    var stderr: String
}

/// Network devices on the host whose names the tests use.
func testLinks() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? [])
        .filter { $0.hasPrefix(TestNet.prefix) || $0.hasPrefix(TestNet.bridgePrefix) }.sorted()
}

/// Runs `body` with a fresh environment, then removes what it left and checks that
/// nothing leaked: containers, attachments, namespace files and mounts, test links,
/// the test firewall table, address allocations, child processes.
func withNetworking(_ body: (NetworkTestEnvironment) async throws -> Void,
                    sourceLocation: SourceLocation = #_sourceLocation) async throws {
    try #require(geteuid() == 0, "network tests run as root (CI runs them as root)")
    await NetworkTestLock.shared.acquire()
    defer { Task { await NetworkTestLock.shared.release() } }
    #expect(testLinks().isEmpty, "test links present before the test: \(testLinks())", sourceLocation: sourceLocation)
    let directory = try makeTemporaryDirectory(prefix: "caisson-network")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let networking = try Networking(stateRoot: directory + "/net-state", runRoot: directory + "/net-run",
                                    firewallTable: TestNet.table, interfacePrefix: TestNet.prefix)
    let environment = NetworkTestEnvironment(directory: directory, networking: networking,
                                             runtime: Runtime(stateRoot: directory + "/sandbox"))
    let childrenBefore = Set(LeakCheck.children())

    var bodyError: (any Error)?
    do {
        try await body(environment)
    } catch {
        bodyError = error
    }
    // Clean up whatever the body left, so one failure does not cascade; then judge.
    let containers = (try? environment.runtime.list()) ?? []
    for state in containers { try? await environment.runtime.container(id: state.id).delete(force: true) }
    let attachments = (try? networking.attachments()) ?? []
    for attachment in attachments { _ = try? await networking.detach(containerID: attachment.containerID) }
    // Networks are the test's to leave (removing one is part of cleanup, not a leak),
    // but each must be removable: nothing attached any more.
    var networkErrors: [String] = []
    for network in (try? networking.networks()) ?? [] {
        do { try await networking.removeNetwork(named: network.name) } catch { networkErrors.append(error.description) }
    }
    let firewall = Firewall(table: TestNet.table)
    let tableLeft = (try? firewall.exists()) ?? true
    _ = try? firewall.deleteTable()
    for link in testLinks() { _ = try? RouteSocket().deleteLink(link) }
    if let bodyError { throw bodyError }

    #expect(containers.isEmpty, "containers left: \(containers.map(\.id))", sourceLocation: sourceLocation)
    #expect(attachments.isEmpty, "attachments left: \(attachments.map(\.containerID))", sourceLocation: sourceLocation)
    #expect(networkErrors.isEmpty, "networks not removable: \(networkErrors)", sourceLocation: sourceLocation)
    #expect(!tableLeft, "nftables table inet \(TestNet.table) left", sourceLocation: sourceLocation)
    #expect(testLinks().isEmpty, "links left: \(testLinks())", sourceLocation: sourceLocation)
    let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/net-run/netns")) ?? []
    #expect(namespaces.isEmpty, "namespace files left: \(namespaces)", sourceLocation: sourceLocation)
    #expect(LeakCheck.mounts(containing: directory).isEmpty, "mounts left: \(LeakCheck.mounts(containing: directory))",
            sourceLocation: sourceLocation)
    let ipam = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/net-state/ipam")) ?? []
    #expect(ipam.isEmpty, "address allocations left: \(ipam)", sourceLocation: sourceLocation)
    let children = Set(LeakCheck.children()).subtracting(childrenBefore)
    #expect(children.isEmpty, "child processes left: \(children)", sourceLocation: sourceLocation)
}

/// Serialises network tests: they share host-wide names (bridges, the firewall table).
enum NetworkTestLock {
    static let shared = AsyncTestLock()
}

// MARK: - Sockets for probes

/// Errors of the test's own socket probes.
struct ProbeError: Error, CustomStringConvertible {
    var description: String
}

/// A socket address for `address:port`.
func withSocketAddress<R>(_ address: IPAddress, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    let bytes = address.bytes
    if address.isIPv6 {
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    }
    var sa = sockaddr_in()
    sa.sin_family = sa_family_t(AF_INET)
    sa.sin_port = port.bigEndian
    withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: bytes) }
    return withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
}

/// Sends `message` over TCP from the host (or from the namespace `namespacePath`) to
/// `address:port`, half-closes, and returns everything the peer sent back. Retries the
/// connection for up to `timeout` seconds (the server container may still be starting).
func tcpExchange(_ address: IPAddress, _ port: UInt16, _ message: String, namespacePath: String? = nil,
                 timeout: Double = 5) throws -> String {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let fd = try openSocket(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), namespacePath: namespacePath)
        defer { close(fd) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withSocketAddress(address, port) { connect(fd, $0, $1) }
        if rc != 0 {
            let error = errno
            if Date() < deadline {
                usleep(50_000)
                continue
            }
            throw ProbeError(description: "connect to \(address) port \(port): \(String(cString: strerror(error)))")
        }
        let bytes = Array(message.utf8)
        guard send(fd, bytes, bytes.count, 0) == bytes.count else {
            throw ProbeError(description: "send to \(address) port \(port): errno \(errno)")
        }
        shutdown(fd, Int32(SHUT_WR))
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 { throw ProbeError(description: "receive from \(address) port \(port): errno \(errno)") }
            if n == 0 { break }
            reply += buffer[0..<n]
        }
        return String(decoding: reply, as: UTF8.self)
    }
}

/// A socket of `domain`/`type` in the host's namespace or in the one at `namespacePath`.
func openSocket(_ domain: Int32, _ type: Int32, namespacePath: String?) throws -> Int32 {
    guard let namespacePath else {
        let fd = socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ProbeError(description: "socket: errno \(errno)") }
        return fd
    }
    let nsfd = open(namespacePath, O_RDONLY | O_CLOEXEC)
    guard nsfd >= 0 else { throw ProbeError(description: "open \(namespacePath): errno \(errno)") }
    defer { close(nsfd) }
    let fd = cnet_socket_in(nsfd, domain, type)
    guard fd >= 0 else { throw ProbeError(description: "socket in \(namespacePath): errno \(-fd)") }
    return fd
}
