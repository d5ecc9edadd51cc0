/// Resource limits of a container, enforced by its cgroup. `nil` means unlimited, as
/// Docker's defaults are; set each to tighten.
public struct ResourceLimits: Hashable, Sendable {
    /// The memory limit in bytes (`docker run --memory`); swap is limited to the same
    /// value, so the container cannot page out past it.
    public var memoryBytes: Int64?
    /// The most processes and threads the container may have at once (`--pids-limit`):
    /// the answer to a fork bomb.
    public var pids: Int64?
    /// CPU time as a number of CPUs (`--cpus`): 0.5 is half of one CPU, enforced as a
    /// CFS quota over a 100 ms period.
    public var cpus: Double?
    /// The relative CPU weight against other cgroups (`--cpu-shares`, 1024 is the default).
    public var cpuShares: UInt64?

    /// Creates limits; all unlimited by default.
    /// - Parameters:
    ///   - memoryBytes: the memory limit in bytes.
    ///   - pids: the process limit.
    ///   - cpus: CPU time as a number of CPUs.
    ///   - cpuShares: the relative CPU weight.
    public init(memoryBytes: Int64? = nil, pids: Int64? = nil, cpus: Double? = nil, cpuShares: UInt64? = nil) {
        self.memoryBytes = memoryBytes
        self.pids = pids
        self.cpus = cpus
        self.cpuShares = cpuShares
    }

    /// The CFS period the `cpus` quota is measured against (100 ms, as Docker uses).
    static let cpuPeriod: UInt64 = 100_000

    /// Writes the limits into a spec's `linux.resources`, keeping what is there (device rules).
    /// - Throws: ``EngineError`` `invalidConfiguration` naming a limit that is not positive.
    func apply(to resources: inout RuntimeSpec.Linux.Resources) throws {
        if let memoryBytes {
            guard memoryBytes > 0 else {
                throw EngineError(.invalidConfiguration, "limits.memoryBytes: \(memoryBytes) is not a positive number of bytes")
            }
            var memory = resources.memory ?? RuntimeSpec.Linux.Resources.Memory()
            memory.limit = memoryBytes
            memory.swap = memoryBytes
            resources.memory = memory
        }
        if let pids {
            guard pids > 0 else { throw EngineError(.invalidConfiguration, "limits.pids: \(pids) is not a positive process count") }
            resources.pids = .init(limit: pids)
        }
        if cpus != nil || cpuShares != nil {
            var cpu = resources.cpu ?? RuntimeSpec.Linux.Resources.CPU()
            if let cpus {
                guard cpus.isFinite, cpus >= 0.01 else {
                    throw EngineError(.invalidConfiguration, "limits.cpus: \(cpus) is not a CPU count of at least 0.01")
                }
                cpu.period = Self.cpuPeriod
                cpu.quota = Int64((cpus * Double(Self.cpuPeriod)).rounded())
            }
            if let cpuShares {
                guard cpuShares >= 2 else { throw EngineError(.invalidConfiguration, "limits.cpuShares: \(cpuShares) is below the minimum of 2") }
                cpu.shares = cpuShares
            }
            resources.cpu = cpu
        }
    }
}
