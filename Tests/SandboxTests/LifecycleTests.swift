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
