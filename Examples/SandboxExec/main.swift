// Example: the code-playground use case. Runs an untrusted shell snippet in a busybox
// container with no network (loopback only), a read-only root, 64 MiB of memory, 32
// processes, half a CPU and a timeout, and captures its output. As root.
//
//   swift run sandbox-exec 'echo hello; id -u'
//   swift run sandbox-exec --timeout 2 'while :; do :; done'
//   swift run sandbox-exec --demo          (a few snippets that hit each limit)
import Caisson
import ExampleSupport
import Foundation

@main
struct SandboxExec {
    static let demo: [String] = [
        "echo hello from the sandbox; id -u",
        "echo data > /etc/motd",
        "echo interfaces: $(ls /sys/class/net)",
        "for i in $(seq 64); do sleep 5 & done; echo all 64 started",
        "awk 'BEGIN { s = sprintf(\"%100000000s\", \"\"); print length(s) }'; echo awk exit $?",
        "while :; do :; done",
    ]

    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        let timeout = Double(option("--timeout", default: "3")) ?? 3
        let snippets: [String]
        if arguments.contains("--demo") {
            snippets = demo
        } else if let snippet = arguments.last, arguments.count == 1 || arguments.dropLast().last != "--timeout" {
            snippets = [snippet]
        } else {
            printError("usage: sandbox-exec [--timeout SECONDS] 'SHELL SNIPPET' | --demo")
            exit(2)
        }
        do {
            try await withScratchDirectory("sandbox-exec") { work in
                let engine = try Engine(storeRoot: work + "/store", stateRoot: work + "/state")
                try await buildBusyboxImage(in: engine, directory: work)
                for snippet in snippets {
                    let result = try await execute(snippet, in: engine, timeout: .milliseconds(Int64(timeout * 1000)))
                    report(snippet, result)
                }
                guard try engine.containers().isEmpty else { throw ExampleError("containers left behind") }
            }
        } catch {
            printError("sandbox-exec: \(error)")
            exit(1)
        }
    }

    /// Runs one snippet in a fresh, locked-down container.
    static func execute(_ snippet: String, in engine: Engine, timeout: Duration) async throws -> ProcessOutput {
        var configuration = ContainerConfiguration()
        configuration.network = .none
        configuration.readOnlyRootfs = true
        configuration.mounts = [.tmpfs(at: "/tmp", sizeBytes: 16 << 20)]
        configuration.limits = ResourceLimits(memoryBytes: 64 << 20, pids: 32, cpus: 0.5)
        configuration.dropCapabilities = ["ALL"]
        configuration.user = "nobody"
        return try await engine.run(
            "busybox", ["/bin/sh", "-c", snippet], configuration: configuration, timeout: timeout, outputLimit: 64 << 10)
    }

    static func report(_ snippet: String, _ result: ProcessOutput) {
        print("$ \(snippet)")
        for line in result.standardOutputText.split(separator: "\n", omittingEmptySubsequences: false).dropLast() where !line.isEmpty {
            print("  out: \(line)")
        }
        for line in result.standardErrorText.split(separator: "\n").prefix(3) {
            print("  err: \(line)")
        }
        print("  status: \(result.status)\(result.timedOut ? " (timed out)" : "")\(result.truncated ? " (output truncated)" : "")")
    }
}
