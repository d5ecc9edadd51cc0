#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CSeccomp
import Glibc
import OCISpec
import Synchronization
import SystemPackage

/// Compiled seccomp programs, kept so that the same profile is compiled by libseccomp once.
///
/// Why: libseccomp takes ~14 ms here to compile podman's default profile (434 syscalls,
/// three architectures), more than the rest of a `create`. Engines pass the same profile
/// to every container, and the `caisson` CLI is a new process per command, so the
/// programs are kept in memory (per process) and in files under the state root (across
/// processes): `<state root>/@cache/seccomp/<hash>.bpf`. The `@` keeps the directory
/// apart from container ids, which cannot contain it.
///
/// A cached program is found by the profile's canonical text (every field that shapes
/// the program, in order) plus the libseccomp version, its kernel API level, the kernel
/// release and the native architecture; the file repeats that text and a checksum of the
/// instructions, so a hash collision, a torn file or a stale entry is never loaded (it is
/// compiled again and rewritten). Only root (or the rootless user) can write there: the
/// state root is mode 0700.
struct SeccompCache: Sendable {
    /// The directory of the on-disk layer; nil keeps programs in memory only.
    var directory: String?
    /// Whether the process-wide memory layer is used (tests turn it off to reach the disk).
    var usesMemory: Bool

    /// The cache under a runtime's state root (nil: in memory only).
    init(stateRoot: String?, usesMemory: Bool = true) {
        directory = stateRoot.map { $0 + "/@cache/seccomp" }
        self.usesMemory = usesMemory
    }

    /// The text that identifies what libseccomp would produce for `seccomp` here.
    static func key(for seccomp: LinuxSeccomp) -> String {
        var text = "caisson seccomp program 1\n"
        text += "host \(environment)\n"
        text += "default \(seccomp.defaultAction.rawValue) \(seccomp.defaultErrnoRet.map { "\($0)" } ?? "-")\n"
        text += "architectures \((seccomp.architectures ?? []).map(\.rawValue).joined(separator: ","))\n"
        for rule in seccomp.syscalls ?? [] {
            text += "rule \(rule.action.rawValue) \(rule.errnoRet.map { "\($0)" } ?? "-") \(rule.names.joined(separator: ","))"
            for arg in rule.args ?? [] {
                text += " \(arg.index):\(arg.op.rawValue):\(arg.value):\(arg.valueTwo.map { "\($0)" } ?? "-")"
            }
            text += "\n"
        }
        return text
    }

    /// What besides the profile decides the program: libseccomp's syscall tables and
    /// the actions the kernel supports (its API level), and the native architecture.
    private static let environment: String = {
        var name = utsname()
        uname(&name)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let version = seccomp_version().map { "\($0.pointee.major).\($0.pointee.minor).\($0.pointee.micro)" } ?? "?"
        return "libseccomp \(version) api \(seccomp_api_get()) kernel \(field(name.release)) \(field(name.machine))"
    }()

    /// The program compiled for `key`, from memory or disk; nil if there is none (or the
    /// file does not hold exactly that key and intact instructions).
    func lookup(_ key: String) -> [UInt8]? {
        if usesMemory, let program = Self.memory.withLock({ $0[key] }) { return program }
        guard let directory, let bytes = try? readFile(Self.path(in: directory, key: key)),
              let program = Self.decode(bytes, key: key)
        else { return nil }
        if usesMemory { Self.remember(program, for: key) }
        return program
    }

    /// Keeps `program` for `key`. The disk layer is best effort: a cache that cannot be
    /// written costs a compile next time, never a failed create.
    func store(_ program: [UInt8], for key: String) {
        if usesMemory { Self.remember(program, for: key) }
        guard let directory else { return }
        if mkdir(directory, 0o700) != 0 && Glibc.errno == ENOENT {
            _ = mkdir(String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)]), 0o700)
            _ = mkdir(directory, 0o700)
        }
        Self.trim(directory)
        let path = Self.path(in: directory, key: key)
        var file = Array(key.utf8)
        file.append(0)
        withUnsafeBytes(of: Self.checksum(program).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: program)
        try? writeFileAtomically(path, file, mode: 0o600)
    }

    /// At most this many programs on disk: a handful of profiles is the norm (an engine's
    /// default, a few custom ones); a caller that makes a new profile per container must
    /// not fill the state root.
    static let maximumFiles = 64

    /// Before a new program goes in: when the directory holds `maximumFiles` programs,
    /// the least recently written half goes (a store is rare: only after a compile).
    static func trim(_ directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let programs = names.filter { $0.hasSuffix(".bpf") }
        guard programs.count >= maximumFiles else { return }
        let byAge = programs.map { name -> (String, Int) in
            let path = directory + "/" + name
            return (path, fileStatus(path).map { Int($0.st_mtim.tv_sec) } ?? 0)
        }.sorted { $0.1 < $1.1 }
        for (path, _) in byAge.prefix(programs.count - maximumFiles / 2) { unlink(path) }
    }

    /// The file for `key`: the FNV-1a hash of the key names it (the key inside decides).
    static func path(in directory: String, key: String) -> String {
        let hash = fnv1a(key.utf8)
        let hex = String(hash, radix: 16)
        return directory + "/" + String(repeating: "0", count: 16 - hex.count) + hex + ".bpf"
    }

    /// key, NUL, checksum (8 bytes, little-endian), instructions (8 bytes each).
    static func decode(_ bytes: [UInt8], key: String) -> [UInt8]? {
        let keyBytes = Array(key.utf8)
        let header = keyBytes.count + 1 + 8
        guard bytes.count > header, bytes.starts(with: keyBytes), bytes[keyBytes.count] == 0,
              (bytes.count - header) % 8 == 0
        else { return nil }
        var stored: UInt64 = 0
        for (shift, byte) in bytes[(keyBytes.count + 1)..<header].enumerated() { stored |= UInt64(byte) << (8 * shift) }
        let program = Array(bytes[header...])
        return checksum(program) == stored ? program : nil
    }

    private static func checksum(_ program: [UInt8]) -> UInt64 { fnv1a(program) }

    private static func fnv1a<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    private static func remember(_ program: [UInt8], for key: String) {
        memory.withLock { programs in
            // A handful of distinct profiles is the norm; a runaway caller cannot grow it.
            if programs.count >= 32 { programs.removeAll() }
            programs[key] = program
        }
    }

    private static let memory = Mutex<[String: [UInt8]]>([:])
}
