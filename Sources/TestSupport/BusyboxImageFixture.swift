import Foundation

/// A real busybox image built with umoci and copied with skopeo, for tests that need
/// image layouts written by other tools.
///
/// ```swift
/// try await withTemporaryDirectory { dir in
///     let fixture = try BusyboxImageFixture.build(in: dir)
///     // fixture.umociLayout, fixture.skopeoLayout: OCI layouts tagged `bb`
///     // fixture.dockerDirectory: `skopeo copy --format v2s2 … dir:` output
/// }
/// ```
///
/// Needs `umoci`, `skopeo` and a static busybox (`/bin/busybox`). Runs umoci rootless
/// when not root.
public struct BusyboxImageFixture: Sendable {
    /// The tag used in both layouts.
    public static let tag = "bb"

    /// The OCI image layout written by umoci.
    public let umociLayout: String
    /// The OCI image layout written by `skopeo copy oci:… oci:…`.
    public let skopeoLayout: String
    /// The `dir:` transport output of `skopeo copy --format v2s2`: `manifest.json`
    /// (Docker v2 schema 2) and one file per blob named by its hex digest.
    public let dockerDirectory: String

    /// Builds the fixture under `directory`.
    /// - Parameters:
    ///   - directory: an empty scratch directory (e.g. from ``withTemporaryDirectory(prefix:_:)``).
    ///   - busybox: the static busybox binary to put in the image.
    /// - Returns: the paths of the three copies.
    /// - Throws: ``FixtureError`` if a tool is missing or fails.
    public static func build(in directory: String, busybox: String = "/bin/busybox") throws -> BusyboxImageFixture {
        let layout = "\(directory)/umoci-layout"
        let bundle = "\(directory)/bundle"
        let image = "\(layout):\(tag)"
        let rootless = geteuid() == 0 ? [] : ["--rootless"]
        try run("umoci", ["init", "--layout", layout])
        try run("umoci", ["new", "--image", image])
        try run("umoci", ["unpack"] + rootless + ["--image", image, bundle])
        let bin = "\(bundle)/rootfs/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: busybox, toPath: "\(bin)/busybox")
        try FileManager.default.createSymbolicLink(atPath: "\(bin)/sh", withDestinationPath: "busybox")
        try run("umoci", ["repack"] + rootless + ["--image", image, bundle])
        try run(
            "umoci",
            [
                "config", "--image", image,
                "--config.cmd", "/bin/sh",
                "--config.entrypoint", "/bin/busybox",
                "--config.env", "PATH=/bin",
                "--config.env", "HOME=/root",
                "--config.workingdir", "/root",
                "--config.user", "1000:1000",
                "--config.exposedports", "8080/tcp",
                "--config.volume", "/data",
                "--config.label", "org.example.fixture=busybox",
                "--config.stopsignal", "SIGQUIT",
                "--author", "caisson tests",
                "--os", "linux",
                "--architecture", Self.hostArchitecture,
            ])
        let skopeoLayout = "\(directory)/skopeo-layout"
        let dockerDirectory = "\(directory)/docker-dir"
        try run("skopeo", ["copy", "--quiet", "oci:\(image)", "oci:\(skopeoLayout):\(tag)"])
        try run("skopeo", ["copy", "--quiet", "--format", "v2s2", "oci:\(image)", "dir:\(dockerDirectory)"])
        return BusyboxImageFixture(umociLayout: layout, skopeoLayout: skopeoLayout, dockerDirectory: dockerDirectory)
    }

    /// Whether the tools the fixture needs are installed.
    public static var isAvailable: Bool {
        ["umoci", "skopeo"].allSatisfy { find($0) != nil } && FileManager.default.fileExists(atPath: "/bin/busybox")
    }

    /// A failure while building the fixture.
    public struct FixtureError: Error, CustomStringConvertible {
        /// What failed, with the tool's output.
        public let description: String
    }

    private static var hostArchitecture: String {
        #if arch(x86_64)
        return "amd64"
        #elseif arch(arm64)
        return "arm64"
        #else
        return "amd64"
        #endif
    }

    private static func find(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        guard let executable = find(tool) else {
            throw FixtureError(description: "\(tool) not found in PATH")
        }
        let (status, output) = try runTool(executable, arguments)
        guard status == 0 else {
            throw FixtureError(
                description: "\(tool) \(arguments.joined(separator: " ")) exited \(status): " + output)
        }
    }
}
