import Foundation
import OCISpec
import Sandbox
import Testing

/// OCI hooks: each kind runs at its moment, in its namespaces, with the state on stdin;
/// failures fail (or only warn) as runtime-spec config.md#posix-platform-hooks says.
@Suite("Hooks", .serialized, .timeLimit(.minutes(2)))
struct HookTests {
    /// Writes an executable shell script and returns its path.
    private func script(_ path: String, _ body: String) throws -> String {
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    private func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    @Test("every kind runs in lifecycle order, with the state on stdin and in the right namespaces")
    func order() async throws {
        try await withSandbox { env in
            let out = env.directory + "/hook-out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            // Host-side hooks log to the host directory; the startContainer hook runs inside
            // the container, where the same directory is bind-mounted at /out.
            func host(_ kind: String) throws -> RuntimeSpec.Hook {
                let path = try script(env.directory + "/\(kind).sh", """
                    cat > \(out)/\(kind).json
                    echo "\(kind) $(hostname) $1" >> \(out)/log
                    """)
                return .init(path: path, args: [path, "arg-\(kind)"], env: ["HOOK=\(kind)"])
            }
            var spec: RuntimeSpec?
            let bundle = try env.bundle("hooks", ["/bin/true"]) { s in
                s.hostname = "hooked"
                s.mounts?.append(.init(destination: "/out", type: "bind", source: out, options: ["rbind", "rw"]))
                spec = s
            }
            // The startContainer hook's path resolves in the container.
            _ = try script(bundle.path + "/rootfs/start-hook.sh", """
                cat > /out/startContainer.json
                echo "startContainer $(hostname) $HOOK" >> /out/log
                """)
            var configured = try #require(spec)
            configured.hooks = .init(
                prestart: [try host("prestart")], createRuntime: [try host("createRuntime")],
                createContainer: [try host("createContainer")],
                startContainer: [.init(path: "/start-hook.sh", env: ["HOOK=in-container"])],
                poststart: [try host("poststart")], poststop: [try host("poststop")])
            try bundle.write(spec: configured)

            let container = try await env.runtime.create(id: "hooks", bundle: bundle.path)
            let pid = container.pid
            #expect(read(out + "/log").split(separator: "\n").map { $0.split(separator: " ").first ?? "" }
                    == ["prestart", "createRuntime", "createContainer"])
            try await container.start()
            _ = try await container.wait()
            try await container.delete()

            let lines = read(out + "/log").split(separator: "\n").map(String.init)
            var name = [CChar](repeating: 0, count: 256)
            gethostname(&name, 255)
            let host = String(cString: name)
            #expect(lines == [
                "prestart \(host) arg-prestart", "createRuntime \(host) arg-createRuntime",
                // createContainer runs in the container's namespaces (its hostname), before pivot_root.
                "createContainer hooked arg-createContainer", "startContainer hooked in-container",
                "poststart \(host) arg-poststart", "poststop \(host) arg-poststop",
            ])
            for (kind, status) in [("prestart", "creating"), ("createRuntime", "creating"), ("createContainer", "creating"),
                                   ("startContainer", "created"), ("poststart", "running"), ("poststop", "stopped")] {
                let state = try JSONDecoder().decode(ContainerState.self, from: Data(read(out + "/\(kind).json").utf8))
                #expect(state.id == "hooks" && state.bundle == bundle.path, "\(kind)")
                #expect(state.status.rawValue == status, "\(kind): \(state.status)")
                if kind != "poststop" { #expect(state.pid == pid, "\(kind): pid \(String(describing: state.pid))") }
            }
        }
    }

    @Test("a failing createRuntime hook fails create, leaves nothing, and poststop still runs")
    func failingCreateRuntime() async throws {
        try await withSandbox { env in
            let log = env.directory + "/poststop.log"
            let bad = try script(env.directory + "/bad.sh", "echo nope >&2; exit 3")
            let poststop = try script(env.directory + "/poststop.sh", "echo ran >> \(log)")
            let bundle = try env.bundle("badhook", ["/bin/true"]) { spec in
                spec.hooks = .init(createRuntime: [.init(path: bad)], poststop: [.init(path: poststop)])
            }
            await #expect {
                _ = try await env.runtime.create(id: "badhook", bundle: bundle.path)
            } throws: { error in
                let text = "\(error)"
                return (error as? SandboxError)?.code == .hookFailed
                    && text.contains("hooks.createRuntime[0]") && text.contains("status 3") && text.contains("nope")
            }
            #expect(read(log) == "ran\n")
            #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/pids/caisson-badhook"))
        }
    }

    @Test("a failing createContainer hook names itself and how it failed")
    func failingCreateContainer() async throws {
        try await withSandbox { env in
            let bad = try script(env.directory + "/bad.sh", "echo 'in the container' >&2; kill -9 $$")
            let bundle = try env.bundle("badcc", ["/bin/true"]) { spec in
                spec.hooks = .init(createContainer: [.init(path: bad)])
            }
            await #expect {
                _ = try await env.runtime.create(id: "badcc", bundle: bundle.path)
            } throws: { error in
                let text = "\(error)"
                return text.contains("hooks.createContainer[0] (\(bad))") && text.contains("signal 9") && text.contains("in the container")
            }
        }
    }

    @Test("a hook that outlives its timeout is killed and fails the create")
    func timeout() async throws {
        try await withSandbox { env in
            let slow = try script(env.directory + "/slow.sh", "exec sleep 30")
            for kind in ["createRuntime", "createContainer"] {
                let bundle = try env.bundle("slow-\(kind)", ["/bin/true"]) { spec in
                    let hook = RuntimeSpec.Hook(path: slow, timeout: 1)
                    spec.hooks = kind == "createRuntime" ? .init(createRuntime: [hook]) : .init(createContainer: [hook])
                }
                let clock = ContinuousClock()
                let started = clock.now
                await #expect {
                    _ = try await env.runtime.create(id: "slow-\(kind)", bundle: bundle.path)
                } throws: { "\($0)".contains("hooks.\(kind)[0]") && "\($0)".contains("timed out after 1 s") }
                #expect(clock.now - started < .seconds(10))
            }
        }
    }

    @Test("a failing startContainer hook fails start and stops the container")
    func failingStartContainer() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("badstart", ["/bin/sleep", "100"]) { spec in
                spec.hooks = .init(startContainer: [.init(path: "/bin/false")])
            }
            let container = try await env.runtime.create(id: "badstart", bundle: bundle.path)
            await #expect {
                try await container.start()
            } throws: { "\($0)".contains("hooks.startContainer[0] (/bin/false) exited with status 1") }
            _ = try await container.wait()
            #expect(container.status() == .stopped)
            try await container.delete()
        }
    }

    @Test("a failing poststart hook is only logged; invalid hooks are refused by field")
    func poststartAndValidation() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("post", ["/bin/true"]) { spec in
                spec.hooks = .init(poststart: [.init(path: "/bin/false")])
            }
            let status = try await env.runtime.run(id: "post", bundle: bundle.path)
            #expect(status == .exited(0))

            let relative = try env.bundle("relative", ["/bin/true"]) { spec in
                spec.hooks = .init(prestart: [.init(path: "bin/true")])
            }
            await #expect { _ = try await env.runtime.create(id: "relative", bundle: relative.path) } throws: {
                "\($0)".contains("hooks.prestart[0].path")
            }
            let zero = try env.bundle("zero", ["/bin/true"]) { spec in
                spec.hooks = .init(poststop: [.init(path: "/bin/true", timeout: 0)])
            }
            await #expect { _ = try await env.runtime.create(id: "zero", bundle: zero.path) } throws: {
                "\($0)".contains("hooks.poststop[0].timeout")
            }
        }
    }
}
