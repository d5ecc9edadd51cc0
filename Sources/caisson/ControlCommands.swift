import ArgumentParser
import CLICommon
import Glibc
import OCISpec
import Sandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Suspend all processes of a container.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Argument(help: "The container id.") var id: String

    func run() async throws {
        do { try await global.runtime.container(id: id).pause() } catch { fail(error) }
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume all processes of a paused container.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Argument(help: "The container id.") var id: String

    func run() async throws {
        do { try await global.runtime.container(id: id).resume() } catch { fail(error) }
    }
}

/// runc `update`: new limits from a `linux.resources` JSON document and/or single flags
/// (the flags win over the document, as in runc).
struct UpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Update resource limits of a container.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Option(name: [.short, .customLong("resources")], help: "Path to a linux.resources JSON file, or - for stdin.")
    var resources: String?
    @Option(name: .customLong("blkio-weight"), help: "Block IO weight (10-1000).") var blkioWeight: UInt16?
    @Option(name: .customLong("cpu-period"), help: "CPU CFS period in microseconds.") var cpuPeriod: UInt64?
    @Option(name: .customLong("cpu-quota"), help: "CPU CFS quota in microseconds.") var cpuQuota: Int64?
    @Option(name: .customLong("cpu-share"), help: "CPU shares (relative weight).") var cpuShare: UInt64?
    @Option(name: .customLong("cpu-rt-period"), help: "CPU realtime period in microseconds.") var cpuRtPeriod: UInt64?
    @Option(name: .customLong("cpu-rt-runtime"), help: "CPU realtime runtime in microseconds.") var cpuRtRuntime: Int64?
    @Option(name: .customLong("cpu-burst"), help: "CPU CFS burst in microseconds.") var cpuBurst: UInt64?
    @Option(name: .customLong("cpu-idle"), help: "Set the cgroup's SCHED_IDLE (0 or 1).") var cpuIdle: Int64?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs to use (0-3, 0,1).") var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems"), help: "Memory nodes to use (0-3, 0,1).") var cpusetMems: String?
    @Option(name: .customLong("memory"), help: "Memory limit in bytes (k, m, g suffixes; -1 unlimited).") var memory: String?
    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit in bytes.") var memoryReservation: String?
    @Option(name: .customLong("memory-swap"), help: "Memory plus swap limit in bytes (-1 unlimited).") var memorySwap: String?
    @Option(name: .customLong("pids-limit"), help: "Maximum number of pids (-1 or 0 unlimited).") var pidsLimit: Int64?
    @Option(name: .customLong("l3-cache-schema"), help: "Intel RDT L3 cache schema (not supported).") var l3CacheSchema: String?
    @Option(name: .customLong("mem-bw-schema"), help: "Intel RDT memory bandwidth schema (not supported).") var memBwSchema: String?
    @Argument(help: "The container id.") var id: String

    func run() async throws {
        do {
            if l3CacheSchema != nil || memBwSchema != nil {
                throw ValidationError("--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported")
            }
            var update = RuntimeSpec.Linux.Resources()
            if let resources {
                let data = resources == "-" ? Data(StandardStreams.readInput())
                    : Data(try readCommandLineFile(resources))
                do {
                    update = try OCIJSON.decode(RuntimeSpec.Linux.Resources.self, from: data)
                } catch {
                    throw ValidationError("--resources \(resources): \(error)")
                }
            }
            if let blkioWeight { update.blockIO = (update.blockIO ?? .init()).with { $0.weight = blkioWeight } }
            var cpu = update.cpu ?? .init()
            var cpuSet = update.cpu != nil
            func set<T>(_ value: T?, _ path: WritableKeyPath<RuntimeSpec.Linux.Resources.CPU, T?>) {
                if let value { cpu[keyPath: path] = value; cpuSet = true }
            }
            set(cpuPeriod, \.period); set(cpuQuota, \.quota); set(cpuShare, \.shares)
            set(cpuRtPeriod, \.realtimePeriod); set(cpuRtRuntime, \.realtimeRuntime); set(cpuBurst, \.burst)
            set(cpuIdle, \.idle); set(cpusetCpus, \.cpus); set(cpusetMems, \.mems)
            if cpuSet { update.cpu = cpu }
            var mem = update.memory ?? .init()
            var memSet = update.memory != nil
            if let memory { mem.limit = try ByteSize.parse(memory, flag: "--memory"); memSet = true }
            if let memoryReservation { mem.reservation = try ByteSize.parse(memoryReservation, flag: "--memory-reservation"); memSet = true }
            if let memorySwap { mem.swap = try ByteSize.parse(memorySwap, flag: "--memory-swap"); memSet = true }
            if memSet { update.memory = mem }
            if let pidsLimit { update.pids = .init(limit: pidsLimit <= 0 ? -1 : pidsLimit) }
            try global.runtime.container(id: id).update(update)
        } catch { fail(error) }
    }
}

/// runc `events`: stats every interval and OOM notifications as JSON lines, until the
/// container stops; `--stats` prints one sample and exits.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Display container events: OOM notifications and resource usage.")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }
    @Flag(help: "Display the container's stats once, then exit.") var stats = false
    @Option(help: "Stats collection interval (e.g. 5s, 500ms).") var interval: String = "5s"
    @Argument(help: "The container id.") var id: String

    /// runc's `types.Event` envelope.
    struct Event<Data: Encodable>: Encodable {
        var type: String
        var id: String
        var data: Data?
    }

    func run() async throws {
        do {
            let container = try global.runtime.container(id: id)
            guard container.status() != .stopped else {
                throw ValidationError("container \"\(id)\" is not running")
            }
            if stats {
                Self.emit(try Self.line(Event(type: "stats", id: id, data: try container.stats())))
                return
            }
            let period = try Self.duration(interval)
            for try await event in container.events(interval: period) {
                switch event {
                case .stats(let sample): Self.emit(try Self.line(Event(type: "stats", id: id, data: sample)))
                case .oom: Self.emit(try Self.line(Event<ContainerStats>(type: "oom", id: id, data: nil)))
                }
            }
        } catch { fail(error) }
    }

    /// One line to stdout, unbuffered: a reader sees each event as it happens.
    static func emit(_ line: String) {
        StandardStreams.write(line + "\n")
    }

    static func line(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A Go-style duration: "5s", "500ms", "1m", "1.5s".
    static func duration(_ text: String) throws -> Duration {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, seconds) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value > 0 {
                return .nanoseconds(Int64(value * seconds * 1e9))
            }
        }
        throw ValidationError("--interval: \"\(text)\" is not a duration such as 5s or 500ms")
    }
}

extension RuntimeSpec.Linux.Resources.BlockIO {
    fileprivate func with(_ change: (inout Self) -> Void) -> Self {
        var copy = self
        change(&copy)
        return copy
    }
}
