#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import OCISpec
import SystemPackage

/// What the runtime persists about a container under `<state root>/<id>/`, so another
/// process (the CLI, or this program after a restart) can find, signal and delete it.
struct ContainerRecord: Codable, Sendable {
    var id: String
    var bundle: String
    var rootfs: String
    var pid: Int32
    /// /proc/<pid>/stat start time: with the pid, it names one process for its lifetime.
    var pidStartTime: UInt64
    var created: String
    var cgroups: Cgroups?
    var spec: RuntimeSpec

    /// The files of one container's state directory.
    struct Paths {
        let directory: String
        var record: String { directory + "/state.json" }
        var fifo: String { directory + "/exec.fifo" }
        var lock: String { directory + "/.lock" }
    }

    static func paths(stateRoot: String, id: String) -> Paths { Paths(directory: stateRoot + "/" + id) }

    func save(stateRoot: String) throws(SandboxError) {
        let paths = Self.paths(stateRoot: stateRoot, id: id)
        do {
            let data = try OCIJSON.encode(self)
            try writeFileAtomically(paths.record, Array(data), mode: 0o600)
        } catch let error as Errno {
            throw SandboxError(.system, "container \"\(id)\": writing \(paths.record)", errno: error)
        } catch {
            throw SandboxError(.system, "container \"\(id)\": encoding \(paths.record): \(error)")
        }
    }

    static func load(stateRoot: String, id: String) throws(SandboxError) -> ContainerRecord {
        try validate(id: id)
        let path = paths(stateRoot: stateRoot, id: id).record
        let bytes: [UInt8]
        do { bytes = try readFile(path) } catch {
            if error == .noSuchFileOrDirectory {
                throw SandboxError(.notFound, "container \"\(id)\" does not exist under \(stateRoot)")
            }
            throw SandboxError(.system, "container \"\(id)\": reading \(path)", errno: error)
        }
        do {
            return try OCIJSON.decode(ContainerRecord.self, from: Data(bytes))
        } catch {
            throw SandboxError(.system, "container \"\(id)\": \(path) is damaged: \(error)")
        }
    }

    /// Container ids are directory names: refuse anything that is not a plain name.
    static func validate(id: String) throws(SandboxError) {
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        guard !id.isEmpty, id.utf8.count <= 1024, allowed, id != ".", id != ".." else {
            throw SandboxError(.invalidSpec, "container id \"\(id)\" is invalid: use letters, digits, '-', '_' and '.'")
        }
    }
}

/// Facts about a live process read from /proc.
enum ProcStat {
    /// The start time (field 22 of /proc/<pid>/stat) and the state letter, or nil if gone.
    static func stat(_ pid: pid_t) -> (startTime: UInt64, state: Character)? {
        guard let bytes = try? readFile("/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let start = UInt64(fields[19]), let state = fields[0].first else { return nil }
        return (start, state)
    }
}
