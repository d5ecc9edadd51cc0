import Foundation
import Glibc
@testable import CaissonNetwork
import OCISpec
import Sandbox
import Testing

@Suite("Bridge networking", .serialized)
struct BridgeTests {
    /// Two busybox containers on one bridge: TCP echo between their processes, UDP echo
    /// between their namespaces, and the client's view of its own interface, route and /etc.
    @Test func containersTalkOverTheBridge() async throws {
        try await withNetworking { env in
            try await env.createNetwork(mtu: 1400)
            let (server, serverAttachment) = try await env.start("srv", ["/bin/busybox", "nc", "-ll", "-p", "7000", "-e", "/bin/cat"],
                                                                 mode: .bridge("t0"))
            #expect(serverAttachment.addresses == [IPAddress("10.213.0.2")!])
            #expect(serverAttachment.gateways == [IPAddress("10.213.0.1")!])

            let client = try await env.sh("cli", """
                for i in 1 2 3 4 5 6 7 8 9 10; do echo hello-tcp | /bin/busybox nc -w 2 10.213.0.2 7000 && break; sleep 0.2; done
                /bin/busybox ip -o link show eth0; /bin/busybox ip -o -4 addr show eth0; /bin/busybox ip route
                cat /etc/hostname /etc/hosts
                """, mode: .bridge("t0"), options: AttachOptions(hostname: "client"))
            #expect(client.status == .exited(0), "\(client.stderr)")
            #expect(client.stdout.hasPrefix("hello-tcp\n"), "\(client.stdout)")
            #expect(client.stdout.contains("mtu 1400"), "\(client.stdout)")
            #expect(client.stdout.contains("inet 10.213.0.3/24"), "\(client.stdout)")
            #expect(client.stdout.contains("default via 10.213.0.1 dev eth0"), "\(client.stdout)")
            #expect(client.stdout.contains("client\n127.0.0.1\tlocalhost"), "\(client.stdout)")
            #expect(client.stdout.contains("10.213.0.3\tclient"), "\(client.stdout)")

            // UDP: busybox has no UDP client or server, so the echo runs between sockets
            // opened inside the two containers' namespaces while both containers run.
            let (peer, peerAttachment) = try await env.start("peer", ["/bin/sleep", "60"], mode: .bridge("t0"))
            let reply = try udpEcho(from: try #require(peerAttachment.namespacePath),
                                    to: try #require(serverAttachment.namespacePath),
                                    at: serverAttachment.addresses[0], message: "hello-udp")
            #expect(reply.text == "hello-udp")
            #expect(reply.sender == peerAttachment.addresses[0], "the server saw the peer's own address")

            try await env.stop(peer)
            try await env.stop(server)
            #expect(try env.networking.attachments().isEmpty)
        }
    }

    /// A port published on the host reaches the container on 127.0.0.1 and on the bridge
    /// address; a second container asking for the same host port gets a clear error and
    /// leaves nothing behind, and the first keeps working.
    @Test func publishedPortsAndConflicts() async throws {
        try await withNetworking { env in
            try await env.createNetwork()
            let port = try PortMapping(parsing: "18080:7000")
            let (server, attachment) = try await env.start("pub", ["/bin/busybox", "nc", "-ll", "-p", "7000", "-e", "/bin/cat"],
                                                           mode: .bridge("t0"), options: AttachOptions(ports: [port]))
            #expect(attachment.ports == [port])
            #expect(try tcpExchange(IPAddress("127.0.0.1")!, 18080, "via-loopback\n") == "via-loopback\n")
            #expect(try tcpExchange(IPAddress("10.213.0.1")!, 18080, "via-bridge\n") == "via-bridge\n")
            #expect(try env.networking.firewallListing().contains("dnat ip to 10.213.0.2:7000"))

            do throws(NetworkError) {
                _ = try await env.networking.attach(containerID: "pub2", mode: .bridge("t0"),
                                              options: AttachOptions(ports: [try PortMapping(parsing: "127.0.0.1:18080:80")]))
                Issue.record("a second container got host port 18080")
            } catch {
                #expect(error.code == .portInUse)
                #expect(error.description.contains("18080/tcp") && error.description.contains("\"pub\""), "\(error)")
            }
            #expect(try env.networking.attachment(containerID: "pub2") == nil)
            #expect(!FileManager.default.fileExists(atPath: env.directory + "/net-run/netns/pub2"))
            let allocations = try AddressAllocator(store: env.networking.store, network: "t0").allocations()
            #expect(allocations == ["10.213.0.2": "pub"])
            #expect(try tcpExchange(IPAddress("127.0.0.1")!, 18080, "still-there\n") == "still-there\n")
            // A different protocol on the same port is no conflict.
            let udp = try await env.networking.attach(containerID: "pub3", mode: .bridge("t0"),
                                                options: AttachOptions(ports: [try PortMapping(parsing: "18080:53/udp")]))
            #expect(udp.addresses == [IPAddress("10.213.0.3")!])
            try await env.networking.detach(containerID: "pub3")

            try await env.stop(server)
            let rules = try Firewall(table: TestNet.table).rules()
            #expect(!rules.contains { $0.comment?.hasPrefix("ctr:") == true }, "port rules left: \(rules)")
            // Released: the port is free again.
            let again = try await env.networking.attach(containerID: "pub4", mode: .bridge("t0"), options: AttachOptions(ports: [port]))
            #expect(again.addresses == [IPAddress("10.213.0.2")!])
            try await env.networking.detach(containerID: "pub4")
        }
    }

    /// Containers on two isolated bridges cannot reach each other although the host
    /// forwards between them; without Caisson's isolation rules they could.
    @Test func bridgesAreIsolated() async throws {
        try await withNetworking { env in
            try await env.createNetwork("t0", bridge: "cstest0", subnet: TestNet.subnet0)
            try await env.createNetwork("t1", bridge: "cstest1", subnet: TestNet.subnet1)
            #expect(try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8).hasPrefix("1"))
            let (server, _) = try await env.start("iso-srv", ["/bin/busybox", "nc", "-ll", "-p", "7000", "-e", "/bin/cat"], mode: .bridge("t0"))
            let probe = "for i in 1 2 3 4 5; do echo reach | /bin/busybox nc -w 1 10.213.0.2 7000 && exit 0; sleep 0.2; done; exit 1"
            let sameNetwork = try await env.sh("iso-a", probe, mode: .bridge("t0"))
            #expect(sameNetwork.status == .exited(0) && sameNetwork.stdout == "reach\n", "\(sameNetwork)")
            let otherNetwork = try await env.sh("iso-b", probe, mode: .bridge("t1"))
            #expect(otherNetwork.status == .exited(1) && otherNetwork.stdout.isEmpty, "\(otherNetwork)")

            // Control: drop the isolation rules and the same probe gets through.
            let firewall = Firewall(table: TestNet.table)
            let isolation = try firewall.rules().filter { $0.chain == "forward" }
            #expect(isolation.count == 4, "two drop rules per network: \(isolation)")
            #expect(try firewall.removeRules { $0.chain == "forward" } == 4)
            let unisolated = try await env.sh("iso-c", probe, mode: .bridge("t1"))
            #expect(unisolated.status == .exited(0) && unisolated.stdout == "reach\n", "\(unisolated)")
            try await env.stop(server)
        }
    }

    /// Dual stack: two containers talk over IPv6.
    @Test func ipv6BetweenContainers() async throws {
        try await withNetworking { env in
            try await env.createNetwork(subnet6: TestNet.subnet6)
            let (server, attachment) = try await env.start("v6-srv", ["/bin/busybox", "nc", "-ll", "-p", "7000", "-e", "/bin/cat"],
                                                           mode: .bridge("t0"))
            #expect(attachment.addresses == [IPAddress("10.213.0.2")!, IPAddress("fd00:caf::2")!])
            #expect(attachment.gateways == [IPAddress("10.213.0.1")!, IPAddress("fd00:caf::1")!])
            let client = try await env.sh("v6-cli", """
                for i in 1 2 3 4 5 6 7 8 9 10; do echo hello-v6 | /bin/busybox nc -w 2 fd00:caf::2 7000 && break; sleep 0.2; done
                /bin/busybox ip -6 route
                """, mode: .bridge("t0"))
            #expect(client.stdout.hasPrefix("hello-v6\n"), "\(client)")
            #expect(client.stdout.contains("default via fd00:caf::1 dev eth0"), "\(client.stdout)")
            // And the host reaches the container over IPv6 on the bridge.
            #expect(try tcpExchange(IPAddress("fd00:caf::2")!, 7000, "from-host\n") == "from-host\n")
            try await env.stop(server)
        }
    }
}

/// Sends `message` from a UDP socket in the namespace `from` to a UDP socket bound at
/// `address` in the namespace `to`, which echoes it back. Returns the echo and the
/// address the server saw the datagram come from.
func udpEcho(from: String, to: String, at address: IPAddress, message: String) throws -> (text: String, sender: IPAddress?) {
    let family = address.isIPv6 ? AF_INET6 : AF_INET
    let server = try openSocket(family, Int32(SOCK_DGRAM.rawValue), namespacePath: to)
    defer { close(server) }
    let client = try openSocket(family, Int32(SOCK_DGRAM.rawValue), namespacePath: from)
    defer { close(client) }
    var tv = timeval(tv_sec: 3, tv_usec: 0)
    for fd in [server, client] { setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)) }
    guard withSocketAddress(address, 9000, { bind(server, $0, $1) }) == 0 else {
        throw ProbeError(description: "bind \(address):9000: errno \(errno)")
    }
    let bytes = Array(message.utf8)
    guard withSocketAddress(address, 9000, { sendto(client, bytes, bytes.count, 0, $0, $1) }) == bytes.count else {
        throw ProbeError(description: "send to \(address):9000: errno \(errno)")
    }
    var buffer = [UInt8](repeating: 0, count: 2048)
    var peer = sockaddr_storage()
    var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let n = withUnsafeMutablePointer(to: &peer) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(server, &buffer, buffer.count, 0, $0, &peerLength) }
    }
    guard n > 0 else { throw ProbeError(description: "server in \(to) received nothing: errno \(errno)") }
    let sender: IPAddress? = withUnsafeBytes(of: &peer) { raw in
        if family == AF_INET {
            let sin = raw.load(as: sockaddr_in.self)
            return withUnsafeBytes(of: sin.sin_addr) { IPAddress(bytes: Array($0)) }
        }
        let sin6 = raw.load(as: sockaddr_in6.self)
        return withUnsafeBytes(of: sin6.sin6_addr) { IPAddress(bytes: Array($0)) }
    }
    let echoed = withUnsafePointer(to: &peer) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(server, buffer, n, 0, $0, peerLength) }
    }
    guard echoed == n else { throw ProbeError(description: "echo from \(to): errno \(errno)") }
    let m = recv(client, &buffer, buffer.count, 0)
    guard m > 0 else { throw ProbeError(description: "client in \(from) got no echo: errno \(errno)") }
    return (String(decoding: buffer[0..<m], as: UTF8.self), sender)
}
