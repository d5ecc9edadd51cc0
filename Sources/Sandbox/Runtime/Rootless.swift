#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import OCISpec
import SystemPackage

/// What changes when the runtime is not root of the initial user namespace (runc's
/// "rootless" mode): the container needs a user namespace, its cgroup exists only where
/// the user was delegated one, and no host cgroup becomes writable from inside
/// (SECURITY.md item 7, CVE-2023-25809).
enum Rootless {
    /// Whether this process is in the initial user namespace (its uid map is the identity
    /// over all 2^32 ids).
    static let inInitialUserNamespace: Bool = {
        guard let bytes = try? readFile("/proc/self/uid_map") else { return true }
        let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        return fields == ["0", "0", "4294967295"]
    }()

    /// Whether the runtime runs rootless: not root, or root of a user namespace only.
    static var active: Bool { geteuid() != 0 || !inInitialUserNamespace }

    /// The state root a runtime uses by default: /run/caisson for root,
    /// `$XDG_RUNTIME_DIR/caisson` for anyone else (as runc uses `$XDG_RUNTIME_DIR/runc`),
    /// and /tmp/caisson-<uid> when XDG_RUNTIME_DIR is not set.
    static var defaultStateRoot: String {
        if geteuid() == 0 { return "/run/caisson" }
        if let xdg = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }), xdg.hasPrefix("/") {
            return xdg + "/caisson"
        }
        return "/tmp/caisson-\(geteuid())"
    }

    /// A rootless container must have a user namespace: without one the kernel lets an
    /// unprivileged user create no other namespace and do no mount.
    static func requireUserNamespace(_ linux: RuntimeSpec.Linux) throws(SandboxError) {
        guard !(linux.namespaces ?? []).contains(where: { $0.type == .user }) else { return }
        throw SandboxError(.invalidSpec, "linux.namespaces: a rootless container (runtime uid \(geteuid())) needs a user namespace; "
            + "add {\"type\": \"user\"} with linux.uidMappings and linux.gidMappings (`caisson spec --rootless` writes one)")
    }

    // MARK: Cgroups

    /// A hierarchy the user may not write, kept to name it when a limit needs it.
    struct Undelegated: Sendable {
        var controllers: String
        var path: String
    }

    /// The container's cgroup in the hierarchies where the user may create it, and nothing
    /// elsewhere (runc --rootless ignores the cgroups it cannot create). The devices
    /// hierarchy is never used: its rules need CAP_SYS_ADMIN in the initial namespace, and
    /// a rootless container only gets the host's device nodes bound, which its user can
    /// already open.
    /// - Parameter cgroupsPath: absolute (from each hierarchy's root) or relative (to this
    ///   process's own cgroup), as for root.
    /// - Returns: the cgroups (nil when no hierarchy is writable) and the hierarchies left out.
    /// - Throws: ``SandboxError`` when a writable hierarchy fails for another reason.
    static func cgroups(cgroupsPath: String) throws(SandboxError) -> (Cgroups?, [Undelegated]) {
        guard !cgroupsPath.split(separator: "/").contains("..") else {
            throw SandboxError(.invalidSpec, "linux.cgroupsPath: \"\(cgroupsPath)\" must not contain \"..\"")
        }
        let hierarchies: [Cgroups.Hierarchy]
        let own: [String: String]
        do {
            hierarchies = try Cgroups.hierarchies()
            own = try Cgroups.ownPaths()
        } catch {
            throw SandboxError(.system, "cgroups: reading /proc/self/mountinfo and /proc/self/cgroup", errno: error)
        }
        var directories: [Cgroups.Directory] = []
        var skipped: [Undelegated] = []
        do throws(SandboxError) {
            for hierarchy in hierarchies {
                let relative = Cgroups.relativePath(cgroupsPath, in: hierarchy, own: own)
                let path = hierarchy.mountPoint + "/" + relative
                let controllers = hierarchy.controllers.split(separator: ",")
                guard !controllers.contains("devices"), let created = try create(root: hierarchy.mountPoint, relative: relative,
                                                                                  cpuset: controllers.contains("cpuset")) else {
                    skipped.append(Undelegated(controllers: hierarchy.controllers, path: path))
                    continue
                }
                directories.append(Cgroups.Directory(controllers: hierarchy.controllers, path: path, created: created))
            }
        } catch {
            Cgroups(directories: directories).remove()
            throw error
        }
        return (directories.isEmpty ? nil : Cgroups(directories: directories), skipped)
    }

    /// mkdir -p of `relative` under `root` where this user may: nil (nothing made) when a
    /// directory on the way is not writable or the leaf's cgroup.procs is not.
    private static func create(root: String, relative: String, cpuset: Bool) throws(SandboxError) -> [String]? {
        var created: [String] = []
        var current = root
        for component in relative.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) == 0 {
                created.insert(current, at: 0)
                if cpuset {
                    do { try Cgroups.inheritCpuset(current) } catch {
                        removeAll(created)
                        throw error
                    }
                }
                continue
            }
            let error = Glibc.errno
            if error == EEXIST { continue }
            removeAll(created)
            if error == EACCES || error == EPERM || error == EROFS { return nil }
            throw SandboxError(.system, "cgroups: creating \(current)", errno: Errno(rawValue: error))
        }
        // An existing leaf must take our processes (a delegated cgroup has a writable cgroup.procs).
        if created.isEmpty && faccessat(AT_FDCWD, current + "/cgroup.procs", W_OK, AT_EACCESS) != 0 { return nil }
        return created
    }

    private static func removeAll(_ created: [String]) {
        for path in created { rmdir(path) }
    }

    /// Refuses limits a rootless container has no cgroup for, as runc --rootless does
    /// ("cannot set ... limit: container could not join or create cgroup"): naming the
    /// field and the hierarchy the user was not delegated.
    static func refuseUndelegated(_ resources: RuntimeSpec.Linux.Resources?, cgroups: Cgroups?,
                                  skipped: [Undelegated]) throws(SandboxError) {
        guard let resources else { return }
        let cpu = resources.cpu
        var wanted: [(field: String, controller: String)] = []
        if resources.memory != nil { wanted.append(("linux.resources.memory", "memory")) }
        if let cpu, cpu.shares != nil || cpu.quota != nil || cpu.period != nil || cpu.realtimeRuntime != nil
            || cpu.realtimePeriod != nil || cpu.burst != nil || cpu.idle != nil {
            wanted.append(("linux.resources.cpu", "cpu"))
        }
        if let cpu, cpu.cpus != nil || cpu.mems != nil { wanted.append(("linux.resources.cpu.cpus/mems", "cpuset")) }
        if resources.pids != nil { wanted.append(("linux.resources.pids", "pids")) }
        if resources.blockIO != nil { wanted.append(("linux.resources.blockIO", "blkio")) }
        if !(resources.hugepageLimits ?? []).isEmpty { wanted.append(("linux.resources.hugepageLimits", "hugetlb")) }
        if let network = resources.network, network.classID != nil { wanted.append(("linux.resources.network.classID", "net_cls")) }
        if let network = resources.network, !(network.priorities ?? []).isEmpty {
            wanted.append(("linux.resources.network.priorities", "net_prio"))
        }
        if !(resources.rdma ?? [:]).isEmpty { wanted.append(("linux.resources.rdma", "rdma")) }
        if !(resources.unified ?? [:]).isEmpty { wanted.append(("linux.resources.unified", "")) }
        let directories = cgroups?.directories ?? []
        let hasV2 = directories.contains { $0.controllers.isEmpty }
        let hostV1 = ((try? Cgroups.hierarchies()) ?? []).flatMap { $0.controllers.split(separator: ",") }
        for (field, controller) in wanted {
            let v1 = directories.contains { $0.controllers.split(separator: ",").contains(Substring(controller)) }
            // A controller the host does not bind to v1 may come through a delegated v2
            // cgroup (the resources layer enables it there, or says why it cannot).
            if v1 || (hasV2 && !hostV1.contains(Substring(controller))) { continue }
            let candidate = skipped.first { controller.isEmpty ? $0.controllers.isEmpty : $0.controllers.split(separator: ",").contains(Substring(controller)) }
            let reason = candidate.map { "\($0.path) is not writable by uid \(geteuid())" } ?? "the host has no \(controller.isEmpty ? "cgroup v2" : controller) hierarchy"
            throw SandboxError(.unsupported, "\(field): a rootless container can only be limited through a cgroup delegated to its user, "
                + "and none is: \(reason) (delegate it, e.g. chown the cgroup directory to the user, or drop the limit)")
        }
    }
}
