import Foundation
import ImageStore
import OCISpec
import Registry
import Testing
import TestSupport

@Suite("Endpoints: Docker Hub mapping and mirror settings (no network)")
struct EndpointMappingTests {
    @Test("docker.io is served from registry-1.docker.io; its mirrors come first; other registries keep theirs")
    func dockerHubMapping() async throws {
        let configuration = RegistryConfiguration(hosts: [
            "docker.io": RegistryHostConfiguration(mirrors: ["mirror.gcr.io", "http://10.0.0.5:5000/", "https://registry-1.docker.io"]),
            "ghcr.io": RegistryHostConfiguration(mirrors: ["127.0.0.1:5001"]),
        ])
        try await RegistryClient.withClient(configuration: configuration) { client in
            let hub = try client.pullEndpoints(for: Reference(parsing: "busybox"))
            // The origin listed as a mirror is not tried twice.
            #expect(hub.map(\.base) == ["https://mirror.gcr.io", "http://10.0.0.5:5000", "https://registry-1.docker.io"])
            #expect(hub.map(\.isMirror) == [true, true, false])
            #expect(hub.last?.url("library/busybox/manifests/latest") == "https://registry-1.docker.io/v2/library/busybox/manifests/latest")
            let explicit = try client.pullEndpoints(for: Reference(parsing: "docker.io/org/app:1"))
            #expect(explicit.map(\.base) == hub.map(\.base))

            let ghcr = try client.pullEndpoints(for: Reference(parsing: "ghcr.io/org/app"))
            // A loopback mirror speaks plain HTTP, as loopback registries do.
            #expect(ghcr.map(\.base) == ["http://127.0.0.1:5001", "https://ghcr.io"])
            let quay = try client.pullEndpoints(for: Reference(parsing: "quay.io/org/app"))
            #expect(quay.map(\.base) == ["https://quay.io"])
        }

        // Settings filed under an alias of Docker Hub apply too.
        let alias = RegistryConfiguration(hosts: ["index.docker.io": RegistryHostConfiguration(mirrors: ["hub-mirror.example"])])
        try await RegistryClient.withClient(configuration: alias) { client in
            let endpoints = try client.pullEndpoints(for: Reference(parsing: "library/alpine"))
            #expect(endpoints.map(\.base) == ["https://hub-mirror.example", "https://registry-1.docker.io"])
        }

        // A malformed mirror is a configuration error naming it.
        let bad = RegistryConfiguration(hosts: ["docker.io": RegistryHostConfiguration(mirrors: ["https://mirror.example/some/path"])])
        try await RegistryClient.withClient(configuration: bad) { client in
            let error = await registryError { _ = try client.pullEndpoints(for: Reference(parsing: "busybox")) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains("https://mirror.example/some/path") == true)
        }
    }

    @Test("TLS settings make a loopback registry HTTPS; certs.d files are found per host")
    func tlsSettingsDecideTheScheme() async throws {
        try await withTemporaryDirectory(prefix: "caisson-certsd") { directory in
            let host = "127.0.0.1:5443"
            try FileManager.default.createDirectory(atPath: "\(directory)/\(host)", withIntermediateDirectories: true)
            try Data("not used".utf8).write(to: URL(fileURLWithPath: "\(directory)/\(host)/ca.crt"))
            let configuration = RegistryConfiguration(certificateDirectories: [directory])
            #expect(!configuration.usesPlainHTTP(host))
            #expect(configuration.usesPlainHTTP("127.0.0.1:5000"))
            #expect(try configuration.hostConfiguration(for: host).caCertificateFiles == ["\(directory)/\(host)/ca.crt"])
            let forced = RegistryConfiguration(hosts: ["127.0.0.1:5000": RegistryHostConfiguration(plainHTTP: false)])
            #expect(!forced.usesPlainHTTP("127.0.0.1:5000"))
            let plain = RegistryConfiguration(hosts: ["registry.lan": RegistryHostConfiguration(plainHTTP: true)])
            #expect(plain.usesPlainHTTP("registry.lan"))

            // A client certificate without its key is refused, naming the file.
            try Data("cert".utf8).write(to: URL(fileURLWithPath: "\(directory)/\(host)/client.cert"))
            let error = await registryError { _ = try configuration.hostConfiguration(for: host) }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.message.contains("client.cert") == true)
        }
    }
}

@Suite("TLS against a registry serving HTTPS with a test CA", .enabled(if: registryToolsAvailable && TestCertificates.isAvailable))
struct TLSTests {
    @Test("pull over https with the CA from certs.d or host settings; without it a clear TLS error")
    func httpsWithCustomCA() async throws {
        try await withTemporaryDirectory(prefix: "caisson-tls") { directory in
            let certificates = try TestCertificates.make(in: directory)
            try await withRegistryFixture(tls: certificates.serverFiles) { fixture in
                let host = fixture.registry.host
                let certsD = "\(directory)/certs.d"
                try FileManager.default.createDirectory(atPath: "\(certsD)/\(host)", withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: certificates.caCertificate, toPath: "\(certsD)/\(host)/ca.crt")
                let target = try fixture.reference("secure/busybox:1")

                let trusted = RegistryConfiguration(retry: RetryPolicy(maxAttempts: 2), certificateDirectories: [certsD])
                #expect(!trusted.usesPlainHTTP(host))
                try await RegistryClient.withClient(configuration: trusted) { client in
                    let pushed = try await client.push("busybox", from: fixture.source, to: target)
                    let store = try fixture.newStore("tls")
                    let pulled = try await client.pull(target, into: store)
                    #expect(pulled.reference.digest == pushed.descriptor.digest)
                    #expect(pulled.image.manifest == fixture.busybox.manifest)
                    for layer in pulled.image.manifest.layers { #expect(store.contains(layer.digest)) }
                }

                // The same CA given in the host's settings.
                let explicit = RegistryConfiguration(
                    retry: RetryPolicy(maxAttempts: 2),
                    hosts: [host: RegistryHostConfiguration(caCertificateFiles: [certificates.caCertificate])])
                try await RegistryClient.withClient(configuration: explicit) { client in
                    let resolved = try await client.resolve(target)
                    #expect(resolved.manifestDocument.descriptor.digest == fixture.busybox.manifestDescriptor.digest)
                }

                // HTTPS without the CA: the handshake fails, once (not retried), naming the host.
                let untrusted = RegistryConfiguration(
                    retry: RetryPolicy(maxAttempts: 3), hosts: [host: RegistryHostConfiguration(plainHTTP: false)])
                try await RegistryClient.withClient(configuration: untrusted) { client in
                    let started = ContinuousClock.now
                    let error = await registryError { _ = try await client.resolve(target) }
                    #expect(error?.code == .tls)
                    #expect(error?.message.contains(host) == true)
                    #expect(error?.message.contains("trusted CA") == true)
                    #expect(ContinuousClock.now - started < .seconds(5))
                }

                // A CA file that is not PEM is a configuration error naming it.
                let garbage = "\(directory)/garbage.crt"
                try Data("garbage".utf8).write(to: URL(fileURLWithPath: garbage))
                let broken = RegistryConfiguration(hosts: [host: RegistryHostConfiguration(caCertificateFiles: [garbage])])
                try await RegistryClient.withClient(configuration: broken) { client in
                    let error = await registryError { _ = try await client.resolve(target) }
                    #expect(error?.code == .invalidConfiguration)
                    #expect(error?.message.contains(garbage) == true)
                }
            }
        }
    }
}

@Suite("Mirrors against two local registries", .enabled(if: registryToolsAvailable))
struct MirrorTests {
    @Test("a mirror is tried first; missing content, failures and a dead mirror fall back to the origin; pushes skip it")
    func mirrorThenOrigin() async throws {
        try await withRegistryFixture { fixture in
            try await withLocalRegistry { mirror in
                let proxy = try FaultProxy(upstreamPort: mirror.port)
                defer { proxy.stop() }
                let origin = fixture.registry.host
                // Only the mirror has `mirrored/…`; only the origin has `origin/…`.
                let onMirror = try Reference(parsing: "\(mirror.host)/mirrored/busybox:1")
                try await fixture.client.push("busybox", from: fixture.source, to: onMirror)
                let originOnly = try fixture.reference("origin/busybox:1")
                try await fixture.client.push("busybox", from: fixture.source, to: originOnly)

                let configuration = RegistryConfiguration(
                    retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(50)),
                    hosts: [origin: RegistryHostConfiguration(mirrors: [proxy.host])])
                try await RegistryClient.withClient(configuration: configuration) { client in
                    #expect(try client.pullEndpoints(for: originOnly).map(\.host) == [proxy.host, origin])

                    // Served by the mirror although the origin lacks it.
                    let viaMirror = try fixture.reference("mirrored/busybox:1")
                    let first = try fixture.newStore("mirror-1")
                    let pulled = try await client.pull(viaMirror, into: first)
                    #expect(pulled.image.manifest == fixture.busybox.manifest)
                    let mirrorPaths = proxy.requests.map(\.path)
                    #expect(mirrorPaths.contains("/v2/mirrored/busybox/manifests/1"))
                    for layer in fixture.busybox.manifest.layers {
                        #expect(mirrorPaths.contains("/v2/mirrored/busybox/blobs/\(layer.digest)"))
                    }

                    // The mirror lacks it: asked first, then the origin serves it.
                    let second = try fixture.newStore("mirror-2")
                    let fromOrigin = try await client.pull(originOnly, into: second)
                    #expect(fromOrigin.image.manifest == fixture.busybox.manifest)
                    #expect(proxy.requests.map(\.path).contains("/v2/origin/busybox/manifests/1"))

                    // A failing mirror (503) is not retried: one request per item, then the origin.
                    proxy.inject(.status(503, retryAfter: nil, times: 1_000, pathContains: "/v2/"))
                    let before = proxy.requests.count
                    let third = try fixture.newStore("mirror-3")
                    let despiteFailure = try await client.pull(originOnly, into: third)
                    #expect(despiteFailure.image.manifest == fixture.busybox.manifest)
                    let failed = proxy.requests.dropFirst(before).map(\.path)
                    #expect(Set(failed).count == failed.count, "mirror requests retried: \(failed)")
                    #expect(failed.count == 1 + fixture.busybox.manifest.layers.count + 1)

                    // Pushes never go to a mirror.
                    let pushTarget = try fixture.reference("pushed/busybox:1")
                    let beforePush = proxy.requests.count
                    try await client.push("busybox", from: fixture.source, to: pushTarget)
                    #expect(proxy.requests.count == beforePush)
                }

                // A mirror nobody listens on: the origin serves.
                let deadPort = proxy.port
                proxy.stop()
                let dead = RegistryConfiguration(
                    retry: RetryPolicy(maxAttempts: 2, initialDelay: .milliseconds(50)),
                    hosts: [origin: RegistryHostConfiguration(mirrors: ["http://127.0.0.1:\(deadPort)"])])
                try await RegistryClient.withClient(configuration: dead) { client in
                    let store = try fixture.newStore("mirror-dead")
                    let pulled = try await client.pull(originOnly, into: store)
                    #expect(pulled.image.manifest == fixture.busybox.manifest)
                }

                // Nothing anywhere: the origin's error is the one reported.
                try await RegistryClient.withClient(configuration: configuration) { client in
                    let error = await registryError { _ = try await client.resolve(fixture.reference("nowhere/busybox:1")) }
                    #expect(error?.code == .notFound)
                    #expect(error?.message.contains(origin) == true)
                }
            }
        }
    }
}
