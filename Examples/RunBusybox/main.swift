// Example: run a command in a container from Swift, with Docker's secure defaults.
//
//   swift run run-busybox            (as root; needs /bin/busybox from busybox-static)
//
// It lays out a one-binary rootfs, builds a runtime spec with `RuntimeSpec.secureDefault`,
// and runs it in-process with the Sandbox: no daemon, no runtime binary.
import Caisson
import Foundation

@main
struct RunBusybox {
    static func main() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("caisson-example-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let rootfs = work + "/rootfs"
        for directory in ["bin", "proc", "dev", "sys", "tmp"] {
            try FileManager.default.createDirectory(atPath: rootfs + "/" + directory, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: rootfs + "/bin/busybox")
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/bin/sh", withDestinationPath: "busybox")

        var spec = RuntimeSpec.secureDefault(args: [
            "/bin/sh", "-c", "echo \"hello from $(busybox hostname) as uid $(busybox id -u)\"; busybox grep -E 'Seccomp:|NoNewPrivs' /proc/self/status",
        ])
        spec.root = .init(path: rootfs, readonly: true)
        spec.hostname = "example"

        let runtime = Runtime(stateRoot: work + "/state")
        let output = try await runtime.withContainer(id: "example", spec: spec, bundle: work, options: .init(stdio: .pipes)) { container in
            try await container.start()
            async let stdout = container.io.standardOutput!.readAll()
            let status = try await container.wait()
            print("container \(status)")
            return String(decoding: try await stdout, as: UTF8.self)
        }
        print(output, terminator: "")
    }
}
