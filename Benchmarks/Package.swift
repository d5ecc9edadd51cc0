// swift-tools-version: 6.1
//
// Caisson benchmarks: a nested package, so that users of the library never depend on
// ordo-one/benchmark (see ../../shared/design/STYLE.md, "Layout").
//
//   swift package benchmark                  # package-benchmark suites (Benchmarks/<Name>/)
//   swift run -c release caisson-bench all   # the plain driver that compare.sh calls
//   bash compare.sh [--full]                 # Caisson vs crun vs runc, one table

import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// A path dependency's identity is its directory's name, which is "caisson" in a usual
// clone but may be anything (CI clones into another folder): derive it.
let parent = Context.packageDirectory.split(separator: "/").dropLast().last.map { String($0).lowercased() } ?? "caisson"

let package = Package(
    name: "caisson-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // The interposer trait only: the default traits also pull in a runtime interposer
        // that this machine has no copy of.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Bundle fixtures and /proc readers shared by the driver and the suites.
        .target(
            name: "BenchSupport",
            dependencies: [.product(name: "OCISpec", package: parent)],
            swiftSettings: strict),

        // prctl and kcmp for the driver (variadic in C, so not callable from Swift).
        .target(name: "CBenchShims"),

        // The measurement driver that compare.sh runs (prints `caisson.<metric> <value>` lines).
        .executableTarget(
            name: "caisson-bench",
            dependencies: [
                "BenchSupport",
                "CBenchShims",
                .product(name: "Sandbox", package: parent),
                .product(name: "OCISpec", package: parent),
            ],
            swiftSettings: strict),

        // The Caisson side of images.sh: import, unpack, prepare, pull (release build).
        .executableTarget(
            name: "caisson-image-bench",
            dependencies: [
                .product(name: "ImageStore", package: parent),
                .product(name: "Registry", package: parent),
                .product(name: "OCISpec", package: parent),
            ],
            swiftSettings: strict),

        // package-benchmark suites: `swift package benchmark --target SandboxLifecycle`.
        .executableTarget(
            name: "SandboxLifecycle",
            dependencies: [
                "BenchSupport",
                .product(name: "Sandbox", package: parent),
                .product(name: "OCISpec", package: parent),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/SandboxLifecycle",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]),
    ]
)
