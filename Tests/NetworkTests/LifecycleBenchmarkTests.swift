import Foundation
import CaissonNetwork
import OCISpec
import Sandbox
import TestSupport
import Testing

/// The cost networking adds to a container's lifecycle: create + start + wait + delete of
/// /bin/true with the spec's own (empty) network namespace, versus `none` and `bridge` with
/// one published port through ``Networking`` (attach before, detach after).
///
/// Runs a few iterations in every test run (each must exit 0 and leave nothing behind);
/// Benchmarks/network.sh sets CAISSON_NET_BENCH_RUNS for a real measurement and reads the
/// `network.<variant>.<stat>_ms <value>` lines it prints.
@Suite("Network lifecycle benchmark", .serialized)
struct LifecycleBenchmarkTests {
    @Test func lifecycleWithAndWithoutNetworking() async throws {
        let runs = Int(ProcessInfo.processInfo.environment["CAISSON_NET_BENCH_RUNS"] ?? "") ?? 5
        try await withNetworking { env in
            try await env.createNetwork()
            let variants: [(name: String, mode: NetworkMode?, ports: [PortMapping])] = [
                ("plain", nil, []),
                ("none", NetworkMode.none, []),
                ("bridge_port", .bridge("t0"), [try PortMapping(parsing: "18090:80")]),
            ]
            for variant in variants {
                let id = "bench-" + variant.name
                let directory = env.directory + "/bundle-" + id
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                var bundle: BusyboxBundle?
                var samples: [Double] = []
                for run in 0..<(runs + 2) {
                    let start = DispatchTime.now().uptimeNanoseconds
                    var spec = RuntimeSpec.runcDefault()
                    spec.process?.args = ["/bin/true"]
                    spec.process?.terminal = false
                    if let mode = variant.mode {
                        let attachment = try await env.networking.attach(containerID: id, mode: mode,
                                                                   options: AttachOptions(ports: variant.ports))
                        attachment.apply(to: &spec)
                    }
                    // The same id every run gives the same namespace and /etc paths, so the
                    // bundle is written once (its rootfs copy is not what is measured).
                    if bundle == nil {
                        bundle = try BusyboxBundle.make(in: directory, spec: spec)
                    }
                    let status = try await env.runtime.withContainer(
                        id: id, spec: spec, bundle: bundle!.path,
                        options: .init(stdio: Stdio(input: .null, output: .null, error: .null))
                    ) { container in
                        try await container.start()
                        return try await container.wait()
                    }
                    if variant.mode != nil { try await env.networking.detach(containerID: id) }
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                    #expect(status == .exited(0), "\(variant.name) run \(run): \(status)")
                    if run >= 2 { samples.append(elapsed) }  // two warm-up runs
                }
                samples.sort()
                let mean = samples.reduce(0, +) / Double(samples.count)
                let median = samples[samples.count / 2]
                let p95 = samples[min(samples.count - 1, Int(Double(samples.count) * 0.95))]
                print(String(format: "network.%@.mean_ms %.3f\nnetwork.%@.median_ms %.3f\nnetwork.%@.p95_ms %.3f\nnetwork.%@.runs %d",
                             variant.name, mean, variant.name, median, variant.name, p95, variant.name, samples.count))
            }
        }
    }
}
