// Spec: image-spec v1.1 image-index.md#image-index-property-descriptions (platform)
/// The platform an image or a host runs: operating system, CPU architecture and variant.
///
/// Values decode and encode exactly as written (`architecture`, `os`, `os.version`,
/// `os.features`, `variant`); use ``normalized`` for the canonical form. Normalisation,
/// specifier parsing and matching follow containerd's `platforms` package:
/// `x86_64` → `amd64`, `aarch64` → `arm64` (variant `v8` dropped), `armhf` → `arm/v7`,
/// `armel` → `arm/v6`, `arm` without variant → `arm/v7`, `i386` → `386`, OS names
/// lowercased and `macos` → `darwin`.
public struct Platform: Hashable, Sendable, CustomStringConvertible {
    /// The operating system (`linux`).
    public var os: String
    /// The CPU architecture in Go's naming (`amd64`, `arm64`, `arm`).
    public var architecture: String
    /// The CPU variant (`v7` for arm, `v8` for arm64, `v2`/`v3` for amd64), if any.
    public var variant: String?
    /// The operating system version (`os.version`), used by Windows images.
    public var osVersion: String?
    /// Required operating system features (`os.features`).
    public var osFeatures: [String]?

    /// Creates a platform as given, without normalising it.
    /// - Parameters:
    ///   - os: the operating system.
    ///   - architecture: the CPU architecture.
    ///   - variant: the CPU variant.
    ///   - osVersion: the OS version.
    ///   - osFeatures: required OS features.
    public init(
        os: String, architecture: String, variant: String? = nil,
        osVersion: String? = nil, osFeatures: [String]? = nil
    ) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
        self.osVersion = osVersion
        self.osFeatures = osFeatures
    }

    /// The canonical form: normalised OS, architecture and variant, sorted unique features.
    public var normalized: Platform {
        let (arch, variant) = Self.normalizeArchitecture(architecture, variant: variant ?? "")
        var features = osFeatures
        if let f = features, !f.isEmpty {
            features = Array(Set(f)).sorted()
        }
        return Platform(
            os: Self.normalizeOS(os), architecture: arch, variant: variant.isEmpty ? nil : variant,
            osVersion: osVersion?.isEmpty == true ? nil : osVersion, osFeatures: features)
    }

    /// `os/architecture[/variant]`, as `docker --platform` takes it.
    public var description: String {
        [os, architecture, variant].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
    }

    // MARK: - Normalisation (containerd platforms/database.go)

    /// Normalises an OS name: lowercased, `macos` → `darwin`.
    /// - Parameter os: an OS name.
    /// - Returns: the canonical name.
    public static func normalizeOS(_ os: String) -> String {
        let lower = os.lowercased()
        return lower == "macos" ? "darwin" : lower
    }

    /// Normalises an architecture and variant as containerd's `normalizeArch` does.
    /// - Parameters:
    ///   - architecture: an architecture name (`x86_64`, `aarch64`, `armhf`…).
    ///   - variant: its variant, empty if none.
    /// - Returns: the canonical architecture and variant (empty if none).
    public static func normalizeArchitecture(_ architecture: String, variant: String) -> (String, String) {
        var arch = architecture.lowercased()
        var variant = variant.lowercased()
        switch arch {
        case "i386", "i486", "i586", "i686":
            arch = "386"
            variant = ""
        case "x86_64", "x86-64", "amd64":
            arch = "amd64"
            if variant == "v1" { variant = "" }
        case "aarch64", "arm64":
            arch = "arm64"
            if variant == "8" || variant == "v8" { variant = "" }
        case "armhf":
            arch = "arm"
            variant = "v7"
        case "armel":
            arch = "arm"
            variant = "v6"
        case "arm":
            switch variant {
            case "", "7": variant = "v7"
            case "5", "6", "8": variant = "v" + variant
            default: break
            }
        default:
            break
        }
        return (arch, variant)
    }

    /// Operating systems Go (and so containerd) knows.
    static let knownOperatingSystems: Set<String> = [
        "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
        "netbsd", "openbsd", "plan9", "solaris", "windows", "zos",
    ]

    /// Architectures Go (and so containerd) knows.
    static let knownArchitectures: Set<String> = [
        "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips",
        "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x",
        "sparc", "sparc64", "wasm",
    ]
}

extension Platform: Codable {
    private enum CodingKeys: String, CodingKey {
        case os
        case architecture
        case variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }
}
