// package-benchmark suite for the Sandbox lifecycle:
//
//   cd Benchmarks && swift package benchmark --target SandboxLifecycle
//
// Each iteration is one container's whole life, as `Runtime.run` does it: read
// config.json, create (cgroups, clone, namespaces, mounts, pivot_root, wait for start),
// start, wait for /bin/true to exit, delete. Needs root and busybox-static.

import Benchmark
import BenchSupport
import Foundation
import Sandbox

/// Bundles and a state root under /run, made before each benchmark and removed after it.
enum Fixture {
    static let directory = "/run/caisson-benchmark.\(getpid())"
    static let bundles = BenchBundles(directory: directory + "/bundles")
    static let runtime = Runtime(stateRoot: directory + "/state")
    static let quiet = Runtime.CreateOptions(stdio: Stdio(input: .null, output: .null, error: .null))

    static func make() throws {
        guard geteuid() == 0 else { throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "run as root"]) }
        try? FileManager.default.removeItem(atPath: directory)
        _ = try BenchBundles.make(in: bundles.directory)
    }

    static func remove() throws {
        try FileManager.default.removeItem(atPath: directory)
    }

    /// One whole lifecycle; the id is reused, since the container is gone when it returns.
    static func lifecycle(bundle: String) async throws {
        let container = try await runtime.create(id: "cbench-lifecycle", bundle: bundle, options: quiet)
        do {
            try await container.start()
            let status = try await container.wait()
            try await container.delete()
            guard case .exited(0) = status else {
                throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: "/bin/true ended: \(status)"])
            }
        } catch {
            try? await container.delete(force: true)
            throw error
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        warmupIterations: 10,
        maxDuration: .seconds(10),
        maxIterations: 1_000)

    Benchmark("Lifecycle /bin/true, network namespace", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            try await Fixture.lifecycle(bundle: Fixture.bundles.trueNetns)
        }
    } setup: {
        try Fixture.make()
    } teardown: {
        try Fixture.remove()
    }

    Benchmark("Lifecycle /bin/true, no network namespace", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            try await Fixture.lifecycle(bundle: Fixture.bundles.trueNoNetns)
        }
    } setup: {
        try Fixture.make()
    } teardown: {
        try Fixture.remove()
    }

    // create + delete of a container that is never started: the price of reaching
    // `created` (everything but execve) and of tearing it down again.
    Benchmark("Create and delete, never started", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            let container = try await Fixture.runtime.create(
                id: "cbench-created", bundle: Fixture.bundles.trueNetns, options: Fixture.quiet)
            try await container.delete(force: true)
        }
    } setup: {
        try Fixture.make()
    } teardown: {
        try Fixture.remove()
    }
}
