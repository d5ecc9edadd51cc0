#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Reading a container's accounting from its cgroup files: the v1 controller where the
/// host mounts it, else the v2 unified directory's equivalent.
extension Cgroups {
    /// The container's stats now.
    func stats() -> ContainerStats {
        var stats = ContainerStats()
        let unified = unifiedDirectory

        if let cpuacct = directory(for: "cpuacct") {
            stats.cpu.usage.total = number(cpuacct + "/cpuacct.usage")
            stats.cpu.usage.percpu = numbers(cpuacct + "/cpuacct.usage_percpu")
            if pathExists(cpuacct + "/cpuacct.usage_user") {
                stats.cpu.usage.user = number(cpuacct + "/cpuacct.usage_user")
                stats.cpu.usage.kernel = number(cpuacct + "/cpuacct.usage_sys")
            } else {
                // cpuacct.stat counts USER_HZ ticks.
                let ticks = keyed(cpuacct + "/cpuacct.stat")
                let nanosPerTick = UInt64(1_000_000_000 / max(sysconf(Int32(_SC_CLK_TCK)), 1))
                stats.cpu.usage.user = (ticks["user"] ?? 0) * nanosPerTick
                stats.cpu.usage.kernel = (ticks["system"] ?? 0) * nanosPerTick
            }
        } else if let unified {
            let cpu = keyed(unified + "/cpu.stat")
            stats.cpu.usage.total = (cpu["usage_usec"] ?? 0) * 1000
            stats.cpu.usage.user = (cpu["user_usec"] ?? 0) * 1000
            stats.cpu.usage.kernel = (cpu["system_usec"] ?? 0) * 1000
        }
        if let cpu = directory(for: "cpu") {
            let counters = keyed(cpu + "/cpu.stat")
            stats.cpu.throttling.periods = counters["nr_periods"] ?? 0
            stats.cpu.throttling.throttledPeriods = counters["nr_throttled"] ?? 0
            stats.cpu.throttling.throttledTime = counters["throttled_time"] ?? 0
        } else if let unified {
            let counters = keyed(unified + "/cpu.stat")
            stats.cpu.throttling.periods = counters["nr_periods"] ?? 0
            stats.cpu.throttling.throttledPeriods = counters["nr_throttled"] ?? 0
            stats.cpu.throttling.throttledTime = (counters["throttled_usec"] ?? 0) * 1000
        }

        if let memory = directory(for: "memory") {
            stats.memory.usage.usage = number(memory + "/memory.usage_in_bytes")
            stats.memory.usage.max = number(memory + "/memory.max_usage_in_bytes")
            stats.memory.usage.limit = number(memory + "/memory.limit_in_bytes")
            stats.memory.usage.failcnt = number(memory + "/memory.failcnt")
            if pathExists(memory + "/memory.memsw.usage_in_bytes") {
                stats.memory.swap.usage = number(memory + "/memory.memsw.usage_in_bytes")
                stats.memory.swap.max = number(memory + "/memory.memsw.max_usage_in_bytes")
                stats.memory.swap.limit = number(memory + "/memory.memsw.limit_in_bytes")
                stats.memory.swap.failcnt = number(memory + "/memory.memsw.failcnt")
            }
            stats.memory.raw = keyed(memory + "/memory.stat")
            stats.memory.cache = stats.memory.raw["total_cache"] ?? stats.memory.raw["cache"] ?? 0
            stats.memory.oomKills = keyed(memory + "/memory.oom_control")["oom_kill"] ?? 0
        } else if let unified, pathExists(unified + "/memory.current") {
            stats.memory.usage.usage = number(unified + "/memory.current")
            stats.memory.usage.max = number(unified + "/memory.peak")
            stats.memory.usage.limit = number(unified + "/memory.max")
            let events = keyed(unified + "/memory.events")
            stats.memory.usage.failcnt = events["max"] ?? 0
            stats.memory.oomKills = events["oom_kill"] ?? 0
            stats.memory.swap.usage = number(unified + "/memory.swap.current")
            stats.memory.swap.limit = number(unified + "/memory.swap.max")
            stats.memory.raw = keyed(unified + "/memory.stat")
            stats.memory.cache = stats.memory.raw["file"] ?? 0
        }

        if let pids = directory(for: "pids") ?? unified.flatMap({ pathExists($0 + "/pids.current") ? $0 : nil }) {
            stats.pids.current = number(pids + "/pids.current")
            stats.pids.limit = number(pids + "/pids.max")
        }

        if let blkio = directory(for: "blkio") {
            stats.blkio.ioServiceBytesRecursive = blkioEntries(blkio + "/blkio.throttle.io_service_bytes_recursive")
            stats.blkio.ioServicedRecursive = blkioEntries(blkio + "/blkio.throttle.io_serviced_recursive")
        } else if let unified, pathExists(unified + "/io.stat") {
            let (bytes, ios) = ioStatEntries(unified + "/io.stat")
            stats.blkio.ioServiceBytesRecursive = bytes
            stats.blkio.ioServicedRecursive = ios
        }

        for size in Self.hugepageSizes() {
            if let hugetlb = directory(for: "hugetlb") {
                var entry = ContainerStats.Hugetlb()
                entry.usage = number(hugetlb + "/hugetlb.\(size).usage_in_bytes")
                entry.max = number(hugetlb + "/hugetlb.\(size).max_usage_in_bytes")
                entry.failcnt = number(hugetlb + "/hugetlb.\(size).failcnt")
                stats.hugetlb[size] = entry
            } else if let unified, pathExists(unified + "/hugetlb.\(size).current") {
                var entry = ContainerStats.Hugetlb()
                entry.usage = number(unified + "/hugetlb.\(size).current")
                entry.failcnt = keyed(unified + "/hugetlb.\(size).events")["max"] ?? 0
                stats.hugetlb[size] = entry
            }
        }
        return stats
    }

    /// The hugepage sizes of the host as cgroup files name them ("2MB", "1GB").
    static func hugepageSizes() -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/sys/kernel/mm/hugepages") else { return [] }
        return names.compactMap { name -> String? in
            guard name.hasPrefix("hugepages-"), name.hasSuffix("kB"),
                  let kib = UInt64(name.dropFirst("hugepages-".count).dropLast(2)) else { return nil }
            if kib >= 1 << 20 { return "\(kib >> 20)GB" }
            if kib >= 1 << 10 { return "\(kib >> 10)MB" }
            return "\(kib)KB"
        }.sorted()
    }

    /// A file holding one number ("max" reads as 0: no limit).
    private func number(_ path: String) -> UInt64 {
        guard let bytes = try? readFile(path) else { return 0 }
        return UInt64(String(decoding: bytes, as: UTF8.self).trimmed) ?? 0
    }

    /// A file of space-separated numbers.
    private func numbers(_ path: String) -> [UInt64] {
        guard let bytes = try? readFile(path) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
    }

    /// A file of "key value" lines.
    private func keyed(_ path: String) -> [String: UInt64] {
        guard let bytes = try? readFile(path) else { return [:] }
        var out: [String: UInt64] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = UInt64(parts[1]) { out[String(parts[0])] = value }
        }
        return out
    }

    /// v1 blkio "MAJ:MIN Op value" lines (the trailing "Total N" line is skipped).
    private func blkioEntries(_ path: String) -> [ContainerStats.BlockIO.Entry] {
        guard let bytes = try? readFile(path) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, let value = UInt64(parts[2]) else { return nil }
            let device = parts[0].split(separator: ":")
            guard device.count == 2, let major = UInt64(device[0]), let minor = UInt64(device[1]) else { return nil }
            return .init(major: major, minor: minor, op: String(parts[1]), value: value)
        }
    }

    /// v2 io.stat "MAJ:MIN rbytes=… wbytes=… rios=… wios=…" lines, as v1-style entries.
    private func ioStatEntries(_ path: String) -> (bytes: [ContainerStats.BlockIO.Entry], ios: [ContainerStats.BlockIO.Entry]) {
        guard let data = try? readFile(path) else { return ([], []) }
        var bytes: [ContainerStats.BlockIO.Entry] = [], ios: [ContainerStats.BlockIO.Entry] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard let first = parts.first else { continue }
            let device = first.split(separator: ":")
            guard device.count == 2, let major = UInt64(device[0]), let minor = UInt64(device[1]) else { continue }
            for field in parts.dropFirst() {
                let pair = field.split(separator: "=")
                guard pair.count == 2, let value = UInt64(pair[1]) else { continue }
                switch pair[0] {
                case "rbytes": bytes.append(.init(major: major, minor: minor, op: "Read", value: value))
                case "wbytes": bytes.append(.init(major: major, minor: minor, op: "Write", value: value))
                case "rios": ios.append(.init(major: major, minor: minor, op: "Read", value: value))
                case "wios": ios.append(.init(major: major, minor: minor, op: "Write", value: value))
                default: break
                }
            }
        }
        return (bytes, ios)
    }
}
