import Foundation
import OCISpec
import Sandbox
import TestSupport
import Testing

@Suite("Container lifecycle", .serialized, .timeLimit(.minutes(2)))
struct LifecycleTests {
    @Test("create, start, wait and delete /bin/true")
    func runTrue() async throws {
        try await withSandbox { env in
            let bundle = try BusyboxBundle.make(in: env.bundleDirectory, args: ["/bin/true"])
            let container = try await env.runtime.create(id: "true", bundle: bundle.path)
            #expect(container.status() == .created)
            try await container.start()
            let status = try await container.wait()
            #expect(status == .exited(0))
            #expect(container.status() == .stopped)
            try await container.delete()
        }
    }

    @Test("the spec is recorded for other processes: a bundle's config.json as it is, a spec given in memory encoded; exec reads either back")
    func specRecorded() async throws {
        try await withSandbox { env in
            let bundle = try BusyboxBundle.make(in: env.bundleDirectory, args: ["/bin/sleep", "1000"])
            _ = try await env.runtime.create(id: "from-bundle", bundle: bundle.path)
            let config = try Data(contentsOf: URL(fileURLWithPath: bundle.path + "/config.json"))
            let bundleHostname = try #require(try OCIJSON.decode(RuntimeSpec.self, from: config).hostname)
            #expect(try Data(contentsOf: URL(fileURLWithPath: env.paths.stateRoot + "/from-bundle/spec.json")) == config)

            var spec = try OCIJSON.decode(RuntimeSpec.self, from: config)
            spec.hostname = "in-memory"
            _ = try await env.runtime.create(id: "from-spec", spec: spec, bundle: bundle.path)
            let recorded = try OCIJSON.decode(RuntimeSpec.self, from: Data(contentsOf: URL(fileURLWithPath: env.paths.stateRoot + "/from-spec/spec.json")))
            #expect(recorded == spec)

            // Another handle (as another process would) execs with the recorded spec.
            for id in ["from-bundle", "from-spec"] {
                let handle = try env.runtime.container(id: id)
                try await handle.start()
                var process = try #require(spec.process)
                process.args = ["/bin/hostname"]
                process.terminal = false
                let exec = try await handle.exec(process, stdio: .pipes)
                let out = String(decoding: try await exec.io.standardOutput!.readAll(), as: UTF8.self)
                #expect(try await exec.wait() == .exited(0))
                #expect(out == (id == "from-spec" ? "in-memory\n" : "\(bundleHostname)\n"))
                try await handle.delete(force: true)
            }
        }
    }

    @Test("exit codes and signals are results")
    func exitCode() async throws {
        try await withSandbox { env in
            let bundle = try BusyboxBundle.make(in: env.bundleDirectory, args: ["/bin/sh", "-c", "exit 42"])
            let status = try await env.runtime.run(id: "exit42", bundle: bundle.path)
            #expect(status == .exited(42))
        }
    }

    @Test("output through pipes")
    func pipes() async throws {
        try await withSandbox { env in
            let bundle = try BusyboxBundle.make(in: env.bundleDirectory, args: ["/bin/sh", "-c", "echo hello; echo oops >&2; hostname"])
            let container = try await env.runtime.create(id: "echo", bundle: bundle.path, options: .init(stdio: .pipes))
            try await container.start()
            async let out = container.io.standardOutput!.readAll()
            async let err = container.io.standardError!.readAll()
            let status = try await container.wait()
            #expect(status == .exited(0))
            #expect(String(decoding: try await out, as: UTF8.self) == "hello\nrunc\n")
            #expect(String(decoding: try await err, as: UTF8.self) == "oops\n")
            try await container.delete()
        }
    }
}
