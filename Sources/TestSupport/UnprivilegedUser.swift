import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An unprivileged user made for a test with `useradd`, with a subordinate id range in
/// /etc/subuid and /etc/subgid and a home directory of its own, for the rootless tests
/// (Sandbox as a user, the engine and CLI as a user). ``remove()`` deletes the user, its
/// group and its subordinate lines; ``create(name:home:subordinate:)`` first removes what a
/// crashed run left under the same name.
public struct UnprivilegedUser: Sendable {
    /// The account name.
    public let name: String
    /// Its user ID.
    public let uid: UInt32
    /// Its primary group ID.
    public let gid: UInt32
    /// A directory it owns (mode 0755: root's leak checks list what is inside).
    public let home: String

    /// Creates the user and its home directory (the directory's parent is made traversable).
    /// - Parameters:
    ///   - name: the account name; a user left with it by a crashed run is removed first.
    ///   - home: the home directory to create.
    ///   - subordinate: the first subordinate id and how many (far from useradd's 100000,
    ///     so that they cannot collide with a real user's).
    /// - Returns: the user.
    /// - Throws: if useradd fails or the files cannot be written.
    public static func create(name: String, home: String, subordinate: (start: UInt32, count: UInt32)) throws -> UnprivilegedUser {
        remove(named: name)
        try runAsRoot("/usr/sbin/useradd", ["--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name])
        guard let entry = getpwnam(name) else { throw TestUserError("useradd did not create \(name)") }
        let user = UnprivilegedUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, home: home)
        for file in ["/etc/subuid", "/etc/subgid"] {
            let existing = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            let line = "\(name):\(subordinate.start):\(subordinate.count)\n"
            try (existing + (existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n") + line)
                .write(toFile: file, atomically: true, encoding: .utf8)
            chmod(file, 0o644)
        }
        chmod((home as NSString).deletingLastPathComponent, 0o755)
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        chown(home, user.uid, user.gid)
        chmod(home, 0o755)
        return user
    }

    /// Deletes the user, its group and its subordinate lines.
    public func remove() { Self.remove(named: name) }

    /// Deletes a user made by ``create(name:home:subordinate:)``, if it exists.
    /// - Parameter name: the account name.
    public static func remove(named name: String) {
        if getpwnam(name) != nil { _ = try? runAsRoot("/usr/sbin/userdel", [name]) }
        if getgrnam(name) != nil { _ = try? runAsRoot("/usr/sbin/groupdel", [name]) }
        for file in ["/etc/subuid", "/etc/subgid"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            let kept = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix(name + ":") }
            try? kept.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            chmod(file, 0o644)
        }
    }

    /// Live processes (not zombies) whose real, effective, saved or filesystem uid is the
    /// user's, from /proc.
    public func processes() -> [Int32] {
        var out: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8) else { continue }
            let uids = Self.field(status, "Uid")?.split(whereSeparator: { $0 == "\t" || $0 == " " }) ?? []
            if uids.contains(where: { $0 == "\(uid)" }) && Self.field(status, "State")?.hasPrefix("Z") == false { out.append(pid) }
        }
        return out
    }

    /// The arguments that run `program` as this user: setpriv with its real and effective
    /// ids, no supplementary groups and no capabilities, in a clean environment (`env -i`)
    /// with PATH, HOME and XDG_RUNTIME_DIR.
    /// - Parameters:
    ///   - program: the program's absolute path.
    ///   - runtimeDirectory: XDG_RUNTIME_DIR for it.
    /// - Returns: `/usr/bin/env` and its arguments, the program's to be appended.
    public func command(_ program: String, runtimeDirectory: String) -> (executable: String, arguments: [String]) {
        ("/usr/bin/env", [
            "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=\(home)", "XDG_RUNTIME_DIR=\(runtimeDirectory)",
            "/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--inh-caps=-all", "--", program,
        ])
    }

    private static func field(_ text: String, _ key: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(key + ":") }
            .map { $0.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    /// Runs `tool` as root (this process) and fails with its output on a non-zero status.
    /// posix_spawn with the output in a file, not Foundation.Process, whose monitoring
    /// fds outlive the call for a while and would confuse the tests' fd leak checks.
    private static func runAsRoot(_ tool: String, _ arguments: [String]) throws {
        let log = NSTemporaryDirectory() + "/caisson-user-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).log"
        defer { unlink(log) }
        let pid = try spawnLogging(tool, arguments, log: log, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TestUserError("\(tool) \(arguments.joined(separator: " ")) failed (wait status \(status)): \(output)")
        }
    }
}

/// A test user could not be made.
public struct TestUserError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
