import Foundation
@testable import CaissonNetwork
import OCISpec
import Testing

@Suite("Network values")
struct ParsingTests {
    @Test func portMappings() throws {
        #expect(try PortMapping(parsing: "8080:80") == PortMapping(hostPort: 8080, containerPort: 80))
        #expect(try PortMapping(parsing: "127.0.0.1:53:5353/udp")
                == PortMapping(hostIP: IPAddress("127.0.0.1"), hostPort: 53, containerPort: 5353, transport: .udp))
        #expect(try PortMapping(parsing: "[::1]:8443:443/tcp").hostIP == IPAddress("::1"))
        for bad in ["80", "0:80", "70000:80", "8080:80/sctp", "host:8080:80", "1.2.3.4:x:80", "[::1]8080:80"] {
            #expect(throws: NetworkError.self, "\(bad)") { try PortMapping(parsing: bad) }
        }
        do throws(NetworkError) {
            _ = try PortMapping(parsing: "8080:80/sctp")
        } catch {
            #expect(error.description.contains("8080:80/sctp") && error.description.contains("tcp or udp"))
        }
        let any = PortMapping(hostPort: 8080, containerPort: 80)
        let local = PortMapping(hostIP: IPAddress("127.0.0.1"), hostPort: 8080, containerPort: 81)
        let other = PortMapping(hostIP: IPAddress("10.0.0.1"), hostPort: 8080, containerPort: 81)
        #expect(any.conflicts(with: local) && local.conflicts(with: any))
        #expect(!local.conflicts(with: other))
        #expect(!any.conflicts(with: PortMapping(hostPort: 8080, containerPort: 80, transport: .udp)))
    }

    @Test func modes() throws {
        #expect(try NetworkMode(parsing: "none") == .none)
        #expect(try NetworkMode(parsing: "host") == .host)
        #expect(try NetworkMode(parsing: "bridge", defaultNetwork: "n") == .bridge("n"))
        #expect(try NetworkMode(parsing: "container:web") == .container("web"))
        #expect(try NetworkMode(parsing: "ns:/run/netns/x") == .namespacePath("/run/netns/x"))
        #expect(try NetworkMode(parsing: "mynet") == .bridge("mynet"))
        #expect(throws: NetworkError.self) { try NetworkMode(parsing: "container:") }
    }

    @Test func subnetsAndAddresses() throws {
        let subnet = try Subnet("10.213.0.0/24")
        #expect(subnet.gateway == IPAddress("10.213.0.1"))
        #expect(subnet.contains(IPAddress("10.213.0.254")!) && !subnet.contains(IPAddress("10.213.1.1")!))
        #expect(subnet.assignableCount == 253)
        let six = try Subnet("fd00:caf::/64")
        #expect(six.gateway == IPAddress("fd00:caf::1"))
        #expect(IPAddress("fd00:caf::1")!.advanced(by: 1).description == "fd00:caf::2")
        do throws(NetworkError) {
            _ = try Subnet("10.213.0.1/24")
            Issue.record("host bits accepted")
        } catch {
            #expect(error.description.contains("10.213.0.1/24") && error.description.contains("10.213.0.0"))
        }
        #expect(throws: NetworkError.self) { try Subnet("10.213.0.0") }
        #expect(throws: NetworkError.self) { try Subnet("10.213.0.0/31") }
        #expect(IPAddress("127.0.0.53")!.isLoopback && IPAddress("::1")!.isLoopback && !IPAddress("10.0.0.1")!.isLoopback)
        let json = try JSONEncoder().encode([IPAddress("fd00:caf::2")!])
        #expect(try JSONDecoder().decode([IPAddress].self, from: json) == [IPAddress("fd00:caf::2")!])
    }

    @Test func networkSettingsAreValidated() throws {
        let subnet = try Subnet("10.213.0.0/24")
        #expect(throws: NetworkError.self) { try BridgeNetwork(name: "a/b", bridge: "cstest0", subnet: subnet).validate() }
        #expect(throws: NetworkError.self) { try BridgeNetwork(name: "a", bridge: "bridge-name-too-long", subnet: subnet).validate() }
        #expect(throws: NetworkError.self) { try BridgeNetwork(name: "a", bridge: "cstest0", subnet: try Subnet("fd00::/64")).validate() }
        #expect(throws: NetworkError.self) { try BridgeNetwork(name: "a", bridge: "cstest0", subnet: subnet, mtu: 10).validate() }
        try BridgeNetwork(name: "a", bridge: "cstest0", subnet: subnet, subnet6: try Subnet("fd00:caf::/64"), mtu: 1400).validate()
    }

    @Test func resolvConfDropsLoopbackServers() throws {
        try withTemporaryFile("nameserver 127.0.0.53\nsearch example.org lan\noptions edns0 trust-ad\n") { path in
            var files = EtcFiles()
            files.hostResolvConf = path
            let isolated = files.resolvConf(servers: nil, search: nil, hostMode: false)
            #expect(isolated == "search example.org lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0 trust-ad\n")
            let host = files.resolvConf(servers: nil, search: nil, hostMode: true)
            #expect(host.contains("nameserver 127.0.0.53"))
            let given = files.resolvConf(servers: [IPAddress("10.213.0.1")!], search: ["corp"], hostMode: false)
            #expect(given == "search corp\nnameserver 10.213.0.1\noptions edns0 trust-ad\n")
        }
        let hosts = EtcFiles().hostsFile(hostname: "web", addresses: [IPAddress("10.213.0.2")!],
                                          extra: ["db": IPAddress("10.213.0.3")!], hostMode: false)
        #expect(hosts.contains("127.0.0.1\tlocalhost\n") && hosts.contains("10.213.0.2\tweb\n") && hosts.contains("10.213.0.3\tdb\n"))
    }

    @Test func attachmentAppliesToSpec() throws {
        let attachment = NetworkAttachment(
            containerID: "c", mode: .bridge("n"), namespacePath: "/run/x/netns/c", ownsNamespace: true, hostInterface: "v",
            containerInterface: "eth0", addresses: [], gateways: [], ports: [], hostname: "web", etcDirectory: "/run/x/etc/c")
        var spec = RuntimeSpec.runcDefault()
        spec.mounts = (spec.mounts ?? []) + [RuntimeSpec.Mount(destination: "/etc/hosts", type: "bind", source: "/old")]
        attachment.apply(to: &spec)
        let network = spec.linux?.namespaces?.filter { $0.type == .network } ?? []
        #expect(network == [RuntimeSpec.Linux.Namespace(type: .network, path: "/run/x/netns/c")])
        #expect(spec.mounts?.filter { $0.destination == "/etc/hosts" }.map(\.source) == ["/run/x/etc/c/hosts"])
        #expect(spec.hostname == "web")
        var host = attachment
        host.namespacePath = nil
        host.apply(to: &spec)
        #expect(spec.linux?.namespaces?.contains { $0.type == .network } == false)
    }
}

func withTemporaryFile(_ text: String, _ body: (String) throws -> Void) throws {
    let path = NSTemporaryDirectory() + "caisson-net-\(UUID().uuidString)"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    try body(path)
}
