import Foundation
import Glibc
@testable import CaissonNetwork
import Logging
import OCISpec
import Sandbox
import TestSupport
import Testing

/// A log handler that SIGKILLs its own process when a message carries `step` metadata
/// equal to `step`: how the crash test stops a real attach between two of its steps
/// (the steps Networking logs at debug level) without a test hook in the library.
struct KillAtStep: LogHandler {
    let step: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if case .string(let value)? = event.metadata?["step"], value == step {
            kill(getpid(), SIGKILL)
        }
    }
}

/// The body of the crashing process (a swift-testing exit test: a separate process of
/// the test binary): attaches container "crashy" to the bridge network "t0" with a
/// published port, as `Engine.create` does, and is SIGKILLed at `step` — after the
/// namespace, the veth or the port rules are made, or (`container`) after the Sandbox
/// created the container and before it starts.
func attachAndDie(directory: String, step: String) async throws {
    let logger = Logger(label: "caisson.network.crash", factory: { _ in KillAtStep(step: step) })
    let networking = try Networking(stateRoot: directory + "/net-state", runRoot: directory + "/net-run",
                                    firewallTable: TestNet.table, interfacePrefix: TestNet.prefix, logger: logger)
    let attachment = try await networking.attach(containerID: "crashy", mode: .bridge("t0"),
                                                  options: AttachOptions(ports: [try PortMapping(parsing: "18087:7000")]))
    var spec = RuntimeSpec.runcDefault()
    spec.process?.args = ["/bin/sleep", "60"]
    spec.process?.terminal = false
    attachment.apply(to: &spec)
    let bundleDirectory = directory + "/bundle-crashy"
    try FileManager.default.createDirectory(atPath: bundleDirectory, withIntermediateDirectories: true)
    let bundle = try BusyboxBundle.make(in: bundleDirectory, spec: spec)
    _ = try await Runtime(stateRoot: directory + "/sandbox").create(
        id: "crashy", bundle: bundle.path, options: .init(stdio: Stdio(input: .null, output: .null, error: .null)))
    if step == "container" { kill(getpid(), SIGKILL) }
    FileHandle.standardError.write(Data("attachAndDie: step \(step) was never reached\n".utf8))
}

@Suite("Network crash mid-create", .serialized)
struct NetworkCrashTests {
    /// The process creating a bridged container with a published port is SIGKILLed mid-way;
    /// `prune` (what `caisson network prune` runs) then finds and removes its veth, address
    /// lease, port rules, namespace mount and /etc files — once the container is gone.
    @Test(arguments: ["namespace", "veth", "ports", "container"])
    func killedMidCreate(step: String) async throws {
        try await withNetworking { env in
            try await env.createNetwork()
            let directory = env.directory
            await #expect(processExitsWith: .signal(SIGKILL), "killed after step \(step)") { [directory = directory as String, step = step as String] in
                try await attachAndDie(directory: directory, step: step)
            }

            // What the crash left: the record (written first) and, step by step, the rest.
            let record = try #require(try env.networking.attachment(containerID: "crashy"), "no record after a crash at \(step)")
            let namespace = try #require(record.namespacePath)
            let veth = try #require(record.hostInterface)
            let steps = ["namespace", "veth", "ports", "container"]
            let reached = steps.firstIndex(of: step)!
            #expect(NetworkNamespace.isMounted(namespace))
            #expect(testLinks().contains(veth) == (reached >= 1), "\(testLinks())")
            let firewall = Firewall(table: TestNet.table)
            let portRules = { try firewall.rules().filter { $0.comment == "ctr:crashy" } }
            let rulesLeft = try portRules()
            #expect(rulesLeft.isEmpty == (reached < 2), "\(rulesLeft)")
            let leases = { try AddressAllocator(store: env.networking.store, network: "t0").allocations() }
            #expect(try leases() == ["10.213.0.2": "crashy"])

            if step == "container" {
                // The container outlived the process: prune must leave its network alone
                // until it is deleted (here as `runc delete` would, without the network).
                let live = Set(try env.runtime.list().filter { $0.status != .stopped }.map(\.id))
                #expect(live == ["crashy"])
                #expect(try await env.networking.prune(liveContainers: live).isEmpty)
                #expect(NetworkNamespace.isMounted(namespace) && testLinks().contains(veth))
                try await env.runtime.container(id: "crashy").delete(force: true)
            }
            let live = Set(try env.runtime.list().filter { $0.status != .stopped }.map(\.id))
            let report = try await env.networking.prune(liveContainers: live)
            #expect(report.attachments == ["crashy"], "\(report)")
            #expect(try env.networking.attachment(containerID: "crashy") == nil)
            #expect(!NetworkNamespace.isMounted(namespace) && !FileManager.default.fileExists(atPath: namespace))
            #expect(!testLinks().contains(veth), "\(testLinks())")
            #expect(try portRules().isEmpty)
            #expect(try leases().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: record.etcDirectory))
            #expect(try await env.networking.prune(liveContainers: live).isEmpty, "a second prune finds nothing")
            // The host port is free again.
            let again = try await env.networking.attach(containerID: "after", mode: .bridge("t0"),
                                                        options: AttachOptions(ports: [try PortMapping(parsing: "18087:7000")]))
            #expect(again.addresses == [IPAddress("10.213.0.2")!])
            try await env.networking.detach(containerID: "after")
        }
    }
}

@Suite("Two stores", .serialized)
struct TwoStoreTests {
    /// Two stores on one host each get a firewall table of their own: removing the last
    /// network of one leaves the other's port rules working, and prune in one leaves the
    /// other's veths alone. Two stores given one table keep it until both are done.
    @Test func storesDoNotTouchEachOther() async throws {
        try await withNetworking { env in
            let a = try Networking(stateRoot: env.directory + "/a/network", runRoot: env.directory + "/a/run", interfacePrefix: TestNet.prefix)
            let b = try Networking(stateRoot: env.directory + "/b/network", runRoot: env.directory + "/b/run", interfacePrefix: TestNet.prefix)
            #expect(a.firewallTable != b.firewallTable, "\(a.firewallTable)")
            #expect(a.firewallTable.hasPrefix("caisson_") && b.firewallTable.hasPrefix("caisson_"))
            #expect(Networking.defaultFirewallTable(stateRoot: "/var/lib/caisson/network/") == "caisson")
            var failure: (any Error)?
            var container: Container?
            do {
                try await a.createNetwork(BridgeNetwork(name: "net", bridge: "cstest0", subnet: try Subnet(TestNet.subnet0)))
                try await b.createNetwork(BridgeNetwork(name: "net", bridge: "cstest1", subnet: try Subnet(TestNet.subnet1)))
                _ = try await a.attach(containerID: "web", mode: .bridge("net"),
                                       options: AttachOptions(ports: [try PortMapping(parsing: "18088:7000")]))
                let served = try await b.attach(containerID: "web", mode: .bridge("net"),
                                                options: AttachOptions(ports: [try PortMapping(parsing: "18089:7000")]))
                var spec = RuntimeSpec.runcDefault()
                spec.process?.args = ["/bin/busybox", "nc", "-ll", "-p", "7000", "-e", "/bin/cat"]
                spec.process?.terminal = false
                served.apply(to: &spec)
                try FileManager.default.createDirectory(atPath: env.directory + "/bundle-b", withIntermediateDirectories: true)
                let bundle = try BusyboxBundle.make(in: env.directory + "/bundle-b", spec: spec)
                container = try await env.runtime.create(id: "b-web", bundle: bundle.path,
                                                         options: .init(stdio: Stdio(input: .null, output: .null, error: .null)))
                try await container!.start()
                #expect(try tcpExchange(IPAddress("127.0.0.1")!, 18089, "store-b\n") == "store-b\n")

                // Prune in A (no live containers) releases A's "web" only: B's veth (same
                // prefix, same container id) hangs off B's bridge.
                let report = try await a.prune(liveContainers: [])
                #expect(report.attachments == ["web"] && report.interfaces.isEmpty, "\(report)")
                #expect(testLinks().contains(try #require(served.hostInterface)))
                try await a.removeNetwork(named: "net")
                #expect(try Firewall(table: a.firewallTable).exists() == false, "A's table goes with A's last network")
                #expect(try b.firewallListing().contains("comment \"ctr:web\""))
                #expect(try tcpExchange(IPAddress("127.0.0.1")!, 18089, "still-b\n") == "still-b\n")
                try await container!.delete(force: true)
                container = nil
                try await b.detach(containerID: "web")
                try await b.removeNetwork(named: "net")
                #expect(try Firewall(table: b.firewallTable).exists() == false)

                // Two stores given one table: it stays while either has a network in it.
                let c = try Networking(stateRoot: env.directory + "/c/network", runRoot: env.directory + "/c/run",
                                       firewallTable: TestNet.table, interfacePrefix: TestNet.prefix)
                try await c.createNetwork(BridgeNetwork(name: "c", bridge: "cstest2", subnet: try Subnet("10.213.2.0/24")))
                try await env.createNetwork()
                try await c.removeNetwork(named: "c")
                #expect(try env.networking.firewallListing().contains("comment \"net:t0\""), "the other store's rules stay")
                try await env.networking.removeNetwork(named: "t0")
                #expect(try Firewall(table: TestNet.table).exists() == false, "the table goes with the last network of both")
            } catch {
                failure = error
            }
            if let container { try? await container.delete(force: true) }
            for networking in [a, b] {
                for attachment in (try? networking.attachments()) ?? [] { _ = try? await networking.detach(containerID: attachment.containerID) }
                for network in (try? networking.networks()) ?? [] { try? await networking.removeNetwork(named: network.name) }
                _ = try? await networking.deleteFirewallTable()
            }
            if let failure { throw failure }
        }
    }
}
