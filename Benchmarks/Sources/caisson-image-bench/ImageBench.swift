// caisson-image-bench: the Caisson side of Benchmarks/images.sh.
//
// Results are printed as `caisson.<metric> <value>` lines on stdout; notes go to stderr.
//
//   caisson-image-bench import  STORE SOURCE NAME          import a layout/archive (setup, timed anyway)
//   caisson-image-bench unpack  STORE NAME [--parallel N]  unpack every layer into snapshots
//   caisson-image-bench prepare STORE NAME [--runs N] [--mode overlay|view|copy]
//                                                          prepare + remove a rootfs N times
//   caisson-image-bench pull    STORE REF [--then-unpack] [--parallel N]
//                                                          pull from a registry (plain HTTP on
//                                                          loopback), unpacking each layer as it
//                                                          downloads; with --then-unpack, pull
//                                                          first, then unpack (N layers at a time)

import Foundation
import Glibc
import ImageStore
import OCISpec
import Registry

@main
struct ImageBench {
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let thenUnpack = flag("--then-unpack", &arguments)
        let parallel = option("--parallel", &arguments).flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
        let runs = option("--runs", &arguments).flatMap(Int.init) ?? 200
        let mode = option("--mode", &arguments).flatMap(PreparedRootfs.Mode.init(rawValue:)) ?? .overlay
        do {
            switch (arguments.first, arguments.count) {
            case ("import", 4):
                let store = try ImageStore(root: arguments[1])
                let start = now()
                try await store.importImages(from: arguments[2], name: arguments[3])
                report("import_s", now() - start)
            case ("unpack", 3):
                let store = try ImageStore(root: arguments[1])
                let image = try store.image(named: arguments[2])
                let start = now()
                try await store.unpack(image, options: UnpackOptions(maxParallelLayers: parallel))
                report("unpack_s", now() - start)
            case ("prepare", 3):
                let store = try ImageStore(root: arguments[1])
                let image = try store.image(named: arguments[2])
                try await store.unpack(image)
                var prepares: [Double] = []
                var removes: [Double] = []
                for run in 0..<runs {
                    let key = "bench-\(getpid())-\(run)"
                    let start = now()
                    _ = try await store.prepare(key: key, image: image, mode: mode)
                    let prepared = now()
                    try store.remove(key: key)
                    prepares.append(prepared - start)
                    removes.append(now() - prepared)
                }
                report("prepare_\(mode.rawValue)_median_ms", percentile(prepares, 0.5) * 1000)
                report("prepare_\(mode.rawValue)_p90_ms", percentile(prepares, 0.9) * 1000)
                report("remove_\(mode.rawValue)_median_ms", percentile(removes, 0.5) * 1000)
            case ("pull", 3):
                let store = try ImageStore(root: arguments[1])
                let reference = try Reference(parsing: arguments[2])
                let client = RegistryClient()
                let pulled: PulledImage
                let start = now()
                do {
                    pulled = try await client.pull(reference, into: store, name: "pulled", unpack: thenUnpack ? nil : UnpackOptions())
                    try await client.shutdown()
                } catch {
                    try? await client.shutdown()
                    throw error
                }
                let pullSeconds = now() - start
                if thenUnpack {
                    try await store.unpack(pulled.image, options: UnpackOptions(maxParallelLayers: parallel))
                    report("pull_s", pullSeconds)
                } else if pulled.snapshots.count != pulled.image.manifest.layers.count {
                    throw ImageStoreError(.notFound, "the pull unpacked \(pulled.snapshots.count) of \(pulled.image.manifest.layers.count) layers")
                }
                report("pull_unpack_s", now() - start)
            default:
                note("usage: caisson-image-bench import STORE SOURCE NAME | unpack STORE NAME [--parallel N] | prepare STORE NAME [--runs N] [--mode M] | pull STORE REF [--then-unpack] [--parallel N]")
                exit(2)
            }
        } catch {
            note("caisson-image-bench: \(error)")
            exit(1)
        }
    }

    static func option(_ name: String, _ arguments: inout [String]) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        let value = arguments[index + 1]
        arguments.removeSubrange(index...index + 1)
        return value
    }

    static func flag(_ name: String, _ arguments: inout [String]) -> Bool {
        guard let index = arguments.firstIndex(of: name) else { return false }
        arguments.remove(at: index)
        return true
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
    }

    static func report(_ metric: String, _ value: Double) {
        print("caisson.\(metric) \(String(format: "%.4f", value))")
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
