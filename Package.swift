// swift-tools-version: 6.1
//
// Caisson: run Linux containers from inside a Swift process.
// Layers (see ../shared/design/ARCHITECTURE.md): OCISpec <- ImageStore, Registry, Sandbox <- Caisson.

import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "caisson",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "OCISpec", targets: ["OCISpec"]),
        .library(name: "OCIHashing", targets: ["OCIHashing"]),
        .library(name: "ImageStore", targets: ["ImageStore"]),
        .library(name: "Registry", targets: ["Registry"]),
        .library(name: "Sandbox", targets: ["Sandbox"]),
        .library(name: "Caisson", targets: ["Caisson"]),
        .library(name: "CaissonNetwork", targets: ["CaissonNetwork"]),
        .executable(name: "caisson", targets: ["caisson"]),
        .executable(name: "caisson-engine", targets: ["caisson-engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // MARK: System libraries
        .systemLibrary(
            name: "CSeccomp", pkgConfig: "libseccomp",
            providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(
            name: "CCap", pkgConfig: "libcap",
            providers: [.apt(["libcap-dev"])]),
        .systemLibrary(
            name: "CArchive", pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(
            name: "CNftables", pkgConfig: "libnftables",
            providers: [.apt(["libnftables-dev"])]),

        // MARK: C core (everything between clone and execve)
        .target(
            name: "_CSandbox",
            cSettings: [.define("_GNU_SOURCE")]),

        // MARK: Network C helpers (rtnetlink messages, per-thread network namespaces)
        .target(
            name: "_CNetwork",
            cSettings: [.define("_GNU_SOURCE")]),

        // MARK: ImageStore C helpers (openat2, xattrs, new mount API)
        .target(
            name: "_CImageStore",
            cSettings: [.define("_GNU_SOURCE")]),

        // MARK: Layers
        // OCISpec computes no digests, so that a runtime reading specs links neither
        // swift-crypto nor (through it) the whole of Foundation: hashing is OCIHashing.
        .target(name: "OCISpec", swiftSettings: strict),
        .target(
            name: "OCIHashing",
            dependencies: ["OCISpec", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(
            name: "ImageStore",
            dependencies: ["OCISpec", "OCIHashing", "CArchive", "_CImageStore", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .target(
            name: "Registry",
            dependencies: [
                "OCISpec", "OCIHashing", "ImageStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict),
        .target(
            name: "Sandbox",
            dependencies: [
                "OCISpec", "_CSandbox", "CSeccomp", "CCap",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict),
        // Named CaissonNetwork, not Network: packages test `canImport(Network)` to find
        // Apple's Network.framework (async-http-client, swift-nio-transport-services).
        .target(
            name: "CaissonNetwork",
            dependencies: ["OCISpec", "_CNetwork", "CNftables", .product(name: "Logging", package: "swift-log")],
            path: "Sources/Network",
            swiftSettings: strict),
        .target(
            name: "Caisson",
            dependencies: [
                "OCISpec", "OCIHashing", "ImageStore", "Registry", "Sandbox", "CaissonNetwork", "_CImageStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // The `caisson` CLI is two executables: `caisson`, runc's commands on Sandbox alone
        // (engines start it several times per container, so it links no crypto, NIO,
        // libarchive, nftables or full Foundation), and `caisson-engine`, installed next to
        // it, which `caisson` execs for image, container-from-image and network commands.
        .target(
            name: "CLICommon",
            dependencies: ["Sandbox", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        .executableTarget(
            name: "caisson",
            dependencies: [
                "CLICommon", "Sandbox", "OCISpec", "CSeccomp", "CCap",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict,
            // Engines exec the runtime three or four times per container: a static
            // executable skips the dynamic loader (8 shared objects, a 36 MB image to relocate):
            // `caisson --version` 2.0 ms static, 5.5 ms dynamic PIE (4.1 with packed
            // relocations), crun 2.6 ms; podman run --rm 115 ms vs crun's 131 (Benchmarks/
            // podman.sh). Not position-independent, like Debian's own runc, podman and
            // containerd binaries (glibc's static-pie start-up asserts on Swift's relocations).
            // FoundationEssentials' static archive needs its two support libraries by name.
            linkerSettings: [.unsafeFlags(["-static-executable", "-l_FoundationCollections", "-l_FoundationCShims"])]),
        .executableTarget(
            name: "caisson-engine",
            dependencies: [
                "CLICommon", "Caisson",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/caisson-engine",
            swiftSettings: strict),

        // MARK: Examples (built and run by CI)
        .executableTarget(name: "hello", dependencies: ["Caisson"], path: "Examples/Hello", swiftSettings: strict),
        .target(name: "ExampleSupport", dependencies: ["Caisson"], path: "Examples/Support", swiftSettings: strict),
        .executableTarget(
            name: "pull-and-run", dependencies: ["Caisson", "ExampleSupport"], path: "Examples/PullAndRun",
            swiftSettings: strict),
        .executableTarget(
            name: "startup", dependencies: ["Caisson", "ExampleSupport"], path: "Examples/Startup", swiftSettings: strict),
        .executableTarget(
            name: "density", dependencies: ["Caisson", "ExampleSupport"], path: "Examples/Density", swiftSettings: strict),
        .executableTarget(
            name: "sandbox-exec", dependencies: ["Caisson", "ExampleSupport"], path: "Examples/SandboxExec",
            swiftSettings: strict),

        // MARK: Test support and tests
        .target(
            name: "TestSupport",
            dependencies: ["OCISpec"],
            swiftSettings: strict),
        .testTarget(
            name: "OCISpecTests",
            dependencies: ["OCISpec", "OCIHashing", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "ImageStoreTests",
            dependencies: ["ImageStore", "OCISpec", "OCIHashing", "TestSupport"],
            swiftSettings: strict),
        // Launched and SIGKILLed by ImageStoreTests mid-ingest and mid-unpack (not a product).
        .executableTarget(
            name: "store-crash-helper",
            dependencies: ["ImageStore", "OCISpec"],
            path: "Tests/StoreCrashHelper",
            swiftSettings: strict),
        // Run by SandboxTests as an unprivileged user (setpriv): runtime and image store without root (not a product).
        .executableTarget(
            name: "rootless-helper",
            dependencies: ["Sandbox", "ImageStore", "OCISpec"],
            path: "Tests/RootlessHelper",
            swiftSettings: strict),
        .testTarget(
            name: "RegistryTests",
            dependencies: ["Registry", "ImageStore", "OCISpec", "OCIHashing", "TestSupport", "_CImageStore"],
            swiftSettings: strict),
        .testTarget(
            name: "SandboxTests",
            dependencies: ["Sandbox", "OCISpec", "TestSupport", "_CSandbox", "CSeccomp"],
            swiftSettings: strict),
        .testTarget(
            name: "NetworkTests",
            dependencies: [
                "CaissonNetwork", "_CNetwork", "Sandbox", "OCISpec", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "CaissonTests", dependencies: ["Caisson", "TestSupport", "_CImageStore"], swiftSettings: strict),
        .testTarget(name: "CLITests", dependencies: ["OCISpec", "TestSupport"], swiftSettings: strict),
    ]
)
