import Foundation
import Testing

@testable import OCISpec

@Suite("Platform")
struct PlatformTests {
    @Test(
        "architecture normalisation (containerd database.go)",
        arguments: [
            ("x86_64", "", "amd64", ""), ("x86-64", "", "amd64", ""), ("amd64", "v1", "amd64", ""),
            ("amd64", "v3", "amd64", "v3"), ("AMD64", "", "amd64", ""), ("aarch64", "", "arm64", ""),
            ("aarch64", "v8", "arm64", ""), ("arm64", "8", "arm64", ""), ("arm64", "v8.2", "arm64", "v8.2"),
            ("armhf", "", "arm", "v7"), ("armel", "", "arm", "v6"), ("arm", "", "arm", "v7"),
            ("arm", "7", "arm", "v7"), ("arm", "6", "arm", "v6"), ("arm", "5", "arm", "v5"),
            ("arm", "8", "arm", "v8"), ("arm", "v6", "arm", "v6"), ("i386", "", "386", ""),
            ("i686", "", "386", ""), ("ppc64le", "", "ppc64le", ""), ("s390x", "", "s390x", ""),
            ("riscv64", "", "riscv64", ""),
        ])
    func normalizeArchitecture(_ arch: String, _ variant: String, _ wantArch: String, _ wantVariant: String) {
        let (a, v) = Platform.normalizeArchitecture(arch, variant: variant)
        #expect(a == wantArch)
        #expect(v == wantVariant)
    }

    @Test("OS normalisation")
    func normalizeOS() {
        #expect(Platform.normalizeOS("Linux") == "linux")
        #expect(Platform.normalizeOS("macOS") == "darwin")
        #expect(Platform.normalizeOS("windows") == "windows")
        let p = Platform(os: "Linux", architecture: "aarch64", variant: "v8", osFeatures: ["b", "a", "b"]).normalized
        #expect(p == Platform(os: "linux", architecture: "arm64", osFeatures: ["a", "b"]))
    }

    @Test(
        "specifier parsing",
        arguments: [
            ("linux/arm64/v8", "linux/arm64"), ("linux/arm64", "linux/arm64"), ("linux/aarch64", "linux/arm64"),
            ("linux/amd64", "linux/amd64"), ("linux/x86_64", "linux/amd64"), ("linux/amd64/v3", "linux/amd64/v3"),
            ("linux/arm", "linux/arm/v7"), ("linux/arm/v6", "linux/arm/v6"), ("linux/armhf", "linux/arm/v7"),
            ("linux/armel", "linux/arm/v6"), ("Linux/AMD64", "linux/amd64"), ("macos/arm64", "darwin/arm64"),
            ("linux/386", "linux/386"), ("linux/i386", "linux/386"), ("freebsd/riscv64", "freebsd/riscv64"),
        ])
    func parse(_ specifier: String, _ expected: String) throws {
        #expect(try Platform(parsing: specifier).description == expected)
    }

    @Test("specifier with OS version and features")
    func parseOSOptions() throws {
        let p = try Platform(parsing: "windows(10.0.17763+win32k)/amd64")
        #expect(p.os == "windows")
        #expect(p.osVersion == "10.0.17763")
        #expect(p.osFeatures == ["win32k"])
        let encoded = try Platform(parsing: "windows(10.0%2B1)/amd64")
        #expect(encoded.osVersion == "10.0+1")
    }

    @Test("single-component specifiers use the host for the missing part")
    func parseSingle() throws {
        let os = try Platform(parsing: "linux")
        #expect(os.os == "linux")
        #expect(os.architecture == Platform.current.architecture)
        let arch = try Platform(parsing: "arm64")
        #expect(arch.os == Platform.current.os)
        #expect(arch.architecture == "arm64")
    }

    @Test(
        "invalid specifiers",
        arguments: ["", "linux/amd64/v3/extra", "linux/*", "linux/amd 64", "notanos", "linux//amd64", "linux/", "(x)/amd64", "linux(/amd64"])
    func parseInvalid(_ specifier: String) {
        let error = #expect(throws: OCISpecError.self) { try Platform(parsing: specifier) }
        #expect(error?.code == .invalidPlatform)
        #expect(error?.message.contains("\"\(specifier)\"") == true)
    }

    @Test("host platform is normalised and known")
    func current() {
        let host = Platform.current
        #expect(host == host.normalized)
        #expect(host.os == "linux")
        #expect(Platform.knownArchitectures.contains(host.architecture))
        #expect(Platform.architecture(fromMachine: "armv7l")?.architecture == "arm")
        #expect(Platform.architecture(fromMachine: "armv7l")?.variant == "v7")
        #expect(Platform.architecture(fromMachine: "x86_64")?.architecture == "amd64")
        #expect(Platform.architecture(fromMachine: "aarch64")?.architecture == "arm64")
        #expect(Platform.architecture(fromMachine: "aarch64")?.variant == nil)
        #expect(Platform.architecture(fromMachine: "vax") == nil)
    }

    static func p(_ s: String) -> Platform {
        let parts = s.split(separator: "/").map(String.init)
        return Platform(os: parts[0], architecture: parts[1], variant: parts.count > 2 ? parts[2] : nil)
    }

    @Test(
        "matching with fallbacks",
        arguments: [
            ("linux/arm64", "linux/arm64", true), ("linux/arm64", "linux/arm64/v8", true),
            ("linux/arm64", "linux/aarch64", true), ("linux/arm64", "linux/arm/v8", true),
            ("linux/arm64", "linux/arm/v7", true), ("linux/arm64", "linux/arm/v6", true),
            ("linux/arm64", "linux/arm/v5", true), ("linux/arm64", "linux/arm", true),
            ("linux/arm64", "linux/amd64", false), ("linux/arm64", "linux/arm64/v8.1", false),
            ("linux/arm64/v8.2", "linux/arm64/v8.1", true), ("linux/arm64/v9", "linux/arm64/v8.5", true),
            ("linux/arm/v7", "linux/arm/v6", true), ("linux/arm/v7", "linux/arm/v5", true),
            ("linux/arm/v7", "linux/arm/v8", false), ("linux/arm/v6", "linux/arm/v7", false),
            ("linux/amd64", "linux/amd64", true), ("linux/amd64", "linux/x86_64", true),
            ("linux/amd64", "linux/amd64/v1", true), ("linux/amd64", "linux/386", true),
            ("linux/amd64", "linux/amd64/v2", false), ("linux/amd64/v3", "linux/amd64/v2", true),
            ("linux/amd64", "windows/amd64", false), ("linux/amd64", "linux/arm64", false),
            ("linux/386", "linux/amd64", false),
        ])
    func matching(_ host: String, _ image: String, _ expected: Bool) {
        #expect(Self.p(host).matches(Self.p(image)) == expected)
    }

    @Test("exact matching and OS features")
    func exact() {
        let host = Platform(os: "windows", architecture: "amd64", osFeatures: ["win32k"])
        #expect(host.matchesExactly(Platform(os: "windows", architecture: "amd64")))
        #expect(host.matchesExactly(Platform(os: "windows", architecture: "amd64", osFeatures: ["win32k"])))
        #expect(!host.matchesExactly(Platform(os: "windows", architecture: "amd64", osFeatures: ["other"])))
        #expect(!Self.p("linux/amd64").matchesExactly(Self.p("linux/386")))
        #expect(Self.p("linux/arm64").matchesExactly(Self.p("linux/arm64/v8")))
    }

    @Test("compatible platforms are ordered like containerd's platformVector")
    func vector() {
        #expect(Self.p("linux/arm64").compatiblePlatforms.map(\.description) == [
            "linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5",
        ])
        #expect(Self.p("linux/amd64/v3").compatiblePlatforms.map(\.description) == [
            "linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386",
        ])
        #expect(Self.p("linux/arm64/v9.1").compatiblePlatforms.map(\.description).prefix(4) == [
            "linux/arm64/v9.1", "linux/arm64/v9", "linux/arm64/v8.6", "linux/arm64/v8.5",
        ])
    }

    @Test(
        "best match picks the most preferred entry of an index",
        arguments: [
            ("linux/amd64", ["linux/386", "linux/amd64/v2", "linux/amd64", "linux/arm64"], 2),
            ("linux/amd64", ["linux/386", "linux/arm64"], 0),
            ("linux/amd64/v2", ["linux/386", "linux/amd64", "linux/amd64/v2"], 2),
            ("linux/amd64/v3", ["linux/amd64", "linux/amd64/v2", "linux/386"], 1),
            ("linux/arm64", ["linux/arm/v6", "linux/arm/v7", "linux/arm64/v8", "linux/amd64"], 2),
            ("linux/arm64", ["linux/arm/v5", "linux/arm/v6", "linux/arm/v7"], 2),
            ("linux/arm/v7", ["linux/arm/v5", "linux/arm64", "linux/arm/v6"], 2),
            ("linux/arm64", ["linux/amd64", "windows/arm64"], nil),
            ("linux/amd64", ["linux/amd64", "linux/amd64"], 0),
        ] as [(String, [String], Int?)])
    func bestMatch(_ host: String, _ candidates: [String], _ expected: Int?) {
        #expect(Self.p(host).bestMatch(in: candidates.map(Self.p)) == expected)
    }

    @Test("prefers(_:over:) sorts candidates by preference")
    func comparator() {
        let host = Self.p("linux/arm64")
        let sorted = ["linux/amd64", "linux/arm/v6", "linux/arm64", "linux/arm/v7"].map(Self.p)
            .sorted { host.prefers($0, over: $1) }
        #expect(sorted.map(\.description).prefix(3) == ["linux/arm64", "linux/arm/v7", "linux/arm/v6"])
    }

    @Test("JSON keys are os.version and os.features")
    func codable() throws {
        let p = Platform(os: "windows", architecture: "amd64", osVersion: "10.0.17763.1879", osFeatures: ["win32k"])
        let json = String(decoding: try OCIJSON.encode(p), as: UTF8.self)
        #expect(json == #"{"architecture":"amd64","os":"windows","os.features":["win32k"],"os.version":"10.0.17763.1879"}"#)
        #expect(try OCIJSON.decode(Platform.self, from: Data(json.utf8)) == p)
    }
}
