// Example: start N idle containers, report the time to start them all and the memory
// each costs, then remove them all and check nothing is left. As root.
//
//   swift run -c release density --count 50
//
// Memory per container is measured three ways: the container's memory cgroup usage
// (what the kernel charges it), the proportional set size of its processes, and how much
// this host process itself grew (the engine's own bookkeeping).
import Caisson
import ExampleSupport
import Foundation

@main
struct Density {
    static func main() async {
        do {
            try await measure(count: Int(option("--count", default: "20")) ?? 20)
        } catch {
            printError("density: \(error)")
            exit(1)
        }
    }

    static func measure(count: Int) async throws {
        guard count > 0 else { throw ExampleError("--count must be positive") }
        try await withScratchDirectory("density") { work in
            let engine = try Engine(storeRoot: work + "/store", stateRoot: work + "/state")
            try await buildBusyboxImage(in: engine, directory: work)
            var configuration = ContainerConfiguration(command: ["/bin/sleep", "3600"])
            configuration.stdio = Stdio(input: .null, output: .null, error: .null)
            configuration.stopTimeout = .milliseconds(100)

            let hostBefore = residentKiB(of: getpid())
            let clock = ContinuousClock()
            let start = clock.now
            var containers: [ManagedContainer] = []
            do {
                for index in 0..<count {
                    let container = try await engine.create(image: "busybox", id: "density-\(index)", configuration: configuration)
                    containers.append(container)
                    try await container.start()
                }
                let elapsed = milliseconds(start, clock.now)
                let hostAfter = residentKiB(of: getpid())
                let cgroupKiB = containers.map { cgroupMemoryKiB(id: $0.id) }
                let pssKiB = containers.map { proportionalKiB(of: $0.pid) }
                print("started \(count) idle containers in \(String(format: "%.1f", elapsed)) ms (\(String(format: "%.2f", elapsed / Double(count))) ms each)")
                print("memory per container: cgroup \(average(cgroupKiB)) KiB, process PSS \(average(pssKiB)) KiB")
                print("host process grew \(hostAfter - hostBefore) KiB in all (\((hostAfter - hostBefore) / count) KiB per container)")
                let running = try engine.containers().filter { $0.status == .running }.count
                print("running: \(running)")
                guard running == count else { throw ExampleError("expected \(count) running containers, found \(running)") }
            } catch {
                for container in containers { try? await container.remove(force: true) }
                throw error
            }
            let stopStart = clock.now
            for container in containers {
                try await container.stop()
                try await container.remove()
            }
            print("stopped and removed them in \(String(format: "%.1f", milliseconds(stopStart, clock.now))) ms")
            let left = try engine.containers().count
            let cgroups = containers.filter { FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/caisson-\($0.id)") }
            print("left behind: \(left) containers, \(cgroups.count) cgroups")
            guard left == 0, cgroups.isEmpty else { throw ExampleError("cleanup left containers or cgroups") }
        }
    }

    static func average(_ values: [Int]) -> Int { values.isEmpty ? 0 : values.reduce(0, +) / values.count }

    /// VmRSS of a process in KiB.
    static func residentKiB(of pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return field(status, "VmRSS:")
    }

    /// Pss of a process in KiB (its share of every page it maps).
    static func proportionalKiB(of pid: Int32) -> Int {
        let rollup = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
        return field(rollup, "Pss:")
    }

    /// The memory the kernel charges the container's cgroup (cgroup v1, else v2), in KiB.
    static func cgroupMemoryKiB(id: String) -> Int {
        for path in ["/sys/fs/cgroup/memory/caisson-\(id)/memory.usage_in_bytes", "/sys/fs/cgroup/caisson-\(id)/memory.current"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return bytes / 1024
            }
        }
        return 0
    }

    static func field(_ text: String, _ key: String) -> Int {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
        return Int(line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") ?? 0
    }
}
