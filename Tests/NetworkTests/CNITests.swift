import Foundation
import Glibc
@testable import CaissonNetwork
import OCISpec
import Sandbox
import TestSupport
import Testing

@Suite("CNI networking", .serialized)
struct CNITests {
    /// A conflist of Debian's bridge + host-local, portmap and firewall plugins, end to
    /// end: two busybox containers talk TCP over it, the host reaches a published port on
    /// 127.0.0.1, CHECK passes (and fails once host-local's lease is gone), and DEL leaves
    /// no veth, no rule mentioning the containers, no lease, no cached result.
    @Test func conflistEndToEnd() async throws {
        try await withCNI(bridges: [TestCNI.bridge]) { env in
            let conflist = try TestCNI.writeConflist(in: env.directory, subnet6: "fd00:cafe:5::/64")
            // By name, from a configuration directory (the other containers use the path).
            let byName = try Networking(stateRoot: env.directory + "/net-state", runRoot: env.directory + "/net-run",
                                        firewallTable: TestNet.table, interfacePrefix: TestNet.prefix,
                                        cniConfigDirectory: env.directory + "/cni", cniPluginDirectories: [TestCNI.pluginDirectory])
            let server = try await byName.attach(containerID: "cni-srv", mode: .cni(TestCNI.network),
                                                 options: AttachOptions(ports: [try PortMapping(parsing: "18086:7000")]))
            #expect(server.addresses == [IPAddress("10.213.5.2")!, IPAddress("fd00:cafe:5::2")!], "\(server)")
            #expect(server.gateways == [IPAddress("10.213.5.1")!, IPAddress("fd00:cafe:5::1")!])
            let result = try #require(server.cni?.result)
            #expect(result.cniVersion == "1.0.0")
            #expect(result.containerInterfaces.map(\.name) == ["eth0"])
            #expect(result.containerInterfaces.first?.sandbox == server.namespacePath)
            #expect(result.interfaces.contains { $0.name == TestCNI.bridge })
            #expect(TestCNI.ports(of: TestCNI.bridge).count == 1)
            #expect(TestCNI.leases(in: env.directory) == ["10.213.5.2", "fd00:cafe:5::2"])
            let cache = CNINetwork.cachePath(env.networking.store, network: TestCNI.network, containerID: "cni-srv", interfaceName: "eth0")
            #expect(FileManager.default.fileExists(atPath: cache))

            // The server container joins the namespace CNI set up.
            var spec = RuntimeSpec.runcDefault()
            spec.process?.args = ["/bin/busybox", "nc", "-ll", "-p", "7000", "-e", "/bin/cat"]
            spec.process?.terminal = false
            server.apply(to: &spec)
            let bundleDirectory = env.directory + "/bundle-cni-srv"
            try FileManager.default.createDirectory(atPath: bundleDirectory, withIntermediateDirectories: true)
            let bundle = try BusyboxBundle.make(in: bundleDirectory, spec: spec)
            let container = try await env.runtime.create(id: "cni-srv", bundle: bundle.path,
                                                         options: .init(stdio: Stdio(input: .null, output: .null, error: .null)))
            try await container.start()

            let client = try await env.sh("cni-cli", """
                for i in 1 2 3 4 5 6 7 8 9 10; do echo hello-cni | /bin/busybox nc -w 2 10.213.5.2 7000 && break; sleep 0.2; done
                /bin/busybox ip -o -4 addr show eth0; /bin/busybox ip route
                """, mode: .cni(conflist))
            #expect(client.status == .exited(0), "\(client.stderr)")
            #expect(client.stdout.hasPrefix("hello-cni\n"), "\(client.stdout)")
            #expect(client.stdout.contains("inet 10.213.5.3/24"), "\(client.stdout)")
            #expect(client.stdout.contains("default via 10.213.5.1 dev eth0"), "\(client.stdout)")

            #expect(try tcpExchange(IPAddress("127.0.0.1")!, 18086, "via-portmap\n") == "via-portmap\n")
            let rules = try IptablesState.ruleset()
            #expect(rules.contains("cni-srv") && rules.contains("10.213.5.2"), "portmap/bridge/firewall rules: \(rules)")

            // CHECK passes. Debian's portmap 1.1.1 cannot pass it on a host with ip6tables: it
            // checks the IPv4 rules in ip6tables too (containernetworking/plugins#819, fixed
            // in 1.2); then the other plugins' CHECK runs from a list without it.
            do throws(NetworkError) {
                try await env.networking.check(containerID: "cni-srv")
            } catch {
                #expect(error.description.contains("plugin \"portmap\" (2 of 3) CHECK failed: could not check ipv6 dnat"), "\(error)")
                var list = try CNIConfigurationList.load(path: conflist)
                list.plugins.removeAll { $0.type == "portmap" }
                let entry = try #require(try CNINetwork.cached(env.networking.store, network: TestCNI.network, containerID: "cni-srv",
                                                              interfaceName: "eth0"))
                try CNINetwork(list: list, pluginDirectories: [TestCNI.pluginDirectory], store: env.networking.store)
                    .check(CNINetwork.Invocation(entry), previous: try #require(entry.result))
            }
            // Without host-local's leases CHECK fails, naming the plugin and the conflist.
            let leaseDirectory = TestCNI.ipamDirectory(env.directory) + "/\(TestCNI.network)/"
            let leases = TestCNI.leases(in: env.directory)
            for lease in leases { try FileManager.default.moveItem(atPath: leaseDirectory + lease, toPath: env.directory + "/away-" + lease) }
            do throws(NetworkError) {
                try await env.networking.check(containerID: "cni-srv")
                Issue.record("CHECK passed without the address leases")
            } catch {
                #expect(error.code == .plugin && error.description.contains("plugin \"bridge\" (1 of 3) CHECK failed"), "\(error)")
                #expect(error.description.contains("cni:\(TestCNI.network)"), "\(error)")
            }
            for lease in leases { try FileManager.default.moveItem(atPath: env.directory + "/away-" + lease, toPath: leaseDirectory + lease) }

            // A second container may not take the published host port.
            do throws(NetworkError) {
                _ = try await env.networking.attach(containerID: "cni-dup", mode: .cni(conflist),
                                                    options: AttachOptions(ports: [try PortMapping(parsing: "18086:80")]))
                Issue.record("a second container got host port 18086")
            } catch {
                #expect(error.code == .portInUse, "\(error)")
            }

            try await container.delete(force: true)
            #expect(try await env.networking.detach(containerID: "cni-srv"))
            #expect(TestCNI.ports(of: TestCNI.bridge).isEmpty, "veths left on the bridge: \(TestCNI.ports(of: TestCNI.bridge))")
            #expect(TestCNI.leases(in: env.directory).isEmpty, "leases left: \(TestCNI.leases(in: env.directory))")
            #expect(!FileManager.default.fileExists(atPath: cache))
            let after = try IptablesState.ruleset()
            #expect(!after.contains("cni-srv") && !after.contains("cni-cli") && !after.contains("10.213.5.") && !after.contains("fd00:cafe:5:"),
                    "rules left: \(after)")
            #expect(throws: ProbeError.self, "port 18086 is still published") {
                try tcpExchange(IPAddress("127.0.0.1")!, 18086, "gone\n", timeout: 0.2)
            }
        }
    }

    /// A malformed conflist, a missing plugin and a plugin that fails: each a clear error
    /// naming the plugin and the conflist, and nothing left (the plugins that ran got DEL).
    @Test func badConflistsLeaveNothing() async throws {
        try await withCNI(bridges: [TestCNI.bridge, "cstest6"]) { env in
            let directory = env.directory + "/cni"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let malformed = directory + "/malformed.conflist"
            try #"{"cniVersion": "1.0.0", "name": "broken", "plugins": [{"bridge": "x"}]}"#.write(toFile: malformed, atomically: true, encoding: .utf8)
            await expectCleanFailure(env, "c-malformed", .cni(malformed)) { error in
                error.code == .invalidArgument && error.description.contains(malformed) && error.description.contains("plugins[0]")
            }
            let old = directory + "/old.conflist"
            try #"{"cniVersion": "0.2.0", "name": "old", "plugins": [{"type": "bridge"}]}"#.write(toFile: old, atomically: true, encoding: .utf8)
            await expectCleanFailure(env, "c-old", .cni(old)) { error in
                error.code == .invalidArgument && error.description.contains("cniVersion 0.2.0")
            }
            await expectCleanFailure(env, "c-unknown", .cni("no-such-network")) { error in
                error.code == .notFound && error.description.contains("\"no-such-network\"")
            }

            // The bridge plugin runs (veth, lease, masquerade rules), the next is missing:
            // the bridge's DEL undoes it.
            let missing = try TestCNI.writeConflist(in: env.directory, name: "cstmissing",
                                                    plugins: [#"{"type": "caisson-no-such-plugin"}"#])
            await expectCleanFailure(env, "c-missing", .cni(missing)) { error in
                error.code == .notFound && error.description.contains("plugin \"caisson-no-such-plugin\" (4 of 4)")
                    && error.description.contains(missing) && error.description.contains("/usr/lib/cni")
            }
            #expect(TestCNI.ports(of: TestCNI.bridge).isEmpty, "\(TestCNI.ports(of: TestCNI.bridge))")
            #expect(TestCNI.leases(in: env.directory, network: "cstmissing").isEmpty)

            // A plugin's own error object (host-local refuses the range).
            let failing = try TestCNI.writeConflist(in: env.directory, name: "cstfailing", bridge: "cstest6", subnet: "10.213.6.0/33")
            await expectCleanFailure(env, "c-failing", .cni(failing)) { error in
                error.code == .plugin && error.description.contains("plugin \"bridge\" (1 of 3) ADD failed")
                    && error.description.contains(failing) && error.description.contains("CNI error code")
            }
            let rules = try IptablesState.ruleset()
            #expect(!rules.contains("c-missing") && !rules.contains("c-failing"), "rules left: \(rules)")
            let cache = CNINetwork.cacheDirectory(env.networking.store)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).isEmpty)
        }
    }

    /// Attaching `id` must fail as `matches` says and leave no record, namespace or /etc files.
    private func expectCleanFailure(_ env: NetworkTestEnvironment, _ id: String, _ mode: NetworkMode,
                                    sourceLocation: SourceLocation = #_sourceLocation,
                                    _ matches: (NetworkError) -> Bool) async {
        do throws(NetworkError) {
            _ = try await env.networking.attach(containerID: id, mode: mode)
            Issue.record("attach with \(mode) succeeded", sourceLocation: sourceLocation)
        } catch {
            #expect(matches(error), "\(error)", sourceLocation: sourceLocation)
        }
        #expect((try? env.networking.attachment(containerID: id)) == nil, sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: env.directory + "/net-run/netns/" + id), sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: env.directory + "/net-run/etc/" + id), sourceLocation: sourceLocation)
    }
}

@Suite("CNI values")
struct CNIValueTests {
    private let list = """
        {"cniVersion": "1.0.0", "name": "n1", "disableCheck": false, "plugins": [
          {"type": "bridge", "bridge": "b0", "mtu": 1400, "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.1.0.0/24"}]]}},
          {"type": "portmap", "capabilities": {"portMappings": true, "bandwidth": false}, "snat": true}
        ]}
        """

    @Test func listsAndPluginInput() throws {
        let parsed = try CNIConfigurationList(data: Data(list.utf8), source: "/etc/cni/net.d/n1.conflist")
        #expect(parsed.name == "n1" && parsed.cniVersion == "1.0.0" && !parsed.disableCheck)
        #expect(parsed.plugins.map(\.type) == ["bridge", "portmap"])
        #expect(parsed.plugins[1].capabilities == ["portMappings"])

        let network = CNINetwork(list: parsed, pluginDirectories: ["/usr/lib/cni"], store: StateStore(stateRoot: "/nonexistent", runRoot: "/nonexistent"))
        var invocation = CNINetwork.Invocation(containerID: "c1", namespacePath: "/run/netns/c1", interfaceName: "eth0")
        invocation.capabilityArguments["portMappings"] = .array([PortMapping(hostIP: IPAddress("127.0.0.1"), hostPort: 8080, containerPort: 80).cniValue])
        invocation.capabilityArguments["bandwidth"] = .object(["ingressRate": .integer(1)])
        let previous = JSONValue.object(["cniVersion": .string("1.0.0"), "ips": .array([])])
        // The first plugin: its own fields, name and version; no runtimeConfig (it asked for none).
        let first = try #require(JSONValue.parse(network.stdin(for: parsed.plugins[0], invocation, previous: nil)))
        #expect(first["name"]?.string == "n1" && first["cniVersion"]?.string == "1.0.0")
        #expect(first["mtu"]?.integer == 1400 && first["ipam"]?["type"]?.string == "host-local")
        #expect(first["runtimeConfig"] == nil && first["prevResult"] == nil)
        // The second: only the capability it declares true, and the previous result.
        let second = try #require(JSONValue.parse(network.stdin(for: parsed.plugins[1], invocation, previous: previous)))
        #expect(second["snat"]?.bool == true)
        #expect(second["runtimeConfig"]?.object?.keys.sorted() == ["portMappings"])
        let mapping = try #require(second["runtimeConfig"]?["portMappings"]?.array?.first)
        #expect(mapping == .object(["hostPort": .integer(8080), "containerPort": .integer(80), "protocol": .string("tcp"),
                                    "hostIP": .string("127.0.0.1")]))
        #expect(second["prevResult"] == previous)

        // A single .conf is a list of one.
        let single = try CNIConfigurationList(data: Data(#"{"cniVersion": "0.4.0", "name": "one", "type": "bridge"}"#.utf8))
        #expect(single.plugins.map(\.type) == ["bridge"] && single.supportsCheck)
        #expect(try !CNIConfigurationList(data: Data(#"{"cniVersion": "0.3.1", "name": "x", "type": "ptp"}"#.utf8)).supportsCheck)
        for bad in [#"{"cniVersion": "1.0.0", "plugins": [{"type": "bridge"}]}"#,
                    #"{"cniVersion": "1.0.0", "name": "-x", "plugins": [{"type": "bridge"}]}"#,
                    #"{"cniVersion": "1.0.0", "name": "x", "plugins": []}"#,
                    #"{"cniVersion": "1.0.0", "name": "x", "plugins": [{"type": "../bin/sh"}]}"#,
                    #"{"cniVersion": "9.9.9", "name": "x", "plugins": [{"type": "bridge"}]}"#, "not json"] {
            #expect(throws: NetworkError.self, "\(bad)") { try CNIConfigurationList(data: Data(bad.utf8), source: "t.conflist") }
        }
    }

    @Test func results() throws {
        // 0.4.0 (with "version") and 1.0.0 results read alike.
        let text = """
            {"cniVersion": "0.4.0",
             "interfaces": [{"name": "cni0", "mac": "aa:bb:cc:dd:ee:ff"}, {"name": "eth0", "sandbox": "/run/netns/c1"}],
             "ips": [{"version": "4", "address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 1},
                     {"version": "6", "address": "fd00::5/64", "interface": 1}],
             "routes": [{"dst": "0.0.0.0/0"}, {"dst": "192.168.0.0/16", "gw": "10.1.0.254"}],
             "dns": {"nameservers": ["10.1.0.1"], "search": ["example.test"]}}
            """
        let result = try CNIResult(try #require(JSONValue.parse(Data(text.utf8))), what: "test")
        #expect(result.containerInterfaces.map(\.name) == ["eth0"])
        #expect(result.ips.map(\.address) == [IPAddress("10.1.0.5")!, IPAddress("fd00::5")!])
        #expect(result.ips.map(\.prefixLength) == [24, 64] && result.ips[0].gateway == IPAddress("10.1.0.1"))
        #expect(result.routes.map(\.destination) == ["0.0.0.0/0", "192.168.0.0/16"] && result.routes[1].gateway == IPAddress("10.1.0.254"))
        #expect(result.dns.nameservers == ["10.1.0.1"] && result.dns.search == ["example.test"])
        for bad in [#"{"ips": [{"address": "10.1.0.5"}]}"#, #"{"ips": [{"address": "10.1.0.5/24", "interface": 3}]}"#,
                    #"{"interfaces": [{"mac": "x"}]}"#, "[]"] {
            #expect(throws: NetworkError.self, "\(bad)") { try CNIResult(JSONValue.parse(Data(bad.utf8)) ?? .null, what: "test") }
        }
    }

    @Test func pluginErrors() {
        let outcome = CNIPluginProcess.Outcome(status: 1, standardOutput: Data(), standardError: Data("panic: boom\n".utf8))
        let error = JSONValue.object(["code": .integer(7), "msg": .string("bad range"), "details": .string("10.0.0.0/33")])
        #expect(CNINetwork.describeFailure(outcome, error) == "bad range: 10.0.0.0/33 (CNI error code 7, invalid network config)")
        #expect(CNINetwork.describeFailure(outcome, nil) == "exit status 1: panic: boom")
    }

    @Test func modeParsing() throws {
        #expect(try NetworkMode(parsing: "cni:podman") == .cni("podman"))
        #expect(try NetworkMode(parsing: "cni:/etc/cni/net.d/x.conflist") == .cni("/etc/cni/net.d/x.conflist"))
        #expect(NetworkMode.cni("podman").description == "cni:podman")
        #expect(throws: NetworkError.self) { try NetworkMode(parsing: "cni:") }
    }
}
