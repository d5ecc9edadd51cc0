import Foundation
import Glibc
@testable import CaissonNetwork
import OCISpec
import Sandbox
import Testing

/// The inode of a namespace file, as `readlink /proc/self/ns/net` prints it (`net:[N]`).
func namespaceLink(_ path: String) throws -> String {
    var st = stat()
    guard stat(path, &st) == 0 else { throw ProbeError(description: "stat \(path): errno \(errno)") }
    return "net:[\(st.st_ino)]"
}

@Suite("Attachments", .serialized)
struct AttachmentTests {
    @Test func noneHasOnlyLoopback() async throws {
        try await withNetworking { env in
            let result = try await env.sh("lonely", """
                /bin/busybox ip -o link; echo ---; /bin/busybox ip -o addr; echo ---; readlink /proc/self/ns/net
                cat /etc/hostname
                """, mode: .none, options: AttachOptions(hostname: "solo"))
            #expect(result.status == .exited(0), "\(result.stderr)")
            let sections = result.stdout.components(separatedBy: "---\n")
            try #require(sections.count == 3, "\(result.stdout)")
            let links = sections[0].split(separator: "\n")
            #expect(links.count == 1 && links[0].contains("lo:") && links[0].contains("UP"), "\(sections[0])")
            #expect(sections[1].contains("inet 127.0.0.1/8"), "\(sections[1])")
            #expect(!sections[1].contains("eth"), "\(sections[1])")
            let hostNamespace = try namespaceLink("/proc/self/ns/net")
            #expect(!sections[2].hasPrefix(hostNamespace), "a namespace of its own")
            #expect(sections[2].hasSuffix("solo\n"), "\(sections[2])")
        }
    }

    @Test func hostSharesTheHostNamespace() async throws {
        try await withNetworking { env in
            let attachment = try await env.networking.attach(containerID: "hosty", mode: .host)
            #expect(attachment.namespace == nil && attachment.namespacePath == nil)
            try await env.networking.detach(containerID: "hosty")
            let result = try await env.sh("hosty", "readlink /proc/self/ns/net", mode: .host)
            let hostNamespace = try namespaceLink("/proc/self/ns/net")
            #expect(result.stdout == hostNamespace + "\n", "\(result)")
        }
    }

    /// `container:ID` and a namespace path both join the same namespace.
    @Test func joinAnotherContainersNamespace() async throws {
        try await withNetworking { env in
            try await env.createNetwork()
            let (first, attachment) = try await env.start("first", ["/bin/busybox", "nc", "-ll", "-p", "7000", "-e", "/bin/cat"],
                                                          mode: .bridge("t0"))
            let path = try #require(attachment.namespacePath)
            let joined = try await env.sh("second", """
                readlink /proc/self/ns/net; /bin/busybox ip -o -4 addr show eth0
                for i in 1 2 3 4 5 6 7 8 9 10; do echo over-lo | /bin/busybox nc -w 2 127.0.0.1 7000 && break; sleep 0.2; done
                """, mode: .container("first"))
            let namespace = try namespaceLink(path)
            #expect(joined.stdout.hasPrefix(namespace + "\n"), "\(joined)")
            #expect(joined.stdout.contains("inet 10.213.0.2/24"), "\(joined.stdout)")
            #expect(joined.stdout.hasSuffix("over-lo\n"), "\(joined.stdout)")
            let byPath = try await env.sh("third", "readlink /proc/self/ns/net", mode: .namespacePath(path))
            #expect(byPath.stdout == namespace + "\n")
            // Joiners own nothing: the namespace stays until its owner detaches.
            #expect(NetworkNamespace.isMounted(path))
            do throws(NetworkError) {
                _ = try await env.networking.attach(containerID: "fourth", mode: .container("nobody"))
                Issue.record("joined a container that does not exist")
            } catch {
                #expect(error.code == .notFound && error.description.contains("\"nobody\""))
            }
            try await env.stop(first)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    /// Allocations survive a new `Networking` (a restarted process), lowest free first,
    /// and are released on detach.
    @Test func addressesPersistAndAreReleased() async throws {
        try await withNetworking { env in
            try await env.createNetwork(subnet6: TestNet.subnet6)
            let a = try await env.networking.attach(containerID: "a", mode: .bridge("t0"))
            let b = try await env.networking.attach(containerID: "b", mode: .bridge("t0"))
            #expect(a.addresses == [IPAddress("10.213.0.2")!, IPAddress("fd00:caf::2")!])
            #expect(b.addresses == [IPAddress("10.213.0.3")!, IPAddress("fd00:caf::3")!])
            #expect(testLinks().contains(try #require(b.hostInterface)))

            let restarted = try env.reopen()
            #expect(try restarted.attachment(containerID: "b") == b)
            #expect(try restarted.network(named: "t0")?.subnet6 == (try Subnet(TestNet.subnet6)))
            let c = try await restarted.attach(containerID: "c", mode: .bridge("t0"))
            #expect(c.addresses == [IPAddress("10.213.0.4")!, IPAddress("fd00:caf::4")!])
            try await restarted.detach(containerID: "a")
            #expect(!testLinks().contains(try #require(a.hostInterface)))
            #expect(!FileManager.default.fileExists(atPath: try #require(a.namespacePath)))
            let d = try await env.reopen().attach(containerID: "d", mode: .bridge("t0"))
            #expect(d.addresses == [IPAddress("10.213.0.2")!, IPAddress("fd00:caf::2")!], "the freed address is reused")
            do throws(NetworkError) {
                _ = try await env.networking.attach(containerID: "d", mode: .bridge("t0"))
                Issue.record("attached twice")
            } catch {
                #expect(error.code == .alreadyExists)
            }
            do throws(NetworkError) {
                try await env.networking.removeNetwork(named: "t0")
                Issue.record("removed a network in use")
            } catch {
                #expect(error.code == .inUse && error.description.contains("b, c, d"), "\(error)")
            }
            for id in ["b", "c", "d"] { #expect(try await env.networking.detach(containerID: id)) }
            #expect(try await env.networking.detach(containerID: "d") == false)
            let table = try AddressAllocator(store: env.networking.store, network: "t0").allocations()
            #expect(table.isEmpty, "\(table)")
            try await env.networking.removeNetwork(named: "t0")
            #expect(testLinks().isEmpty)
            #expect(try Firewall(table: TestNet.table).exists() == false, "the table goes with the last network")
        }
    }

    /// A process that attached containers and died leaves records, namespaces, veths,
    /// rules and allocations; prune, from a new process's view, finds and removes them all,
    /// including those of an attach interrupted before its record was complete.
    @Test func pruneAfterCrash() async throws {
        try await withNetworking { env in
            try await env.createNetwork()
            let crashed = try env.reopen()
            let kept = try await crashed.attach(containerID: "kept", mode: .bridge("t0"))
            let lost = try await crashed.attach(containerID: "lost", mode: .bridge("t0"),
                                          options: AttachOptions(ports: [try PortMapping(parsing: "18081:80")]))
            let torn = try await crashed.attach(containerID: "torn", mode: .bridge("t0"),
                                          options: AttachOptions(ports: [try PortMapping(parsing: "18082:80")]))
            let lonely = try await crashed.attach(containerID: "lonely", mode: .none)
            // "torn" crashed mid-attach: its resources exist but its record does not.
            try env.networking.store.removeAttachment("torn")

            let report = try await env.reopen().prune(liveContainers: ["kept"])
            #expect(report.attachments.sorted() == ["lonely", "lost"])
            #expect(report.namespaces == [try #require(torn.namespacePath)])
            #expect(report.interfaces == [try #require(torn.hostInterface)])
            #expect(report.rules == 1, "torn's DNAT rule")
            #expect(report.addresses == [torn.addresses[0]])
            #expect(report.etcDirectories == [torn.etcDirectory])
            for gone in [lost, torn, lonely] {
                #expect(!FileManager.default.fileExists(atPath: try #require(gone.namespacePath)))
                #expect(!FileManager.default.fileExists(atPath: gone.etcDirectory))
                if let veth = gone.hostInterface { #expect(!testLinks().contains(veth)) }
            }
            let rules = try Firewall(table: TestNet.table).rules()
            #expect(!rules.contains { $0.comment?.hasPrefix("ctr:") == true }, "\(rules)")
            #expect(try AddressAllocator(store: env.networking.store, network: "t0").allocations() == ["10.213.0.2": "kept"])
            // The survivor is untouched and a second prune finds nothing.
            #expect(NetworkNamespace.isMounted(try #require(kept.namespacePath)))
            #expect(testLinks().contains(try #require(kept.hostInterface)))
            #expect(try await env.networking.prune(liveContainers: ["kept"]).isEmpty)
            #expect(try await env.networking.prune(liveContainers: []).attachments == ["kept"])
        }
    }
}

@Suite("Network recovery", .serialized)
struct RecoveryTests {
    /// After a reboot (or a firewall flush) the settings survive but the bridge and the
    /// rules do not: the next attach brings them back.
    @Test func networkComesBackAfterReboot() async throws {
        try await withNetworking { env in
            try await env.createNetwork()
            #expect(try env.networking.firewallListing().contains("masquerade comment \"net:t0\""))
            try RouteSocket().deleteLink("cstest0")
            #expect(try await env.networking.deleteFirewallTable())
            let listing = try env.networking.firewallListing()
            #expect(testLinks().isEmpty && listing.isEmpty)

            let restarted = try env.reopen()
            let result = try await env.sh("after", """
                /bin/busybox ip route | grep default
                """, mode: .bridge("t0"), options: AttachOptions(ports: [try PortMapping(parsing: "18083:80")]))
            #expect(result.stdout == "default via 10.213.0.1 dev eth0 \n", "\(result)")
            #expect(testLinks() == ["cstest0"])
            #expect(try restarted.firewallListing().contains("masquerade comment \"net:t0\""))
            do throws(NetworkError) {
                _ = try await restarted.attach(containerID: "v6port", mode: .bridge("t0"),
                                         options: AttachOptions(ports: [try PortMapping(parsing: "[::1]:18084:80")]))
                Issue.record("an IPv6 host address on an IPv4-only network was accepted")
            } catch {
                #expect(error.code == .invalidArgument && error.description.contains("no IPv6 subnet"), "\(error)")
            }
            #expect(try restarted.attachment(containerID: "v6port") == nil)
        }
    }
}

@Suite("Concurrent attachments", .serialized)
struct ConcurrencyTests {
    /// Attaches from several `Networking` objects at once (as several processes would):
    /// the file lock hands out every address and host port once.
    @Test func concurrentAttachesGetDistinctAddressesAndPorts() async throws {
        try await withNetworking { env in
            try await env.createNetwork()
            let handles = try (0..<8).map { _ in try env.reopen() }
            let results = await withTaskGroup(of: Result<NetworkAttachment, NetworkError>.self) { group in
                for (i, networking) in handles.enumerated() {
                    group.addTask {
                        do throws(NetworkError) {
                            // Everyone asks for 18085; exactly one may get it.
                            let port = try PortMapping(parsing: "18085:80")
                            return .success(try await networking.attach(containerID: "c\(i)", mode: .bridge("t0"),
                                                                        options: AttachOptions(ports: i % 2 == 0 ? [port] : [])))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var all: [Result<NetworkAttachment, NetworkError>] = []
                for await result in group { all.append(result) }
                return all
            }
            let attached = results.compactMap { try? $0.get() }
            let refused = results.compactMap { if case .failure(let e) = $0 { return e } else { return nil } }
            #expect(attached.count == 5 && refused.count == 3, "\(refused)")
            #expect(refused.allSatisfy { $0.code == .portInUse })
            #expect(attached.filter { !$0.ports.isEmpty }.count == 1)
            let addresses = attached.map { $0.addresses[0] }
            #expect(Set(addresses).count == attached.count, "\(addresses)")
            #expect(Set(addresses) == Set((2...6).map { IPAddress("10.213.0.\($0)")! }))
            await withTaskGroup(of: Void.self) { group in
                for attachment in attached {
                    group.addTask { _ = try? await env.networking.detach(containerID: attachment.containerID) }
                }
            }
            #expect(try env.networking.attachments().isEmpty)
            #expect(try AddressAllocator(store: env.networking.store, network: "t0").allocations().isEmpty)
        }
    }
}
