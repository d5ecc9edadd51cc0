import Foundation

/// What a Sandbox test gets: its own state root and bundle directory, removed after.
public struct SandboxEnvironmentPaths: Sendable {
    /// Per-test temporary directory.
    public let directory: String

    /// Creates the paths under `directory`.
    public init(directory: String) { self.directory = directory }
    /// Per-test state root.
    public var stateRoot: String { directory + "/state" }
    /// A directory for the test's bundle.
    public var bundleDirectory: String { directory + "/bundle" }
}

/// Leak checks every Sandbox test runs after its body: mounts, cgroups, child processes.
public enum LeakCheck {
    /// Lines of /proc/self/mountinfo that mention `needle`. (Read with FileHandle: a
    /// mountinfo line longer than a page, e.g. a long overlay, defeats String(contentsOfFile:).)
    public static func mounts(containing needle: String) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/mountinfo") else { return ["cannot read mountinfo"] }
        defer { try? handle.close() }
        let text = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").map(String.init).filter { $0.contains(needle) }
    }

    /// What is left under a state root besides the runtime's own files (names starting
    /// with `@`, which no container id can: `@cache` of compiled seccomp programs, the
    /// `@cgroup-parents` list): container directories and stray files.
    public static func stateEntries(in stateRoot: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: stateRoot)) ?? []).filter { !$0.hasPrefix("@") }.sorted()
    }

    /// cgroup directories named like `needle` under /sys/fs/cgroup (depth ≤ 3).
    public static func cgroups(named needle: String) -> [String] {
        var found: [String] = []
        let fm = FileManager.default
        guard let controllers = try? fm.contentsOfDirectory(atPath: "/sys/fs/cgroup") else { return [] }
        for controller in controllers {
            let base = "/sys/fs/cgroup/" + controller
            for first in (try? fm.contentsOfDirectory(atPath: base)) ?? [] where first.contains(needle) {
                found.append(base + "/" + first)
            }
        }
        return found
    }

    /// Live (non-zombie) children of this process.
    public static func children() -> [Int32] {
        let me = getpid()
        var all: [Int32] = []
        for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(me)/task")) ?? [] {
            let list = (try? String(contentsOfFile: "/proc/\(me)/task/\(task)/children", encoding: .utf8)) ?? ""
            all += list.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return all
    }

    /// Open fds of this process, with what each refers to.
    public static func openFDs() -> [Int32: String] {
        var out: [Int32: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let fd = Int32(name) else { continue }
            out[fd] = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(name)")) ?? "?"
        }
        return out
    }
}
