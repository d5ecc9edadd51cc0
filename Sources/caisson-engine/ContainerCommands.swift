import ArgumentParser
import CLICommon
import Caisson
import Foundation

// Everyday commands for containers made from images, as docker and podman spell them:
// `caisson run IMAGE`, `ps` (without an id), `stop`, `rm`, `logs`. They sit on `Engine`
// (store root: --store / $CAISSON_ROOT / /var/lib/caisson; state root: --root), so the
// runc commands (`state`, `kill`, `exec`, `pause`…) work on the same containers.

/// Options that open an engine over the image store and the runtime's state root.
struct EngineOptions: ParsableArguments {
    @OptionGroup var storeOptions: ImageStoreOptions

    func engine(stateRoot: String) throws -> Engine {
        try Engine(storeRoot: storeOptions.storeRoot, stateRoot: stateRoot)
    }

    /// Where a detached container's output goes: `<store>/logs/<id>.log`.
    func logPath(_ id: String) -> String { storeOptions.storeRoot + "/logs/" + id + ".log" }
}

/// `caisson run IMAGE [CMD…]` (reached through ``RunDispatch``).
struct ImageRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-image", abstract: "Run a command in a new container made from an image (caisson run IMAGE …).",
        shouldDisplay: false)
    @ParentCommand var parent: EngineCommand
    var global: GlobalOptions { parent.global }
    @OptionGroup var engineOptions: EngineOptions
    @Flag(help: "Remove the container when it exits.") var rm = false
    @Flag(name: [.short, .customLong("detach")], help: "Run in the background; print the container id.") var detach = false
    @Flag(name: [.short, .customLong("interactive")], help: "Keep stdin open to the container.") var interactive = false
    @Flag(name: [.short, .customLong("tty")], help: "Give the container a terminal.") var tty = false
    @Option(name: [.short, .customLong("env")], help: "Set an environment variable (NAME=value).") var env: [String] = []
    @Option(name: [.short, .customLong("volume")], help: "Bind a host path (SRC:DST[:ro]).") var volume: [String] = []
    @Option(name: [.short, .customLong("publish")], help: "Publish a port ([IP:]HOST:CONTAINER[/tcp|udp]); needs a bridge, CNI or slirp4netns network.")
    var publish: [String] = []
    @Option(name: [.short, .customLong("memory")], help: "Memory limit (bytes, or k/m/g).") var memory: String?
    @Option(help: "CPU limit, in CPUs (e.g. 0.5).") var cpus: Double?
    @Option(name: .customLong("pids-limit"), help: "Maximum number of processes.") var pidsLimit: Int64?
    @Option(name: [.short, .customLong("user")], help: "User (name or uid[:gid]).") var user: String?
    @Option(name: [.short, .customLong("workdir")], help: "Working directory.") var workdir: String?
    @Option(help: "Entrypoint (replaces the image's).") var entrypoint: String?
    @Option(help: "Hostname.") var hostname: String?
    @Option(help: "Container name (its id).") var name: String?
    @Option(help: "Network: none (default), host, bridge, bridge:NAME, cni:NAME|cni:PATH, slirp4netns[:OPTIONS], container:ID, ns:PATH (not root: none, host, slirp4netns).")
    var network: String = "none"
    @Flag(name: .customLong("read-only"), help: "Mount the root filesystem read-only.") var readOnly = false
    @Argument(help: "The image.") var image: String
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (default: the image's).")
    var command: [String] = []

    func run() async throws {
        if detach && rm { fail("run: --rm with --detach needs a process to wait for the container; run it in the foreground or remove it with caisson rm") }
        if detach && tty { fail("run: --tty with --detach is not supported (no console to hand the terminal to); use caisson exec -t later") }
        let engine: Engine
        var configuration = ContainerConfiguration(command: command.isEmpty ? nil : command, environment: env)
        // Chosen here (not by the engine) so a detached container's log file has its final
        // name before the container writes to it.
        let id = name ?? String((0..<16).map { _ in "0123456789abcdef".randomElement()! })
        var logFD: Int32 = -1
        do {
            engine = try engineOptions.engine(stateRoot: global.root)
            configuration.user = user
            configuration.workingDirectory = workdir
            configuration.hostname = hostname
            configuration.entrypoint = entrypoint.map { [$0] }
            configuration.readOnlyRootfs = readOnly
            for specification in volume { try configuration.volume(specification) }
            configuration.network = try NetworkMode(parsing: network)
            configuration.ports = try publish.map { try PortMapping(parsing: $0) }
            configuration.limits = ResourceLimits(
                memoryBytes: try memory.map { try ByteSize.parse($0, flag: "--memory") }, pids: pidsLimit, cpus: cpus)
            configuration.terminal = tty
            if detach {
                let path = engineOptions.logPath(id)
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                logFD = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
                guard logFD >= 0 else { throw ValidationError("run: cannot open the log file \(path)") }
                configuration.stdio = Stdio(input: .null, output: .fileDescriptor(logFD), error: .fileDescriptor(logFD))
            } else {
                configuration.stdio = Stdio(input: interactive || tty ? .inherit : .null, output: .inherit, error: .inherit)
            }
        } catch { fail(error) }

        let container: ManagedContainer
        do {
            container = try await engine.create(image: image, id: id, configuration: configuration)
            if logFD >= 0 { close(logFD) }
            try await container.start()
        } catch {
            if logFD >= 0 { unlink(engineOptions.logPath(id)) }
            fail(error)
        }
        if detach {
            print(container.id)
            return
        }
        let proxy = container.io.terminal.map(TerminalProxy.init)
        let forwarding = SignalForwarder { signal in try? container.kill(signal) }
        let status: TerminationStatus
        do { status = try await container.wait() } catch {
            proxy?.finish()
            fail(error)
        }
        forwarding.stop()
        proxy?.finish()
        if rm {
            do { try await engine.remove(id: container.id, force: true) } catch { fail(error) }
        }
        Foundation.exit(status.shellCode)
    }
}

/// `caisson stop [-t SECONDS] ID…`: the image's stop signal, then SIGKILL after the timeout.
struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop containers made from images.")
    @ParentCommand var parent: EngineCommand
    var global: GlobalOptions { parent.global }
    @OptionGroup var engineOptions: EngineOptions
    @Option(name: [.short, .customLong("time")], help: "Seconds to wait before SIGKILL (default: the container's).")
    var time: Int?
    @Argument(help: "Container ids.") var ids: [String]

    func run() async throws {
        do {
            let engine = try engineOptions.engine(stateRoot: global.root)
            for id in ids {
                let container = try engine.container(id: id)
                if container.status() != .stopped {
                    _ = try await container.stop(timeout: time.map { .seconds($0) })
                }
                print(id)
            }
        } catch { fail(error) }
    }
}

/// `caisson rm [-f] ID…`: deletes containers with their root filesystem, network and log.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove containers made from images.")
    @ParentCommand var parent: EngineCommand
    var global: GlobalOptions { parent.global }
    @OptionGroup var engineOptions: EngineOptions
    @Flag(name: [.short, .customLong("force")], help: "Kill running containers first.") var force = false
    @Argument(help: "Container ids.") var ids: [String]

    func run() async throws {
        do {
            let engine = try engineOptions.engine(stateRoot: global.root)
            for id in ids {
                try await engine.remove(id: id, force: force)
                unlink(engineOptions.logPath(id))
                print(id)
            }
        } catch { fail(error) }
    }
}

/// `caisson logs ID`: what a detached container wrote to stdout and stderr.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print the output of a detached container.")
    @OptionGroup var engineOptions: EngineOptions
    @Argument(help: "The container id.") var id: String

    func run() throws {
        let path = engineOptions.logPath(id)
        guard let data = FileManager.default.contents(atPath: path) else {
            fail("logs: no output recorded for container \"\(id)\" (\(path)): only containers run with -d have logs")
        }
        FileHandle.standardOutput.write(data)
    }
}

/// `caisson ps` without an id: the containers made from images (docker's `ps -a`).
enum ContainerListing {
    static func print(engine: Engine, quiet: Bool) throws {
        let containers = try engine.containers()
        if quiet {
            for container in containers { Swift.print(container.id) }
            return
        }
        var rows: [[String]] = [["CONTAINER ID", "IMAGE", "STATUS", "PID"]]
        for container in containers {
            rows.append([container.id, container.image, container.status.rawValue, container.pid.map(String.init) ?? "-"])
        }
        FileHandle.standardOutput.write(Data(tabwriterTable(rows).utf8))
    }
}
