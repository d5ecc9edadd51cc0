import Caisson
import Foundation
import Synchronization
import Testing
import TestSupport

@Suite("Engine pull", .serialized)
struct PullTests {
    @Test("pull from a registry with progress, then run the pulled image by its short reference")
    func pullAndRun() async throws {
        try #require(LocalRegistry.isAvailable, "docker-registry is needed (make deps)")
        try await withEngine { env in
            try await withLocalRegistry { registry in
                let reference = "\(registry.host)/tests/busybox:1.0"
                let pushed = try await env.engine.push("busybox", to: reference)
                #expect(pushed.reference.description.hasPrefix(reference + "@sha256:"))

                let other = try Engine(storeRoot: env.directory + "/store2", stateRoot: env.directory + "/state2")
                let events = Mutex<[PullProgress.Event]>([])
                let pulled = try await other.pull(reference) { progress in events.withLock { $0.append(progress.event) } }
                #expect(pulled.downloadedBytes > 0)
                let seen = events.withLock { $0 }
                #expect(seen.first == .resolved)
                #expect(seen.filter { $0 == .committed }.count == 2, "config and one layer: \(seen)")
                #expect(try other.images().map(\.name) == [reference])

                var configuration = ContainerConfiguration()
                configuration.limits = ResourceLimits(memoryBytes: 32 << 20, pids: 16)
                let output = try await other.run(reference, ["/bin/sh", "-c", "echo pulled; id -u"], configuration: configuration)
                #expect(output.standardOutputText == "pulled\n0\n", "\(output.standardErrorText)")
                #expect(try other.containers().isEmpty)
            }
        }
    }

    @Test("cancelling a pull cancels its downloads and names nothing")
    func cancelPull() async throws {
        try #require(LocalRegistry.isAvailable, "docker-registry is needed (make deps)")
        try await withEngine { env in
            // A large incompressible layer, stored uncompressed, so the download takes a while.
            let big = env.directory + "/big"
            try FileManager.default.createDirectory(atPath: big, withIntermediateDirectories: true)
            let urandom = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
            try urandom.readData(ofLength: 96 << 20).write(to: URL(fileURLWithPath: big + "/blob"))
            try urandom.close()
            try await env.engine.store.build(from: big, name: "big", config: .init(cmd: ["/blob"]), compression: .none)
            try await withLocalRegistry { registry in
                let reference = "\(registry.host)/tests/big:1"
                try await env.engine.push("big", to: reference)

                let other = try Engine(storeRoot: env.directory + "/store2", stateRoot: env.directory + "/state2")
                let downloading = Mutex(false)
                let task = Task {
                    try await other.pull(reference) { progress in
                        if case .downloading = progress.event { downloading.withLock { $0 = true } }
                    }
                }
                let clock = ContinuousClock()
                let deadline = clock.now + .seconds(30)
                while !downloading.withLock({ $0 }) && clock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
                task.cancel()
                let start = clock.now
                let result = await task.result
                #expect(clock.now - start < .seconds(10))
                switch result {
                case .success:
                    Issue.record("the pull finished although it was cancelled while downloading")
                case .failure(let error):
                    #expect(error is CancellationError || "\(error)".localizedCaseInsensitiveContains("cancel"), "\(error)")
                }
                #expect(try other.images().isEmpty, "a cancelled pull names no image")
            }
        }
    }
}
