import Caisson
import Foundation
import Testing
import TestSupport

/// The engine on a bridge network (CaissonNetwork): address, /etc files, a published port
/// reached from the host, another container joining the first's namespace, and remove
/// releasing everything. A test-only table, veth prefix, bridge and subnet keep it apart
/// from the host's own and from NetworkTests.
@Suite("Engine networking", .serialized, .timeLimit(.minutes(2)))
struct EngineNetworkTests {
    /// Connects to 127.0.0.1:`port` and returns what the server sends, or nil.
    private func fetch(port: UInt16) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    /// Connects to `address`:`port` and returns what the server sends, or nil.
    private func fetch(_ address: String, port: UInt16) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = inet_addr(address)
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
    }

    @Test("CNI network by name: the container gets the plugins' address and is reachable; remove runs DEL")
    func cniNetwork() async throws {
        try await withEngine { env in
            // bridge + host-local only (no ipMasq, no portmap): no iptables rules to clean.
            let cni = env.directory + "/cni"
            try FileManager.default.createDirectory(atPath: cni, withIntermediateDirectories: true)
            try """
                {"cniVersion": "1.0.0", "name": "cstengine", "plugins": [
                  {"type": "bridge", "bridge": "cstest7", "isGateway": true,
                   "ipam": {"type": "host-local", "dataDir": "\(env.directory)/cni-ipam", "ranges": [[{"subnet": "10.213.7.0/24"}]],
                            "routes": [{"dst": "0.0.0.0/0"}]}}]}
                """.write(toFile: cni + "/cstengine.conflist", atomically: true, encoding: .utf8)
            let networking = try Networking(stateRoot: env.directory + "/store/network", runRoot: env.directory + "/state.network",
                                            firewallTable: "caisson_etest", interfacePrefix: "cset", cniConfigDirectory: cni)
            let engine = try Engine(storeRoot: env.directory + "/store", stateRoot: env.directory + "/state", networking: networking)
            var failure: (any Error)?
            do {
                var configuration = ContainerConfiguration(command: ["/bin/busybox", "nc", "-ll", "-p", "8080", "-e", "/bin/echo", "hello-over-cni"])
                configuration.network = .cni("cstengine")
                let server = try await engine.create(image: "busybox", id: env.id("cni"), configuration: configuration)
                try await server.start()
                let attachment = try #require(try networking.attachment(containerID: env.id("cni")))
                #expect(attachment.addresses.map(\.description) == ["10.213.7.2"], "\(attachment)")
                var answer: String?
                for _ in 0..<50 where answer == nil {
                    answer = fetch("10.213.7.2", port: 8080)
                    if answer == nil { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(answer == "hello-over-cni\n")
                #expect(FileManager.default.fileExists(atPath: env.directory + "/cni-ipam/cstengine/10.213.7.2"))

                try await engine.remove(id: env.id("cni"), force: true)
                #expect(try networking.attachment(containerID: env.id("cni")) == nil)
                #expect(!FileManager.default.fileExists(atPath: env.directory + "/cni-ipam/cstengine/10.213.7.2"), "lease released by DEL")
                let ports = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/cstest7/brif")) ?? []
                #expect(ports.isEmpty, "veths left on the bridge: \(ports)")
                let cache = (try? FileManager.default.contentsOfDirectory(atPath: env.directory + "/store/network/cni/results")) ?? []
                #expect(cache.isEmpty, "cached results left: \(cache)")
            } catch {
                failure = error
            }
            try? await engine.remove(id: env.id("cni"), force: true)
            // The bridge plugin never deletes its bridge.
            let link = Process()
            link.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            link.arguments = ["link", "delete", "cstest7"]
            try link.run()
            link.waitUntilExit()
            if let failure { throw failure }
            #expect(link.terminationStatus == 0, "the bridge plugin made cstest7")
        }
    }

    @Test("bridge + published port: reachable from the host; container: joins it; remove releases address and rules")
    func bridgeAndPorts() async throws {
        try await withEngine { env in
            let networking = try Networking(stateRoot: env.directory + "/store/network", runRoot: env.directory + "/state.network",
                                            firewallTable: "caisson_etest", interfacePrefix: "cset")
            let engine = try Engine(storeRoot: env.directory + "/store", stateRoot: env.directory + "/state", networking: networking)
            try await networking.createNetwork(BridgeNetwork(name: "etest", bridge: "cstest9", subnet: try Subnet("10.213.9.0/24")))
            var failure: (any Error)?
            do {
                var configuration = ContainerConfiguration(command: ["/bin/busybox", "nc", "-ll", "-p", "8080", "-e", "/bin/echo", "hello-over-the-bridge"])
                configuration.network = .bridge("etest")
                configuration.ports = [try PortMapping(parsing: "127.0.0.1:18099:8080")]
                let server = try await engine.create(image: "busybox", id: env.id("srv"), configuration: configuration)
                try await server.start()
                var answer: String?
                for _ in 0..<50 where answer == nil {
                    answer = fetch(port: 18099)
                    if answer == nil { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(answer == "hello-over-the-bridge\n")
                let attachment = try #require(try networking.attachment(containerID: env.id("srv")))
                #expect(attachment.addresses.map(\.description).contains("10.213.9.2"), "\(attachment.addresses)")

                // A second container in the first one's network namespace (a pod).
                var sidecar = ContainerConfiguration(command: ["/bin/busybox", "ip", "-4", "addr"])
                sidecar.network = .container(env.id("srv"))
                let output = try await engine.run("busybox", configuration: sidecar)
                #expect(output.standardOutputText.contains("10.213.9.2"), "\(output.standardOutputText) \(output.standardErrorText)")

                var unpublished = ContainerConfiguration(command: ["/bin/true"])
                unpublished.ports = [try PortMapping(parsing: "18098:80")]
                await #expect { _ = try await engine.create(image: "busybox", id: env.id("noport"), configuration: unpublished) } throws: {
                    "\($0)".contains("bridge")
                }

                try await engine.remove(id: env.id("srv"), force: true)
                #expect(try networking.attachment(containerID: env.id("srv")) == nil)
                #expect(fetch(port: 18099) == nil)
            } catch {
                failure = error
            }
            try? await engine.remove(id: env.id("srv"), force: true)
            try await networking.removeNetwork(named: "etest")
            _ = try await networking.deleteFirewallTable()
            if let failure { throw failure }
            #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/cstest9"))
        }
    }
}
