// Example: pull an image from a registry and run it with limits, as root.
//
//   swift run pull-and-run 127.0.0.1:5000/busybox:latest
//
// Prints pull progress, then what the container sees of its own limits (cgroup v1 files,
// through its cgroup namespace): 64 MiB of memory, 32 processes, half a CPU.
import Caisson
import ExampleSupport
import Foundation

@main
struct PullAndRun {
    static func main() async {
        guard CommandLine.arguments.count >= 2 else {
            printError("usage: pull-and-run REGISTRY/REPOSITORY[:TAG]   (e.g. 127.0.0.1:5000/busybox:latest)")
            exit(2)
        }
        do {
            try await run(reference: CommandLine.arguments[1])
        } catch {
            printError("pull-and-run: \(error)")
            exit(1)
        }
    }

    static func run(reference: String) async throws {
        try await withScratchDirectory("pull-and-run") { work in
            let engine = try Engine(storeRoot: work + "/store", stateRoot: work + "/state")
            let pulled = try await engine.pull(reference) { progress in
                if case .committed = progress.event, let blob = progress.descriptor {
                    print("committed \(blob.digest) (\(blob.size) bytes), \(progress.completedBytes)/\(progress.totalBytes)")
                }
            }
            print("pulled \(pulled.reference) (\(pulled.downloadedBytes) bytes downloaded)")

            var configuration = ContainerConfiguration()
            configuration.limits = ResourceLimits(memoryBytes: 64 << 20, pids: 32, cpus: 0.5)
            configuration.readOnlyRootfs = true
            let script = """
                echo "hello from a pulled image"
                echo "memory.limit_in_bytes $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
                echo "pids.max $(cat /sys/fs/cgroup/pids/pids.max)"
                echo "cpu.cfs_quota_us $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"
                """
            let output = try await engine.run(reference, ["/bin/sh", "-c", script], configuration: configuration, timeout: .seconds(30))
            print(output.standardOutputText, terminator: "")
            if !output.standardError.isEmpty { printError(output.standardErrorText) }
            print("exit: \(output.status)")
            guard output.status.isSuccess else { throw ExampleError("the container \(output.status)") }
        }
    }
}
