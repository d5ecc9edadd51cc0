#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import OCISpec
import Synchronization
import SystemPackage

/// What the runtime persists about a container under `<state root>/<id>/`, so another
/// process (the CLI, or this program after a restart) can find, signal and delete it.
///
/// `state.json` holds the small record that `state`, `start`, `kill` and `delete` need,
/// with the spec's version, annotations and hooks; the whole spec is `spec.json`, decoded
/// only when something asks for it (exec, update, ``Container/spec``). Decoding a full
/// runtime spec costs a CLI process about a millisecond (mostly generic metadata for its
/// dozens of Codable types), and an engine runs the CLI several times per container.
struct ContainerRecord: Codable, Sendable {
    var id: String
    var bundle: String
    var rootfs: String
    var pid: Int32
    /// /proc/<pid>/stat start time: with the pid, it names one process for its lifetime.
    var pidStartTime: UInt64
    var created: String
    var cgroups: Cgroups?
    /// The spec's `ociVersion`, `annotations` and `hooks`, kept in state.json.
    var ociVersion: String
    var annotations: [String: String]?
    var hooks: RuntimeSpec.Hooks?
    /// Where the whole spec comes from: memory (just created or changed) or spec.json.
    private var specSource = SpecSource(path: nil)

    private enum CodingKeys: String, CodingKey {
        case id, bundle, rootfs, pid, pidStartTime, created, cgroups, ociVersion, annotations, hooks
    }

    /// - Parameter specJSON: the bytes `spec` was decoded from (a bundle's config.json),
    ///   written to spec.json as they are instead of encoding the spec again.
    init(id: String, bundle: String, rootfs: String, pid: Int32, pidStartTime: UInt64, created: String,
         cgroups: Cgroups?, spec: RuntimeSpec, specJSON: [UInt8]? = nil) {
        (self.id, self.bundle, self.rootfs, self.pid, self.pidStartTime, self.created, self.cgroups) =
            (id, bundle, rootfs, pid, pidStartTime, created, cgroups)
        (ociVersion, annotations, hooks) = (spec.ociVersion, spec.annotations, spec.hooks)
        specSource = SpecSource(spec: spec, json: specJSON)
    }

    /// The whole spec, read from spec.json on first use.
    /// - Throws: ``SandboxError`` naming spec.json when it is missing or damaged.
    func loadSpec() throws(SandboxError) -> RuntimeSpec {
        try specSource.spec(id: id)
    }

    /// The whole spec; a damaged spec.json gives the spec's parts kept in state.json.
    /// Code that must not run on a partial spec (exec) uses ``loadSpec()``.
    var spec: RuntimeSpec {
        get {
            (try? loadSpec()) ?? RuntimeSpec(ociVersion: ociVersion, hooks: hooks, annotations: annotations)
        }
        set {
            (ociVersion, annotations, hooks) = (newValue.ociVersion, newValue.annotations, newValue.hooks)
            specSource = SpecSource(spec: newValue, json: nil)
        }
    }

    /// The spec's parts in state.json, as a spec: enough for hooks and the state JSON.
    var hookSpec: RuntimeSpec { RuntimeSpec(ociVersion: ociVersion, hooks: hooks, annotations: annotations) }

    /// The files of one container's state directory.
    struct Paths {
        let directory: String
        var record: String { directory + "/state.json" }
        var spec: String { directory + "/spec.json" }
        var fifo: String { directory + "/exec.fifo" }
        var lock: String { directory + "/.lock" }
    }

    static func paths(stateRoot: String, id: String) -> Paths { Paths(directory: stateRoot + "/" + id) }

    /// Lets go of the spec in memory once spec.json holds it: a live container's handle
    /// then costs the host a few KiB less (the decoded spec is most of what it held), and
    /// the spec is read back, once, by whatever needs it (exec, update, ``Container/spec``).
    mutating func keepSpecOnDiskOnly(stateRoot: String) {
        specSource = SpecSource(path: Self.paths(stateRoot: stateRoot, id: id).spec)
    }

    /// Writes spec.json (when the spec is new or changed), then state.json, each atomically.
    func save(stateRoot: String) throws(SandboxError) {
        let paths = Self.paths(stateRoot: stateRoot, id: id)
        if let json = specSource.unsavedJSON {
            do { try writeFileAtomically(paths.spec, json, mode: 0o600) } catch {
                throw SandboxError(.system, "container \"\(id)\": writing \(paths.spec)", errno: error)
            }
        } else if let spec = specSource.unsaved {
            try Self.write(spec, to: paths.spec, id: id)
        }
        try Self.write(self, to: paths.record, id: id)
    }

    private static func write(_ value: some Encodable, to path: String, id: String) throws(SandboxError) {
        do {
            let data = try OCIJSON.encode(value)
            try writeFileAtomically(path, Array(data), mode: 0o600)
        } catch let error as Errno {
            throw SandboxError(.system, "container \"\(id)\": writing \(path)", errno: error)
        } catch {
            throw SandboxError(.system, "container \"\(id)\": encoding \(path): \(error)")
        }
    }

    static func load(stateRoot: String, id: String) throws(SandboxError) -> ContainerRecord {
        try validate(id: id)
        let paths = paths(stateRoot: stateRoot, id: id)
        let bytes: [UInt8]
        do { bytes = try readFile(paths.record) } catch {
            if error == .noSuchFileOrDirectory {
                throw SandboxError(.notFound, "container \"\(id)\" does not exist under \(stateRoot)")
            }
            throw SandboxError(.system, "container \"\(id)\": reading \(paths.record)", errno: error)
        }
        do {
            var record = try OCIJSON.decode(ContainerRecord.self, from: Data(bytes))
            record.specSource = SpecSource(path: paths.spec)
            return record
        } catch {
            throw SandboxError(.system, "container \"\(id)\": \(paths.record) is damaged: \(error)")
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
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "), maxSplits: 21)
        guard fields.count > 19, !fields[19].isEmpty, let stateByte = fields[0].first else { return nil }
        var start: UInt64 = 0
        for digit in fields[19] {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            start = start &* 10 &+ UInt64(digit - UInt8(ascii: "0"))
        }
        return (start, Character(Unicode.Scalar(stateByte)))
    }
}

/// The whole spec of a record: in memory, or in spec.json and decoded once, on first use.
/// A class so that copies of a record share one decoded spec.
private final class SpecSource: Sendable {
    private let path: String?
    private let decoded: Mutex<RuntimeSpec?>
    /// A spec that came from memory and is not in spec.json yet.
    let unsaved: RuntimeSpec?
    /// The JSON it was decoded from, if any: written as is.
    let unsavedJSON: [UInt8]?

    init(path: String?) {
        self.path = path
        decoded = Mutex(nil)
        unsaved = nil
        unsavedJSON = nil
    }

    init(spec: RuntimeSpec, json: [UInt8]?) {
        path = nil
        decoded = Mutex(spec)
        unsaved = spec
        unsavedJSON = json
    }

    func spec(id: String) throws(SandboxError) -> RuntimeSpec {
        if let spec = decoded.withLock({ $0 }) { return spec }
        guard let path else { throw SandboxError(.system, "container \"\(id)\": its spec was never recorded") }
        let bytes: [UInt8]
        do { bytes = try readFile(path) } catch {
            throw SandboxError(.system, "container \"\(id)\": reading \(path)", errno: error)
        }
        do {
            let spec = try OCIJSON.decode(RuntimeSpec.self, from: Data(bytes))
            decoded.withLock { $0 = spec }
            return spec
        } catch {
            throw SandboxError(.system, "container \"\(id)\": \(path) is damaged: \(error)")
        }
    }
}
