import _CSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import OCISpec
import SystemPackage

/// The uid and gid maps of a new user namespace, and how they get written.
///
/// The kernel (user_namespaces(7)) lets a process with CAP_SETUID/CAP_SETGID over the
/// parent namespace write any maps; anyone else may only map its own uid (and, once
/// `setgroups` is denied, its own gid) with a single line. Everything else goes through
/// the setuid helpers newuidmap/newgidmap (shadow's `uidmap` package), which allow the
/// ranges /etc/subuid and /etc/subgid delegate to the user.
struct IDMaps: Sendable, Equatable {
    /// How one map file is written.
    enum Writer: Sendable, Equatable {
        /// The runtime writes /proc/<pid>/{uid,gid}_map itself.
        case direct
        /// Through the setuid helper at this path (newuidmap or newgidmap).
        case helper(String)
    }

    var uidMappings: [RuntimeSpec.Linux.IDMapping]
    var gidMappings: [RuntimeSpec.Linux.IDMapping]
    var uidWriter: Writer
    var gidWriter: Writer
    /// "deny" goes to /proc/<pid>/setgroups before a gid map an unprivileged user writes
    /// directly (the kernel requires it); the container then cannot call setgroups(2).
    var denySetgroups: Bool

    /// The child stays dumpable until its maps are written (csb_plan.dumpable_until_go)
    /// unless the runtime is root of the initial user namespace: anyone else cannot open
    /// a non-dumpable process's /proc files, and newuidmap refuses such a process.
    static var needsDumpableChild: Bool { geteuid() != 0 || !Rootless.inInitialUserNamespace }

    /// Whether this process may write any map itself: root (CAP_SETUID over its namespace;
    /// the kernel still checks that the host ids are mapped in it).
    static var privileged: Bool { geteuid() == 0 }

    /// Who writes the maps: the runtime's ids, and where it looks for the setuid helpers.
    struct Identity: Sendable {
        var uid: uid_t
        var gid: gid_t
        var privileged: Bool
        var helperDirectories: [String]
        static var current: Identity {
            let path = getenv("PATH").map { String(cString: $0) } ?? ""
            return Identity(uid: geteuid(), gid: getegid(), privileged: IDMaps.privileged,
                            helperDirectories: ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] + path.split(separator: ":").map(String.init))
        }
    }

    /// Decides how the spec's maps get written, refusing maps the kernel or the
    /// subordinate-id files would refuse, with the field and range at fault named.
    /// - Parameters:
    ///   - uidMappings: `linux.uidMappings`.
    ///   - gidMappings: `linux.gidMappings`.
    ///   - files: where to read the subordinate ranges.
    ///   - identity: the writer (this process by default).
    /// - Throws: ``SandboxError`` `invalidSpec` for malformed or undelegated ranges,
    ///   `unsupported` when newuidmap/newgidmap are needed and missing.
    static func plan(uidMappings: [RuntimeSpec.Linux.IDMapping], gidMappings: [RuntimeSpec.Linux.IDMapping],
                     files: SubordinateIDs.Files = .system, identity: Identity = .current) throws(SandboxError) -> IDMaps {
        try validate(uidMappings, field: "linux.uidMappings", kind: "uid")
        try validate(gidMappings, field: "linux.gidMappings", kind: "gid")
        if identity.privileged {
            return IDMaps(uidMappings: uidMappings, gidMappings: gidMappings, uidWriter: .direct, gidWriter: .direct,
                          denySetgroups: false)
        }
        let uid = identity.uid, gid = identity.gid
        let ownUID = uidMappings.count == 1 && uidMappings[0].hostID == uid && uidMappings[0].size == 1
        let ownGID = gidMappings.count == 1 && gidMappings[0].hostID == gid && gidMappings[0].size == 1
        var maps = IDMaps(uidMappings: uidMappings, gidMappings: gidMappings, uidWriter: .direct, gidWriter: .direct,
                          denySetgroups: ownGID)
        if !ownUID {
            try SubordinateIDs.check(uidMappings, field: "linux.uidMappings", kind: "uid", own: uid, uid: uid,
                                     file: files.subuid, user: SubordinateIDs.userName(uid: uid))
            maps.uidWriter = .helper(try helper("newuidmap", in: identity.helperDirectories, field: "linux.uidMappings",
                                                mappings: uidMappings, kind: "uid"))
        }
        if !ownGID {
            try SubordinateIDs.check(gidMappings, field: "linux.gidMappings", kind: "gid", own: gid, uid: uid,
                                     file: files.subgid, user: SubordinateIDs.userName(uid: uid))
            maps.gidWriter = .helper(try helper("newgidmap", in: identity.helperDirectories, field: "linux.gidMappings",
                                                mappings: gidMappings, kind: "gid"))
        }
        return maps
    }

    /// The kernel's rules for a map (user_namespaces(7)): at least one line and at most
    /// 340, sizes above zero, no range past 2^32-1, no two ranges overlapping on either side.
    static func validate(_ mappings: [RuntimeSpec.Linux.IDMapping], field: String, kind: String) throws(SandboxError) {
        guard !mappings.isEmpty else {
            throw SandboxError(.invalidSpec, "\(field): a new user namespace needs \(kind) mappings")
        }
        guard mappings.count <= 340 else {
            throw SandboxError(.invalidSpec, "\(field): \(mappings.count) ranges; the kernel takes at most 340")
        }
        for (index, mapping) in mappings.enumerated() {
            guard mapping.size > 0 else { throw SandboxError(.invalidSpec, "\(field)[\(index)].size: must be above zero") }
            guard UInt64(mapping.containerID) + UInt64(mapping.size) <= 1 << 32,
                  UInt64(mapping.hostID) + UInt64(mapping.size) <= 1 << 32 else {
                throw SandboxError(.invalidSpec, "\(field)[\(index)]: \(describe(mapping, kind: kind)) goes past \(kind) 4294967295")
            }
            for other in mappings.indices where other < index {
                let o = mappings[other]
                if overlaps(o.containerID, o.size, mapping.containerID, mapping.size) {
                    throw SandboxError(.invalidSpec, "\(field)[\(index)]: container \(kind)s overlap \(field)[\(other)] (\(describe(o, kind: kind)))")
                }
                if overlaps(o.hostID, o.size, mapping.hostID, mapping.size) {
                    throw SandboxError(.invalidSpec, "\(field)[\(index)]: host \(kind)s overlap \(field)[\(other)] (\(describe(o, kind: kind)))")
                }
            }
        }
    }

    static func overlaps(_ a: UInt32, _ aSize: UInt32, _ b: UInt32, _ bSize: UInt32) -> Bool {
        UInt64(a) < UInt64(b) + UInt64(bSize) && UInt64(b) < UInt64(a) + UInt64(aSize)
    }

    /// "container 0-65535 -> host 100000-165535"
    static func describe(_ m: RuntimeSpec.Linux.IDMapping, kind: String) -> String {
        "container \(kind)s \(m.containerID)-\(UInt64(m.containerID) + UInt64(m.size) - 1) -> host \(m.hostID)-\(UInt64(m.hostID) + UInt64(m.size) - 1)"
    }

    /// The setuid helper `name` from the places shadow installs it, or PATH.
    private static func helper(_ name: String, in directories: [String], field: String, mappings: [RuntimeSpec.Linux.IDMapping],
                               kind: String) throws(SandboxError) -> String {
        for directory in directories where !directory.isEmpty && access(directory + "/" + name, X_OK) == 0 {
            return directory + "/" + name
        }
        throw SandboxError(.unsupported, "\(field): \(mappings.map { describe($0, kind: kind) }.joined(separator: ", ")) "
            + "maps more than the runtime user's own \(kind), which needs the setuid helper \(name) (apt-get install uidmap); it is not installed")
    }

    /// Writes the maps of the freshly cloned `pid` (stopped before GO in the C core).
    /// - Throws: ``SandboxError`` naming the /proc file or the helper and what it said.
    func write(pid: pid_t, containerID: String) async throws(SandboxError) {
        // setgroups first: the kernel refuses an unprivileged gid_map until it says "deny".
        if denySetgroups { try Self.writeProc(pid: pid, file: "setgroups", text: "deny", containerID: containerID) }
        for (file, mappings, writer) in [("uid_map", uidMappings, uidWriter), ("gid_map", gidMappings, gidWriter)] {
            switch writer {
            case .direct:
                try Self.writeProc(pid: pid, file: file, text: mappings.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined(),
                                   containerID: containerID)
            case .helper(let path):
                let args = [path, "\(pid)"] + mappings.flatMap { ["\($0.containerID)", "\($0.hostID)", "\($0.size)"] }
                try await Self.runHelper(args, containerID: containerID)
            }
        }
    }

    private static func writeProc(pid: pid_t, file: String, text: String, containerID: String) throws(SandboxError) {
        do { try writeFile("/proc/\(pid)/\(file)", text) } catch {
            throw SandboxError(.system, "container \"\(containerID)\": writing /proc/\(pid)/\(file)", errno: error)
        }
    }

    /// Runs newuidmap/newgidmap and waits for it through its pidfd (never on the
    /// cooperative pool); its stderr goes into the error when it fails.
    private static func runHelper(_ args: [String], containerID: String) async throws(SandboxError) {
        let name = args[0].split(separator: "/").last.map(String.init) ?? args[0]
        let output = csb_memfd("caisson-idmap-output")
        guard output >= 0 else {
            throw SandboxError(.system, "container \"\(containerID)\": \(name): memfd", errno: Errno(rawValue: -output))
        }
        defer { close(output) }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard null >= 0 else {
            throw SandboxError(.system, "container \"\(containerID)\": \(name): opening /dev/null", errno: Errno(rawValue: Glibc.errno))
        }
        defer { close(null) }
        var pidfd: Int32 = -1
        let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
        let pid = withCStrings(args) { argv in
            withCStrings(environment) { envp in csb_spawn_hook(args[0], argv, envp, null, output, &pidfd) }
        }
        guard pid > 0 else {
            throw SandboxError(.system, "container \"\(containerID)\": starting \(args[0])", errno: Errno(rawValue: -pid))
        }
        defer {
            Reactor.shared.forget(pidfd)
            close(pidfd)
        }
        var code: Int32 = 0, signal: Int32 = 0
        while true {
            let reaped = csb_pidfd_reap(pidfd, 1, &code, &signal)
            if reaped == 1 { break }
            if reaped < 0 {
                throw SandboxError(.system, "container \"\(containerID)\": waiting for \(name)", errno: Errno(rawValue: -reaped))
            }
            do { try await Reactor.shared.waitReadable(pidfd) } catch {
                _ = csb_pidfd_send_signal(pidfd, SIGKILL)
                _ = csb_pidfd_reap(pidfd, 0, &code, &signal)
                throw SandboxError(.system, "container \"\(containerID)\": \(name) was cancelled")
            }
        }
        guard code == 0 && signal == 0 else {
            let how = signal != 0 ? "was killed by signal \(signal)" : "exited with status \(code)"
            throw SandboxError(.setupFailed, "container \"\(containerID)\": \(args.joined(separator: " ")) \(how)\(Hooks.tail(output))")
        }
    }
}

/// /etc/subuid and /etc/subgid: the host id ranges each user may map (subuid(5)).
enum SubordinateIDs {
    /// The two files.
    struct Files: Sendable {
        var subuid: String
        var subgid: String
        static let system = Files(subuid: "/etc/subuid", subgid: "/etc/subgid")
    }

    /// One "owner:start:count" line.
    struct Range: Equatable {
        var start: UInt64
        var count: UInt64
    }

    /// The ranges `file` delegates to the user `name` (or to the numeric `uid`).
    static func ranges(in file: String, user name: String?, uid: uid_t) -> [Range] {
        guard let bytes = try? readFile(file) else { return [] }
        var out: [Range] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 3, let start = UInt64(fields[1].trimmedSubstring), let count = UInt64(fields[2].trimmedSubstring),
                  count > 0 else { continue }
            let owner = String(fields[0])
            if owner == name || owner == "\(uid)" { out.append(Range(start: start, count: count)) }
        }
        return out
    }

    /// Every mapping must be the user's own id (one id) or lie inside one delegated range,
    /// as newuidmap itself checks; the refusal names the file, the user and what it grants.
    static func check(_ mappings: [RuntimeSpec.Linux.IDMapping], field: String, kind: String, own: UInt32, uid: uid_t,
                      file: String, user: String?) throws(SandboxError) {
        let granted = ranges(in: file, user: user, uid: uid)
        let who = user.map { "user \($0) (uid \(uid))" } ?? "uid \(uid)"
        for (index, mapping) in mappings.enumerated() {
            if mapping.hostID == own && mapping.size == 1 { continue }
            let low = UInt64(mapping.hostID), high = UInt64(mapping.hostID) + UInt64(mapping.size)
            if granted.contains(where: { $0.start <= low && high <= $0.start + $0.count }) { continue }
            let grants = granted.isEmpty ? "it has no entry for \(who)"
                : "it grants " + granted.map { "\($0.start)-\($0.start + $0.count - 1)" }.joined(separator: ", ")
            throw SandboxError(.invalidSpec, "\(field)[\(index)]: host \(kind)s \(low)-\(high - 1) are not delegated to \(who) in \(file) (\(grants))")
        }
    }

    /// The login name of `uid`, from the passwd database.
    static func userName(uid: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }
}

extension Substring {
    /// The substring without surrounding spaces and tabs (a subuid field).
    var trimmedSubstring: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return self[first...last]
    }
}
