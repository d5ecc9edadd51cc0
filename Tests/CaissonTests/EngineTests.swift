import Caisson
import Foundation
import Synchronization
import Testing
import TestSupport

@Suite("Engine", .serialized)
struct EngineTests {
    @Test("run takes entrypoint, cmd, env, user, workdir and stop signal from the image config")
    func runUsesImageConfig() async throws {
        try await withEngine { env in
            try await env.buildImage("configured", config: .init(
                user: "nobody", env: ["PATH=/bin", "GREETING=from-image"],
                entrypoint: ["/bin/sh", "-c"], cmd: ["echo $GREETING; pwd; id -u; id -g; echo home=$HOME; hostname"],
                workingDir: "/srv/app"))
            let output = try await env.engine.run("configured")
            #expect(output.status == .exited(0), "\(output.standardErrorText)")
            let lines = output.standardOutputText.split(separator: "\n").map(String.init)
            #expect(Array(lines.prefix(5)) == ["from-image", "/srv/app", "65534", "65534", "home=/"])
            #expect(lines.count == 6 && lines.last?.count == 12, "default hostname: the first 12 characters of the id: \(lines)")
        }
    }

    @Test("command, entrypoint, environment, user, workdir and hostname override the image config")
    func overrides() async throws {
        try await withEngine { env in
            try await env.buildImage("configured", config: .init(
                user: "nobody", env: ["PATH=/bin", "GREETING=from-image", "KEEP=kept"], entrypoint: ["/bin/false"],
                workingDir: "/srv/app"))
            var configuration = ContainerConfiguration()
            configuration.entrypoint = ["/bin/sh", "-c", "echo $GREETING $KEEP; pwd; id -u; hostname"]
            configuration.environment = ["GREETING=overridden"]
            configuration.user = "0:0"
            configuration.workingDirectory = "/tmp"
            configuration.hostname = "playground"
            let output = try await env.engine.run("configured", configuration: configuration)
            #expect(output.status == .exited(0), "\(output.standardErrorText)")
            #expect(output.standardOutputText == "overridden kept\n/tmp\n0\nplayground\n")

            // A command replaces Cmd and keeps the entrypoint; a non-zero exit is a result.
            let failed = try await env.engine.run("busybox", ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(failed.status == .exited(3))
            #expect(failed.standardOutputText == "out\n")
            #expect(failed.standardErrorText == "err\n")
        }
    }

    @Test("defaults: no_new_privs, seccomp, Docker's capabilities, loopback only and up; host network on request")
    func secureDefaults() async throws {
        try await withEngine { env in
            let script = "grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status; ls /sys/class/net; cat /sys/class/net/lo/flags"
            let output = try await env.engine.run("busybox", ["/bin/sh", "-c", script])
            #expect(output.status == .exited(0), "\(output.standardErrorText)")
            let lines = output.standardOutputText.split(separator: "\n").map { $0.replacingOccurrences(of: "\t", with: " ") }
            #expect(lines.contains("NoNewPrivs: 1"))
            #expect(lines.contains("Seccomp: 2"))
            #expect(lines.contains("CapEff: 00000000a80425fb"), "Docker's 14 capabilities: \(lines)")
            #expect(lines.contains("lo"))
            #expect(lines.count == 5, "only loopback in the network namespace: \(lines)")
            #expect(lines.last == "0x9", "lo is up (IFF_UP | IFF_LOOPBACK): \(lines)")

            var loosened = ContainerConfiguration()
            loosened.network = .host
            loosened.seccomp = .unconfined
            loosened.noNewPrivileges = false
            loosened.dropCapabilities = ["ALL"]
            loosened.addCapabilities = ["net_bind_service"]
            let host = try await env.engine.run("busybox", ["/bin/sh", "-c", script], configuration: loosened)
            let hostLines = host.standardOutputText.split(separator: "\n").map { $0.replacingOccurrences(of: "\t", with: " ") }
            #expect(hostLines.contains("NoNewPrivs: 0"))
            #expect(hostLines.contains("Seccomp: 0"))
            #expect(hostLines.contains("CapEff: 0000000000000400"), "only CAP_NET_BIND_SERVICE: \(hostLines)")
            let hostInterfaces = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []
            for interface in hostInterfaces {
                #expect(hostLines.contains(interface), "host network shows \(interface): \(hostLines)")
            }
        }
    }

    @Test("limits reach the cgroup; read-only root; volumes read-write and read-only")
    func limitsReadOnlyAndVolumes() async throws {
        try await withEngine { env in
            let shared = env.directory + "/shared"
            try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
            var configuration = ContainerConfiguration(command: ["/bin/sh", "-c", """
                echo written > /data/out.txt && echo data-ok
                touch /rootfile 2>/dev/null || echo root-readonly
                touch /ro/x 2>/dev/null || echo volume-readonly
                echo ready; exec sleep 30
                """])
            configuration.limits = ResourceLimits(memoryBytes: 64 << 20, pids: 32, cpus: 0.5)
            configuration.readOnlyRootfs = true
            try configuration.volume("\(shared):/data")
            try configuration.volume("\(shared):/ro:ro")
            configuration.stdio = .pipes
            let id = env.id("limits")
            try await env.engine.withContainer(image: "busybox", id: id, configuration: configuration) { container in
                try await container.start()
                var seen = ""
                for try await chunk in container.io.standardOutput! {
                    seen += String(decoding: chunk, as: UTF8.self)
                    if seen.contains("ready") { break }
                }
                #expect(seen == "data-ok\nroot-readonly\nvolume-readonly\nready\n")
                #expect(cgroupValue("memory", id, "memory.limit_in_bytes") == "\(64 << 20)")
                #expect(cgroupValue("pids", id, "pids.max") == "32")
                #expect(cgroupValue("cpu", id, "cpu.cfs_quota_us") == "50000")
                #expect(cgroupValue("cpu", id, "cpu.cfs_period_us") == "100000")
                try await container.stop(timeout: .milliseconds(100))
            }
            #expect(try String(contentsOfFile: shared + "/out.txt", encoding: .utf8) == "written\n")
        }
    }

    @Test("bad options are refused with an error naming them")
    func badOptions() async throws {
        try await withEngine { env in
            var configuration = ContainerConfiguration()
            #expect(throws: EngineError.self) { try configuration.volume("relative:/data") }
            #expect(throws: EngineError.self) { try configuration.volume("/host:/data:rx") }
            do {
                _ = try await env.engine.run("no-such-image", ["true"])
                Issue.record("expected an error")
            } catch let error as EngineError {
                #expect(error.code == .imageNotFound)
                #expect(error.message.contains("no-such-image"))
            }
            configuration.limits.pids = 0
            do {
                _ = try await env.engine.run("busybox", ["true"], configuration: configuration)
                Issue.record("expected an error")
            } catch let error as EngineError {
                #expect(error.code == .invalidConfiguration)
                #expect(error.message.contains("limits.pids"))
            }
            configuration = ContainerConfiguration(command: ["/no/such/program"])
            await #expect(throws: (any Error).self) { _ = try await env.engine.run("busybox", configuration: configuration) }
            configuration.user = "nosuchuser"
            configuration.command = ["true"]
            do {
                _ = try await env.engine.run("busybox", configuration: configuration)
                Issue.record("expected an error")
            } catch let error as EngineError {
                #expect(error.message.contains("nosuchuser"))
            }
            await #expect(throws: EngineError.self) { _ = try await env.engine.create(image: "busybox", id: "../escape") }
        }
    }

    @Test("hostile image symlinks: /etc/passwd and the working directory resolve inside the rootfs, never on the host")
    func hostileSymlinks() async throws {
        try await withEngine { env in
            // Host files an image's symlinks point at, by absolute path.
            let host = env.directory + "/host"
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            try "evil:x:4242:4242::/:/bin/sh\n".write(toFile: host + "/passwd", atomically: false, encoding: .utf8)
            let rootfs = try BusyboxImage.make(in: env.directory + "/rootfs-hostile").rootfs
            try FileManager.default.removeItem(atPath: rootfs + "/etc/passwd")
            try FileManager.default.createSymbolicLink(atPath: rootfs + "/etc/passwd", withDestinationPath: host + "/passwd")
            try FileManager.default.createSymbolicLink(atPath: rootfs + "/work", withDestinationPath: host)
            try await env.engine.store.build(from: rootfs, name: "hostile", config: .init(env: ["PATH=/bin"], cmd: ["/bin/true"]))

            var asEvil = ContainerConfiguration()
            asEvil.user = "evil"
            do {
                _ = try await env.engine.run("hostile", configuration: asEvil)
                Issue.record("the user was resolved from a host file")
            } catch let error as EngineError {
                #expect(error.message.contains("evil"), "\(error)")
            }

            var inWork = ContainerConfiguration()
            inWork.workingDirectory = "/work/created"
            await #expect(throws: EngineError.self) { _ = try await env.engine.run("hostile", configuration: inWork) }
            #expect(!FileManager.default.fileExists(atPath: host + "/created"), "a directory was created on the host")
        }
    }

    @Test("exec runs in the container with its environment, as another user, and captures output")
    func exec() async throws {
        try await withEngine { env in
            var configuration = ContainerConfiguration(command: ["/bin/sh", "-c", "echo inside > /tmp/marker; echo ready; exec sleep 30"])
            configuration.environment = ["ROLE=server"]
            configuration.stdio = .pipes
            try await env.engine.withContainer(image: "busybox", id: env.id("exec"), configuration: configuration) { container in
                try await container.start()
                try await waitForOutput(container.io.standardOutput, containing: "ready")
                let output = try await container.run(
                    ["/bin/sh", "-c", "cat /tmp/marker; echo $ROLE $EXTRA; id -u; pwd"], environment: ["EXTRA=x"], user: "nobody",
                    workingDirectory: "/tmp")
                #expect(output.status == .exited(0), "\(output.standardErrorText)")
                #expect(output.standardOutputText == "inside\nserver x\n65534\n/tmp\n")
                let timedOut = try await container.run(["/bin/sh", "-c", "while :; do :; done"], timeout: .milliseconds(300))
                #expect(timedOut.timedOut)
                #expect(timedOut.status == .signaled(.kill))
                #expect(container.status() == .running)
                await #expect(throws: (any Error).self) { _ = try await container.exec(["/no/such/program"]) }
            }
        }
    }

    @Test("stop: the stop signal first, SIGKILL after the grace period; the image's StopSignal")
    func stopWithGrace() async throws {
        try await withEngine { env in
            let clock = ContinuousClock()
            // Traps SIGTERM: ends by itself well within the grace period.
            var polite = ContainerConfiguration(command: ["/bin/sh", "-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done"])
            polite.stdio = .pipes
            try await env.engine.withContainer(image: "busybox", id: env.id("polite"), configuration: polite) { container in
                try await container.start()
                try await waitForOutput(container.io.standardOutput, containing: "ready")
                let start = clock.now
                let status = try await container.stop(timeout: .seconds(10))
                #expect(status == .exited(3))
                #expect(clock.now - start < .seconds(5))
                #expect(container.status() == .stopped)
            }
            // A shell as pid 1 without a handler ignores SIGTERM: killed after the grace period.
            var stubborn = ContainerConfiguration(command: ["/bin/sh", "-c", "echo ready; while :; do sleep 0.05; done"])
            stubborn.stdio = .pipes
            stubborn.stopTimeout = .milliseconds(400)
            try await env.engine.withContainer(image: "busybox", id: env.id("stubborn"), configuration: stubborn) { container in
                try await container.start()
                try await waitForOutput(container.io.standardOutput, containing: "ready")
                #expect(container.stopTimeout == .milliseconds(400))
                let start = clock.now
                let status = try await container.stop()
                #expect(status == .signaled(.kill))
                #expect(clock.now - start >= .milliseconds(400))
            }
            // The image says SIGUSR1.
            try await env.buildImage("usr1", config: .init(env: ["PATH=/bin"], cmd: ["/bin/sh", "-c", "trap 'exit 7' USR1; echo ready; while :; do sleep 0.05; done"], stopSignal: "SIGUSR1"))
            var usr1 = ContainerConfiguration()
            usr1.stdio = .pipes
            try await env.engine.withContainer(image: "usr1", id: env.id("usr1"), configuration: usr1) { container in
                #expect(container.stopSignal == .usr1)
                try await container.start()
                try await waitForOutput(container.io.standardOutput, containing: "ready")
                #expect(try await container.stop(timeout: .seconds(10)) == .exited(7))
            }
        }
    }

    @Test("remove deletes the state, the cgroup, the rootfs mount and the snapshot key")
    func removeCleansUp() async throws {
        try await withEngine { env in
            let id = env.id("remove")
            let container = try await env.engine.create(image: "busybox", id: id, configuration: .init(command: ["/bin/sleep", "30"]))
            try await container.start()
            #expect(FileManager.default.fileExists(atPath: env.directory + "/store/containers/\(id)/rootfs/bin/busybox"))
            #expect(!LeakCheck.mounts(containing: env.directory + "/store/containers/\(id)").isEmpty)
            #expect(!LeakCheck.cgroups(named: "caisson-\(id)").isEmpty)
            #expect(try env.engine.containers().map(\.id) == [id])
            await #expect(throws: (any Error).self) { try await env.engine.remove(id: id) }  // running, no force
            try await env.engine.remove(id: id, force: true)
            #expect(!FileManager.default.fileExists(atPath: env.directory + "/store/containers/\(id)"))
            #expect(!FileManager.default.fileExists(atPath: env.directory + "/state/\(id)"))
            #expect(LeakCheck.mounts(containing: env.directory + "/store/containers").isEmpty)
            #expect(LeakCheck.cgroups(named: "caisson-\(id)").isEmpty)
            #expect(try env.engine.containers().isEmpty)
            do {
                try await env.engine.remove(id: id)
                Issue.record("a second remove should say the container is gone")
            } catch let error as EngineError {
                #expect(error.code == .containerNotFound)
            }
        }
    }

    @Test("withContainer cleans up when the body throws")
    func withContainerCleansUpOnThrow() async throws {
        struct Boom: Error {}
        try await withEngine { env in
            do {
                let _: Void = try await env.engine.withContainer(
                    image: "busybox", id: env.id("throw"), configuration: .init(command: ["/bin/sleep", "30"])
                ) { container in
                    try await container.start()
                    #expect(container.status() == .running)
                    throw Boom()
                }
                Issue.record("withContainer did not rethrow")
            } catch is Boom {
                // expected
            }
            let left = try env.engine.containers()
            #expect(left.isEmpty)
        }
    }

    @Test("withContainer cleans up when the task is cancelled")
    func withContainerCleansUpOnCancel() async throws {
        try await withEngine { env in
            let engine = env.engine
            let id = env.id("cancel")
            let started = Mutex(false)
            let task = Task {
                try await engine.withContainer(image: "busybox", id: id, configuration: .init(command: ["/bin/sleep", "30"])) { container in
                    try await container.start()
                    started.withLock { $0 = true }
                    return try await container.wait()
                }
            }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(20)
            while !started.withLock({ $0 }) && clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(started.withLock { $0 })
            task.cancel()
            let result = await task.result
            #expect(throws: CancellationError.self) { try result.get() }
            #expect(try engine.containers().isEmpty)
            #expect(LeakCheck.cgroups(named: "caisson-\(id)").isEmpty)
        }
    }

    @Test("run kills the container at its timeout")
    func runTimeout() async throws {
        try await withEngine { env in
            let clock = ContinuousClock()
            let start = clock.now
            let output = try await env.engine.run("busybox", ["/bin/sh", "-c", "echo before; while :; do :; done"], timeout: .milliseconds(500))
            #expect(output.timedOut)
            #expect(output.status == .signaled(.kill))
            #expect(output.standardOutputText == "before\n")
            #expect(clock.now - start < .seconds(10))
        }
    }

    @Test("commit makes a new image with the container's changes, which runs and shows them")
    func commit() async throws {
        try await withEngine { env in
            let id = env.id("commit")
            try await env.engine.withContainer(image: "busybox", id: id, configuration: .init(command: ["/bin/sh", "-c", "echo changed > /etc/motd; rm /etc/group"])) { container in
                try await container.start()
                #expect(try await container.wait() == .exited(0))
                let image = try await env.engine.commit(id, as: "busybox-changed")
                #expect(image.manifest.layers.count == 2)
            }
            let output = try await env.engine.run("busybox-changed", ["/bin/sh", "-c", "cat /etc/motd; test -e /etc/group || echo group-removed; cat /etc/passwd | head -1"])
            #expect(output.standardOutputText == "changed\ngroup-removed\nroot:x:0:0:root:/root:/bin/sh\n", "\(output.standardErrorText)")
            let original = try await env.engine.run("busybox", ["/bin/sh", "-c", "test -e /etc/motd || echo no-motd"])
            #expect(original.standardOutputText == "no-motd\n")
            let names = try env.engine.images().map(\.name)
            #expect(names == ["busybox", "busybox-changed"])
            try env.engine.removeImage("busybox-changed")
            #expect(try env.engine.images().map(\.name) == ["busybox"])
        }
    }

    @Test("containers() lists engine containers with image and status; container(id:) reopens one")
    func list() async throws {
        try await withEngine { env in
            let a = try await env.engine.create(image: "busybox", id: env.id("a"), configuration: .init(command: ["/bin/sleep", "30"]))
            let b = try await env.engine.create(image: "busybox", id: env.id("b"), configuration: .init(command: ["/bin/true"]))
            try await a.start()
            try await b.start()
            _ = try await b.wait()
            let listed = try env.engine.containers()
            #expect(listed.map(\.id) == [env.id("a"), env.id("b")])
            #expect(listed.map(\.image) == ["busybox", "busybox"])
            #expect(listed.map(\.status) == [.running, .stopped])
            #expect(listed[0].pid == a.pid)

            let reopened = try env.engine.container(id: env.id("a"))
            #expect(reopened.image == "busybox")
            #expect(reopened.status() == .running)
            // sleep as pid 1 ignores SIGTERM: killed after the grace period. The process is
            // this process's child whichever handle waits, so the reopened one reaps it.
            #expect(try await reopened.stop(timeout: .milliseconds(100)) == .signaled(.kill))
            _ = try await a.wait()
            try await reopened.remove()
            try await b.remove()
            #expect(try env.engine.containers().isEmpty)
            #expect(throws: EngineError.self) { _ = try env.engine.container(id: env.id("a")) }
        }
    }
}
