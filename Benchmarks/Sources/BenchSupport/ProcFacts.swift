import Foundation

/// Numbers read from /proc, in KiB where the kernel prints kB.
public enum ProcFacts {
    /// The `Name: value kB` fields of /proc/<pid>/status (`self` by default), in KiB.
    public static func status(_ pid: String = "self") -> [String: Int] {
        parse("/proc/\(pid)/status")
    }

    /// The fields of /proc/meminfo, in KiB.
    public static func meminfo() -> [String: Int] {
        parse("/proc/meminfo")
    }

    private static func parse(_ path: String) -> [String: Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let value = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            if let value, let number = Int(value) { out[key] = number }
        }
        return out
    }
}

/// Order statistics over a sample.
public struct Sample: Sendable {
    /// The values, sorted.
    public let sorted: [Double]

    /// Sorts `values`.
    public init(_ values: [Double]) { sorted = values.sorted() }

    /// The p-th percentile (nearest rank), 0 for an empty sample.
    public func percentile(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[Swift.min(Swift.max(rank, 0), sorted.count - 1)]
    }

    /// The median (the mean of the middle two for an even count).
    public var median: Double {
        guard !sorted.isEmpty else { return 0 }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// The smallest value.
    public var min: Double { sorted.first ?? 0 }
}

/// A monotonic clock in seconds.
public func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
