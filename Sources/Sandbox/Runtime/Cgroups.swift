#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Synchronization
import SystemPackage

/// The container's cgroup in every hierarchy the host mounts (v1 controllers, named v1
/// hierarchies and the v2 unified tree, so hybrid hosts work).
///
/// This type creates, joins, lists and removes the cgroup; resource limits are applied
/// by the resources layer on top of ``directories``.
struct Cgroups: Codable, Sendable, Equatable {
    /// One hierarchy's directory for this container.
    struct Directory: Codable, Sendable, Equatable {
        /// Controllers of the hierarchy ("memory", "cpu,cpuacct", "" for unified v2).
        var controllers: String
        /// Absolute path of the container's cgroup directory.
        var path: String
        /// Directories this runtime created (leaf first), removed again on delete.
        var created: [String]
    }

    /// The container's directories, one per hierarchy.
    var directories: [Directory]

    /// A cgroup mount of the host, from /proc/self/mountinfo.
    struct Hierarchy: Sendable {
        var mountPoint: String
        var root: String  // the mount's root within the hierarchy
        var controllers: String
        var isV2: Bool
    }

    /// The cgroup hierarchies mounted on the host, read once per process (they do not
    /// change under a running runtime, and parsing mountinfo costs more than a start).
    static func hierarchies() throws(Errno) -> [Hierarchy] {
        if let forced = forcedHierarchies { return forced }
        if let cached = hierarchyCache.withLock({ $0 }) { return cached }
        let read = try readHierarchies()
        hierarchyCache.withLock { $0 = read }
        return read
    }

    private static let hierarchyCache = Mutex<[Hierarchy]?>(nil)

    /// Where `cgroupsPath` lies in `hierarchy`, relative to its mount point, as runc reads
    /// it: an absolute path from the hierarchy's root, a relative one under this process's
    /// own cgroup there (`own`: /proc/self/cgroup, keyed by controllers, "" for v2).
    static func relativePath(_ cgroupsPath: String, in hierarchy: Hierarchy, own: [String: String]) -> String {
        var base = ""
        if !cgroupsPath.hasPrefix("/") {
            let mine = own[hierarchy.isV2 ? "" : hierarchy.controllers] ?? "/"
            // Our path within the hierarchy, seen from this mount's root.
            base = mine.hasPrefix(hierarchy.root) && hierarchy.root != "/" ? String(mine.dropFirst(hierarchy.root.count)) : mine
        }
        return (base + "/" + cgroupsPath).split(separator: "/").joined(separator: "/")
    }

    /// Hierarchies to use instead of the host's, for the task that sets them: lets tests
    /// run the pure-v2 driver (device program, clone into the cgroup) on a hybrid host's
    /// v2 mount, which carries no controllers but takes processes and device programs.
    @TaskLocal static var forcedHierarchies: [Hierarchy]?

    private static func readHierarchies() throws(Errno) -> [Hierarchy] {
        let text = String(decoding: try readFile("/proc/self/mountinfo"), as: UTF8.self)
        var out: [Hierarchy] = []
        var seen = Set<String>()
        for line in text.split(separator: "\n") {
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let fstype = right[0]
            guard fstype == "cgroup" || fstype == "cgroup2" else { continue }
            let mountPoint = unescapeMountinfo(String(left[4]))
            let root = unescapeMountinfo(String(left[3]))
            var controllers = ""
            if fstype == "cgroup" {
                let options = right[2].split(separator: ",").filter { $0 != "rw" && $0 != "ro" && !$0.hasPrefix("clone_children") && $0 != "noprefix" && !$0.hasPrefix("release_agent") && $0 != "xattr" && $0 != "nosuid" && $0 != "nodev" && $0 != "noexec" && $0 != "relatime" }
                controllers = options.joined(separator: ",")
            }
            // The same hierarchy mounted twice (e.g. inside a container): keep the first.
            let key = fstype == "cgroup2" ? "unified" : controllers
            guard seen.insert(key).inserted else { continue }
            out.append(Hierarchy(mountPoint: mountPoint, root: root, controllers: controllers, isV2: fstype == "cgroup2"))
        }
        return out
    }

    /// This process's cgroup path in each hierarchy (from /proc/self/cgroup), keyed by
    /// the controller list ("" for v2).
    static func ownPaths() throws(Errno) -> [String: String] {
        let text = String(decoding: try readFile("/proc/self/cgroup"), as: UTF8.self)
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            out[String(parts[1])] = String(parts[2])
        }
        return out
    }

    /// Creates the container's cgroup for `cgroupsPath` in every hierarchy.
    /// - Parameter cgroupsPath: absolute (from each hierarchy's root) or relative (to this
    ///   process's own cgroup), as runc reads `linux.cgroupsPath`.
    /// - Throws: ``SandboxError`` naming the directory that could not be created.
    static func create(cgroupsPath: String) throws(SandboxError) -> Cgroups {
        let hierarchies: [Hierarchy]
        let own: [String: String]
        do {
            hierarchies = try Self.hierarchies()
            // Only a relative cgroupsPath depends on where this process is.
            own = cgroupsPath.hasPrefix("/") ? [:] : try ownPaths()
        } catch {
            throw SandboxError(.system, "cgroups: reading /proc/self/mountinfo and /proc/self/cgroup", errno: error)
        }
        guard !cgroupsPath.split(separator: "/").contains("..") else {
            throw SandboxError(.invalidSpec, "linux.cgroupsPath: \"\(cgroupsPath)\" must not contain \"..\"")
        }
        var result = Cgroups(directories: [])
        do throws(SandboxError) {
            for hierarchy in hierarchies {
                let relative = Self.relativePath(cgroupsPath, in: hierarchy, own: own)
                let path = hierarchy.mountPoint + "/" + relative
                let created = try makeDirectories(root: hierarchy.mountPoint, relative: relative,
                                                  cpuset: hierarchy.controllers.split(separator: ",").contains("cpuset"),
                                                  partial: { result.directories.append(Directory(controllers: hierarchy.controllers, path: path, created: $0)) })
                result.directories.append(Directory(controllers: hierarchy.controllers, path: path, created: created))
            }
        } catch {
            result.remove()
            throw error
        }
        return result
    }

    /// mkdir -p of `relative` under `root`; returns what it created (leaf first). A parent
    /// that vanishes meanwhile (a sibling's delete removed it) is made again.
    private static func makeDirectories(root: String, relative: String, cpuset: Bool,
                                        partial: ([String]) -> Void) throws(SandboxError) -> [String] {
        var attempt = 0
        while true {
            var created: [String] = []
            var current = root
            var vanished = false
            for component in relative.split(separator: "/") {
                current += "/" + component
                if mkdir(current, 0o755) == 0 {
                    created.insert(current, at: 0)
                } else if Glibc.errno == ENOENT && attempt < 10 {
                    vanished = true
                    break
                } else if Glibc.errno != EEXIST {
                    let error = Errno(rawValue: Glibc.errno)
                    partial(created)
                    throw SandboxError(.system, "cgroups: creating \(current)", errno: error)
                }
                // Every level, also one a concurrent creator just made and not yet filled.
                if cpuset {
                    do { try inheritCpuset(current) } catch {
                        partial(created)
                        throw error
                    }
                }
            }
            if !vanished { return created }
            attempt += 1
        }
    }

    /// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and refuses tasks
    /// until it gets some: copy the parent's (as runc does). Also used by the rootless setup.
    static func inheritCpuset(_ path: String) throws(SandboxError) {
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let mine = (try? readFile(path + "/" + file)) ?? []
            guard mine.allSatisfy({ $0 == UInt8(ascii: "\n") }) else { continue }
            do {
                let value = String(decoding: try readFile(parent + "/" + file), as: UTF8.self)
                try writeFile(path + "/" + file, value.trimmed)
            } catch {
                throw SandboxError(.system, "cgroups: copying \(file) from \(parent) to \(path)", errno: error)
            }
        }
    }

    /// Opens the container's v2 directory for clone3(CLONE_INTO_CGROUP).
    /// - Returns: the fd (close-on-exec), or nil when there is no v2 directory or it cannot
    ///   be opened (the process then joins it after clone, through ``join(pid:skipping:)``).
    func openUnifiedDirectory() -> Int32? {
        guard let unified = unifiedDirectory else { return nil }
        let fd = open(unified, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }

    /// The `tasks` files of the container's v1 directories, opened for the container's
    /// first process to move itself in (`csb_plan.cgroup_task_slots` says why that is
    /// cheaper). A file that cannot be opened is left to ``join(pid:skipping:)``.
    /// - Returns: the fds (close-on-exec; the caller closes them) and their directories.
    func openTasksFiles() -> [(fd: Int32, directory: String)] {
        directories.compactMap { directory in
            guard !directory.controllers.isEmpty else { return nil }
            let fd = open(directory.path + "/tasks", O_WRONLY | O_CLOEXEC)
            return fd >= 0 ? (fd, directory.path) : nil
        }
    }

    /// Moves a process into the container's cgroup in every hierarchy.
    /// - Parameters:
    ///   - pid: the process.
    ///   - joined: directories the process is in already (it moved itself into its v1
    ///     ones, or was cloned into the v2 one).
    func join(pid: pid_t, skipping joined: Set<String> = []) throws(SandboxError) {
        for directory in directories where !joined.contains(directory.path) {
            do {
                try writeFile(directory.path + "/cgroup.procs", "\(pid)")
            } catch {
                throw SandboxError(.system, "cgroups: moving pid \(pid) into \(directory.path)", errno: error)
            }
        }
    }

    /// The pids in the container's cgroup (from the first hierarchy that lists them).
    func pids() -> [pid_t] {
        for directory in directories {
            guard let bytes = try? readFile(directory.path + "/cgroup.procs") else { continue }
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { pid_t($0) }
        }
        return []
    }

    /// Removes the directories this runtime created, leaf first. A cgroup still holding
    /// processes cannot be removed; the caller kills them first.
    /// - Returns: the paths that could not be removed.
    @discardableResult
    func remove() -> [String] {
        var left: [String] = []
        for directory in directories {
            for (depth, path) in directory.created.enumerated() {
                // rmdir of a cgroup whose last task just exited can briefly fail with EBUSY.
                var attempts = 0
                while rmdir(path) != 0 {
                    let error = Glibc.errno
                    if error == ENOENT { break }
                    attempts += 1
                    // Parents we created may be shared with other containers by now:
                    // only the container's own leaf must go.
                    if depth > 0 { break }
                    if error != EBUSY || attempts > 100 {
                        left.append(path)
                        break
                    }
                    usleep(1000)
                }
            }
        }
        return left
    }
}

/// Undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(_ field: String) -> String {
    guard field.contains("\\") else { return field }
    var out: [UInt8] = []
    let bytes = Array(field.utf8)
    var i = 0
    while i < bytes.count {
        if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
           let value = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
            out.append(value)
            i += 4
        } else {
            out.append(bytes[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}
