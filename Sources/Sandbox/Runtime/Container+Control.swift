import _CSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import OCISpec
import SystemPackage

/// Controlling a running container through its cgroup: pause/resume, resource updates,
/// stats and events (runc `pause`, `resume`, `update`, `events`).
extension Container {
    /// Freezes every process of the container (runc `pause`); its status becomes `paused`.
    /// - Throws: ``SandboxError`` `invalidState` unless the container is running,
    ///   `unsupported` when the host has no freezer.
    public func pause() async throws {
        let status = status()
        guard status == .running else {
            throw SandboxError(.invalidState, "container \"\(id)\" is \(status.rawValue), not running: cannot pause it")
        }
        try await setFrozen(true)
    }

    /// Thaws a paused container (runc `resume`).
    /// - Throws: ``SandboxError`` `invalidState` unless the container is paused.
    public func resume() async throws {
        let status = status()
        guard status == .paused else {
            throw SandboxError(.invalidState, "container \"\(id)\" is \(status.rawValue), not paused: cannot resume it")
        }
        try await setFrozen(false)
    }

    func setFrozen(_ frozen: Bool) async throws(SandboxError) {
        guard let cgroups = record.cgroups, let freezer = cgroups.freezer else {
            throw SandboxError(.unsupported, "container \"\(id)\": the host has no cgroup freezer (v1 freezer or v2 cgroup.freeze)")
        }
        try await cgroups.setFrozen(frozen, using: freezer)
    }

    /// Changes the resource limits of a created or running container (runc `update`).
    ///
    /// Only the limits set in `resources` change; the others keep their values. The new
    /// limits are recorded in the container's state so that another process sees them.
    /// - Parameter resources: the limits to apply (the shape of `linux.resources`).
    /// - Throws: ``SandboxError`` naming the field and cgroup file the kernel refused, or
    ///   `invalidState` when the container is stopped.
    public func update(_ resources: RuntimeSpec.Linux.Resources) throws {
        guard isAlive(), let cgroups = record.cgroups else {
            throw SandboxError(.invalidState, "container \"\(id)\" is not running: cannot update it")
        }
        // Applied on the live record from disk: an earlier update by another process stays.
        var current = (try? ContainerRecord.load(stateRoot: runtime.stateRoot, id: id)) ?? record
        var spec = try current.loadSpec()
        var merged = spec.linux?.resources ?? RuntimeSpec.Linux.Resources()
        try cgroups.update(resources, devices: spec.linux?.devices ?? [])
        merged.merge(resources)
        if spec.linux == nil { spec.linux = RuntimeSpec.Linux() }
        spec.linux?.resources = merged
        current.spec = spec
        try current.save(stateRoot: runtime.stateRoot)
    }

    /// The resource limits in force, as last set by create or ``update(_:)``.
    public func resources() -> RuntimeSpec.Linux.Resources? {
        ((try? ContainerRecord.load(stateRoot: runtime.stateRoot, id: id)) ?? record).spec.linux?.resources
    }

    /// The container's CPU, memory, pids, block I/O and hugepage accounting now.
    /// - Throws: ``SandboxError`` `invalidState` when the container has no cgroup.
    public func stats() throws -> ContainerStats {
        guard let cgroups = record.cgroups else {
            throw SandboxError(.invalidState, "container \"\(id)\" has no cgroup: no stats")
        }
        return cgroups.stats()
    }

    /// Events of the container until it stops: an ``ContainerEvent/oom`` per OOM kill as it
    /// happens, and, when `interval` is given, a stats sample at that interval (runc `events`).
    ///
    /// OOM kills are watched through the v1 memory controller's `cgroup.event_control`
    /// eventfd, or on v2 by polling `memory.events`. The sequence finishes when the
    /// container's process ends; cancelling the consuming task stops the watch.
    /// - Parameter interval: how often to sample stats; nil for OOM events only.
    public func events(interval: Duration? = .seconds(5)) -> AsyncThrowingStream<ContainerEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream<ContainerEvent, any Error>.makeStream()
        let task = Task { [self] in
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { _ = try await self.wait() }
                    if let cgroups = self.record.cgroups {
                        group.addTask { try await Self.watchOOM(cgroups, continuation) }
                        if let interval {
                            group.addTask {
                                while true {
                                    continuation.yield(.stats(cgroups.stats()))
                                    try await Task.sleep(for: interval)
                                }
                            }
                        }
                    }
                    // The first to finish is the exit (or a watcher's failure): stop the others.
                    try await group.next()
                    group.cancelAll()
                }
                continuation.finish()
            } catch is CancellationError {
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Yields one `.oom` per OOM kill in the cgroup, until cancelled.
    private static func watchOOM(_ cgroups: Cgroups, _ continuation: AsyncThrowingStream<ContainerEvent, any Error>.Continuation) async throws {
        if let memory = cgroups.directory(for: "memory") {
            let control = open(memory + "/memory.oom_control", O_RDONLY | O_CLOEXEC)
            guard control >= 0 else {
                throw SandboxError(.system, "events: opening \(memory)/memory.oom_control", errno: Errno(rawValue: Glibc.errno))
            }
            defer { close(control) }
            let event = csb_eventfd()
            guard event >= 0 else { throw SandboxError(.system, "events: eventfd", errno: Errno(rawValue: -event)) }
            defer {
                Reactor.shared.forget(event)
                close(event)
            }
            do throws(Errno) {
                try writeFile(memory + "/cgroup.event_control", "\(event) \(control)")
            } catch {
                throw SandboxError(.system, "events: registering for OOM notifications in \(memory)/cgroup.event_control", errno: error)
            }
            while true {
                try await Reactor.shared.waitReadable(event)
                var count: UInt64 = 0
                guard read(event, &count, 8) == 8 else { continue }
                // The kernel also signals the eventfd when the cgroup is removed.
                guard pathExists(memory + "/memory.oom_control") else { return }
                for _ in 0..<count { continuation.yield(.oom) }
            }
        } else if let unified = cgroups.unifiedDirectory, pathExists(unified + "/memory.events") {
            var seen = cgroups.stats().memory.oomKills
            while true {
                do { try await Task.sleep(for: .milliseconds(100)) } catch {
                    // Cancelled because the container ended, often by the OOM kill itself,
                    // sooner than the next look: the kernel counted the kill before the
                    // process died, so report what the counter has now.
                    let now = cgroups.stats().memory.oomKills
                    for _ in seen..<max(now, seen) { continuation.yield(.oom) }
                    throw error
                }
                let now = cgroups.stats().memory.oomKills
                for _ in seen..<max(now, seen) { continuation.yield(.oom) }
                seen = now
            }
        } else {
            // No memory accounting: no OOM events to report; wait to be cancelled.
            try await Task.sleep(for: .seconds(1 << 40))
        }
    }
}

extension RuntimeSpec.Linux.Resources {
    /// Overwrites the limits that `update` sets, keeping the others (runc `update` semantics).
    mutating func merge(_ update: RuntimeSpec.Linux.Resources) {
        if let devices = update.devices { self.devices = devices }
        if let new = update.memory {
            var memory = self.memory ?? .init()
            if let v = new.limit { memory.limit = v }
            if let v = new.reservation { memory.reservation = v }
            if let v = new.swap { memory.swap = v }
            if let v = new.swappiness { memory.swappiness = v }
            if let v = new.disableOOMKiller { memory.disableOOMKiller = v }
            self.memory = memory
        }
        if let new = update.cpu {
            var cpu = self.cpu ?? .init()
            if let v = new.shares { cpu.shares = v }
            if let v = new.quota { cpu.quota = v }
            if let v = new.burst { cpu.burst = v }
            if let v = new.period { cpu.period = v }
            if let v = new.realtimeRuntime { cpu.realtimeRuntime = v }
            if let v = new.realtimePeriod { cpu.realtimePeriod = v }
            if let v = new.cpus { cpu.cpus = v }
            if let v = new.mems { cpu.mems = v }
            if let v = new.idle { cpu.idle = v }
            self.cpu = cpu
        }
        if let pids = update.pids { self.pids = pids }
        if let blockIO = update.blockIO { self.blockIO = blockIO }
        if let limits = update.hugepageLimits { self.hugepageLimits = limits }
        if let network = update.network { self.network = network }
        if let rdma = update.rdma { self.rdma = rdma }
        if let unified = update.unified { self.unified = (self.unified ?? [:]).merging(unified) { $1 } }
    }
}
