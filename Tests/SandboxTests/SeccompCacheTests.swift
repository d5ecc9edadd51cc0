import Foundation
import OCISpec
@testable import Sandbox
import Testing

/// Compiled seccomp programs are kept under the state root and reused (libseccomp costs
/// more than the rest of a create); a file that does not hold exactly the profile's key
/// and intact instructions is never loaded.
@Suite("Seccomp program cache")
struct SeccompCacheTests {
    private func withCacheDirectory(_ body: (String) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "caisson-seccomp-cache-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try body(directory)
    }

    @Test("a profile is compiled once: the program is kept on disk and the copy is what libseccomp makes")
    func keptAndReused() throws {
        try withCacheDirectory { root in
            let cache = SeccompCache(stateRoot: root, usesMemory: false)
            let profile = LinuxSeccomp.dockerDefault
            let first = try SeccompCompiler.compile(profile, cache: cache)
            let key = SeccompCache.key(for: profile)
            let path = SeccompCache.path(in: root + "/@cache/seccomp", key: key)
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(SeccompCache.decode(file, key: key) == first.instructions)
            #expect(cache.lookup(key) == first.instructions)
            // The same program as an uncached compile, and the same flags.
            let fresh = try SeccompCompiler.compile(profile, cache: SeccompCache(stateRoot: nil, usesMemory: false))
            #expect(fresh.instructions == first.instructions)
            let second = try SeccompCompiler.compile(profile, cache: cache)
            #expect(second.instructions == first.instructions && second.flags == first.flags)
            // Only the program file and no temporary is left.
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/@cache/seccomp") == [URL(fileURLWithPath: path).lastPathComponent])
        }
    }

    @Test("a torn or tampered file, or another profile's, is not loaded; the program is compiled again")
    func refusesBadFiles() throws {
        try withCacheDirectory { root in
            let cache = SeccompCache(stateRoot: root, usesMemory: false)
            var profile = LinuxSeccomp(defaultAction: .allow)
            profile.syscalls = [.init(names: ["mkdirat", "mkdir"], action: .errno, errnoRet: 1)]
            let good = try SeccompCompiler.compile(profile, cache: cache).instructions
            let key = SeccompCache.key(for: profile)
            let path = SeccompCache.path(in: root + "/@cache/seccomp", key: key)
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))

            var flipped = file
            flipped[flipped.count - 3] ^= 0x40  // an instruction changed, the checksum stale
            #expect(SeccompCache.decode(flipped, key: key) == nil)
            #expect(SeccompCache.decode(Array(file.dropLast(8)), key: key) == nil)  // torn
            #expect(SeccompCache.decode(Array(file.dropLast(3)), key: key) == nil)  // not whole instructions
            var otherProfile = profile
            otherProfile.syscalls?[0].errnoRet = 2
            #expect(SeccompCache.decode(file, key: SeccompCache.key(for: otherProfile)) == nil)

            try Data(flipped).write(to: URL(fileURLWithPath: path))
            #expect(cache.lookup(key) == nil)
            #expect(try SeccompCompiler.compile(profile, cache: cache).instructions == good)
            // ...and the file is whole again.
            #expect(SeccompCache.decode(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))), key: key) == good)
        }
    }

    @Test("the directory is bounded: at the limit, the oldest half of the programs goes before a new one")
    func bounded() throws {
        try withCacheDirectory { root in
            let cache = SeccompCache(stateRoot: root, usesMemory: false)
            let directory = root + "/@cache/seccomp"
            func profile(_ n: Int) -> LinuxSeccomp {
                LinuxSeccomp(defaultAction: .allow, syscalls: [.init(names: ["mkdir"], action: .errno, errnoRet: UInt(n))])
            }
            var paths: [String] = []
            for n in 1...SeccompCache.maximumFiles {
                _ = try SeccompCompiler.compile(profile(n), cache: cache)
                let path = SeccompCache.path(in: directory, key: SeccompCache.key(for: profile(n)))
                paths.append(path)
                // Distinct ages, oldest first (the trim goes by modification time).
                var times = [timespec(tv_sec: 1_000_000 + n, tv_nsec: 0), timespec(tv_sec: 1_000_000 + n, tv_nsec: 0)]
                #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == SeccompCache.maximumFiles)
            _ = try SeccompCompiler.compile(profile(SeccompCache.maximumFiles + 1), cache: cache)
            let left = Set(try FileManager.default.contentsOfDirectory(atPath: directory).map { directory + "/" + $0 })
            #expect(left.count == SeccompCache.maximumFiles / 2 + 1)
            #expect(left.isDisjoint(with: paths.prefix(SeccompCache.maximumFiles / 2)), "the oldest half went")
            #expect(left.isSuperset(of: paths.suffix(SeccompCache.maximumFiles / 2)), "the newest half stayed")
        }
    }

    @Test("the key holds every field that shapes the program, in order")
    func keyCoversTheProgram() {
        let base = LinuxSeccomp(defaultAction: .errno, defaultErrnoRet: 1, architectures: [.init(rawValue: "SCMP_ARCH_X86_64")],
                                syscalls: [.init(names: ["read", "write"], action: .allow),
                                           .init(names: ["personality"], action: .allow, args: [.init(index: 0, value: 8, op: .equal)])])
        var variants: [LinuxSeccomp] = []
        var v = base; v.defaultErrnoRet = 38; variants.append(v)
        v = base; v.architectures = [.init(rawValue: "SCMP_ARCH_X86")]; variants.append(v)
        v = base; v.syscalls?.swapAt(0, 1); variants.append(v)
        v = base; v.syscalls?[0].names = ["write", "read"]; variants.append(v)
        v = base; v.syscalls?[1].args?[0].value = 0; variants.append(v)
        v = base; v.syscalls?[1].args?[0].op = .notEqual; variants.append(v)
        v = base; v.syscalls?[0].action = .log; variants.append(v)
        let keys = Set(([base] + variants).map(SeccompCache.key(for:)))
        #expect(keys.count == variants.count + 1)
        // Not part of the program: the notify socket and flags (loaded separately).
        v = base; v.listenerPath = "/run/notify.sock"; v.flags = [.init(rawValue: "SECCOMP_FILTER_FLAG_LOG")]
        #expect(SeccompCache.key(for: v) == SeccompCache.key(for: base))
    }
}
