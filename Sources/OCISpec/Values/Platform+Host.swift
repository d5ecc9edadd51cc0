#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Platform {
    /// The platform of the running host, normalised.
    ///
    /// The OS comes from compile time; the architecture from `uname(2)`'s machine field
    /// (so a 32-bit arm build learns its `v6`/`v7`/`v8` variant), falling back to the
    /// architecture this binary was compiled for.
    public static let current: Platform = {
        let compiled = compiledArchitecture
        var platform = Platform(os: compiledOS, architecture: compiled.architecture, variant: compiled.variant)
        if let machine = unameMachine(), let fromMachine = architecture(fromMachine: machine),
            fromMachine.architecture == compiled.architecture
        {
            platform.variant = fromMachine.variant
        }
        return platform.normalized
    }()

    /// Maps a `uname -m` machine name to an architecture and variant.
    /// - Parameter machine: e.g. `x86_64`, `aarch64`, `armv7l`, `ppc64le`.
    /// - Returns: the normalised architecture and variant, or `nil` if unknown.
    static func architecture(fromMachine machine: String) -> (architecture: String, variant: String?)? {
        let lower = machine.lowercased()
        if lower.hasPrefix("armv"), let digit = lower.dropFirst(4).first, digit.isNumber {
            return ("arm", "v\(digit)")
        }
        let (arch, variant) = normalizeArchitecture(lower, variant: "")
        guard knownArchitectures.contains(arch) else { return nil }
        return (arch, variant.isEmpty ? nil : variant)
    }

    private static var compiledOS: String {
        #if os(Linux)
        return "linux"
        #elseif os(macOS) || os(iOS)
        return "darwin"
        #elseif os(Windows)
        return "windows"
        #elseif os(FreeBSD)
        return "freebsd"
        #else
        return "unknown"
        #endif
    }

    private static var compiledArchitecture: (architecture: String, variant: String?) {
        #if arch(x86_64)
        return ("amd64", nil)
        #elseif arch(arm64)
        return ("arm64", nil)
        #elseif arch(arm)
        return ("arm", "v7")
        #elseif arch(i386)
        return ("386", nil)
        #elseif arch(powerpc64le)
        return ("ppc64le", nil)
        #elseif arch(powerpc64)
        return ("ppc64", nil)
        #elseif arch(s390x)
        return ("s390x", nil)
        #elseif arch(riscv64)
        return ("riscv64", nil)
        #else
        return ("unknown", nil)
        #endif
    }

    private static func unameMachine() -> String? {
        var name = utsname()
        guard uname(&name) == 0 else { return nil }
        return withUnsafeBytes(of: &name.machine) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
