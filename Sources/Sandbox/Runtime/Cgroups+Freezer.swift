#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import SystemPackage

/// Freezing and thawing a container's cgroup (runc `pause` / `resume`).
///
/// Two drivers: the v1 `freezer` controller (`freezer.state`), used wherever the host
/// mounts it — hybrid hosts like this project's included — and the v2 core freezer
/// (`cgroup.freeze`, confirmed through `frozen 1` in `cgroup.events`) on unified hosts.
extension Cgroups {
    /// Which freezer a cgroup uses.
    enum Freezer: Equatable {
        case v1(String)  // the container's directory in the freezer hierarchy
        case v2(String)  // the container's directory in the unified hierarchy
    }

    /// The freezer the host offers: v1 when mounted (it is the one that holds processes
    /// on a hybrid host), else v2's core freezer.
    var freezer: Freezer? {
        if let directory = directory(for: "freezer") { return .v1(directory) }
        if let unified = unifiedDirectory, pathExists(unified + "/cgroup.freeze") { return .v2(unified) }
        return nil
    }

    /// The container's directory in the v2 hierarchy, if the host mounts one.
    var unifiedDirectory: String? {
        directories.first { $0.controllers.isEmpty }?.path
    }

    /// Freezes (or thaws) every process of the cgroup and returns once the kernel reports
    /// the new state.
    /// - Throws: ``SandboxError`` naming the cgroup file when the kernel refuses or does not
    ///   settle within a few seconds (a v1 freeze can stall on a task in uninterruptible sleep).
    func setFrozen(_ frozen: Bool, using freezer: Freezer) async throws(SandboxError) {
        switch freezer {
        case .v1(let directory):
            let file = directory + "/freezer.state"
            let wanted = frozen ? "FROZEN" : "THAWED"
            // v1 may stay in FREEZING while tasks are being frozen; writing FROZEN again
            // retries the ones that were busy (runc does the same dance).
            for attempt in 0..<2000 {
                if attempt % 50 == 0 || !frozen { try write(file, wanted) }
                if try read(file) == wanted { return }
                try? await Task.sleep(for: .milliseconds(attempt < 100 ? 1 : 10))
            }
            if frozen { try? write(file, "THAWED") }
            throw SandboxError(.system, "cgroups: \(file) did not reach \(wanted)")
        case .v2(let directory):
            try write(directory + "/cgroup.freeze", frozen ? "1" : "0")
            let events = directory + "/cgroup.events"
            let wanted = "frozen \(frozen ? 1 : 0)"
            for attempt in 0..<2000 {
                if try read(events).split(separator: "\n").contains(Substring(wanted)) { return }
                try? await Task.sleep(for: .milliseconds(attempt < 100 ? 1 : 10))
            }
            if frozen { try? write(directory + "/cgroup.freeze", "0") }
            throw SandboxError(.system, "cgroups: \(events) did not report \(wanted)")
        }
    }

    /// Whether the cgroup is frozen (or being frozen) now.
    func isFrozen(using freezer: Freezer) -> Bool {
        switch freezer {
        case .v1(let directory):
            let state = (try? read(directory + "/freezer.state")) ?? "THAWED"
            return state != "THAWED"
        case .v2(let directory):
            return (try? read(directory + "/cgroup.freeze")) == "1"
        }
    }

    /// Whether the container's cgroup is frozen by any freezer the host has.
    var isFrozen: Bool {
        freezer.map { isFrozen(using: $0) } ?? false
    }

    /// Kills every process of a v2 cgroup at once with `cgroup.kill` (Linux 5.14): no race
    /// with processes forking while a pid list is walked.
    /// - Returns: false when the host has no v2 directory for the container or no cgroup.kill.
    func killAllV2() -> Bool {
        guard let unified = unifiedDirectory, pathExists(unified + "/cgroup.kill") else { return false }
        return (try? write(unified + "/cgroup.kill", "1")) != nil
    }

    private func write(_ path: String, _ value: String) throws(SandboxError) {
        do { try writeFile(path, value) } catch {
            throw SandboxError(.system, "cgroups: writing \"\(value)\" to \(path)", errno: error)
        }
    }

    private func read(_ path: String) throws(SandboxError) -> String {
        do {
            return String(decoding: try readFile(path), as: UTF8.self).trimmed
        } catch {
            throw SandboxError(.system, "cgroups: reading \(path)", errno: error)
        }
    }
}
