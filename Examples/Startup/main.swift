// Example: lifecycle latency of N sequential containers (create, start, wait, remove),
// as root. Each runs /bin/true from a busybox image with the secure defaults.
//
//   swift run -c release startup --count 100
//
// Prints the median, p90 and p99 of each phase and of the whole lifecycle in milliseconds.
import Caisson
import ExampleSupport
import Foundation

@main
struct Startup {
    static func main() async {
        do {
            try await measure(count: Int(option("--count", default: "50")) ?? 50)
        } catch {
            printError("startup: \(error)")
            exit(1)
        }
    }

    static func measure(count: Int) async throws {
        guard count > 0 else { throw ExampleError("--count must be positive") }
        try await withScratchDirectory("startup") { work in
            let engine = try Engine(storeRoot: work + "/store", stateRoot: work + "/state")
            try await buildBusyboxImage(in: engine, directory: work)
            let clock = ContinuousClock()
            var phases: [String: [Double]] = [:]
            var configuration = ContainerConfiguration(command: ["/bin/true"])
            configuration.stdio = Stdio(input: .null, output: .null, error: .null)
            for index in 0..<count {
                let t0 = clock.now
                let container = try await engine.create(image: "busybox", id: "startup-\(index)", configuration: configuration)
                let t1 = clock.now
                try await container.start()
                let t2 = clock.now
                let status = try await container.wait()
                let t3 = clock.now
                try await container.remove()
                let t4 = clock.now
                guard status.isSuccess else { throw ExampleError("container \(index) \(status)") }
                phases["create", default: []].append(milliseconds(t0, t1))
                phases["start", default: []].append(milliseconds(t1, t2))
                phases["wait", default: []].append(milliseconds(t2, t3))
                phases["remove", default: []].append(milliseconds(t3, t4))
                phases["total", default: []].append(milliseconds(t0, t4))
            }
            print("\(count) sequential containers (/bin/true), milliseconds")
            print("phase     p50      p90      p99")
            for phase in ["create", "start", "wait", "remove", "total"] {
                let values = phases[phase] ?? []
                let row = [50.0, 90, 99].map { String(format: "%8.2f", percentile(values, $0)) }.joined(separator: " ")
                print(phase.padding(toLength: 7, withPad: " ", startingAt: 0) + row)
            }
            // What the image store alone costs of create and remove: the overlay rootfs.
            let image = try engine.image("busybox")
            var prepare: [Double] = []
            var unmount: [Double] = []
            for index in 0..<count {
                let t0 = clock.now
                _ = try await engine.store.prepare(key: "probe-\(index)", image: image)
                let t1 = clock.now
                try engine.store.remove(key: "probe-\(index)")
                prepare.append(milliseconds(t0, t1))
                unmount.append(milliseconds(t1, clock.now))
            }
            print("of which the image store's overlay rootfs:")
            for (name, values) in [("prepare", prepare), ("unmount", unmount)] {
                let row = [50.0, 90, 99].map { String(format: "%8.2f", percentile(values, $0)) }.joined(separator: " ")
                print(name.padding(toLength: 7, withPad: " ", startingAt: 0) + row)
            }
            let left = try engine.containers()
            guard left.isEmpty else { throw ExampleError("containers left: \(left.map(\.id))") }
        }
    }
}
