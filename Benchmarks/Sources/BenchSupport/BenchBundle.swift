import Foundation
import OCISpec

/// The bundles every benchmark runs: one busybox rootfs shared by several configs, all
/// `runc spec` defaults (read-only root, pid/net/ipc/uts/mount namespaces) but for the
/// process arguments, no terminal, and the network namespace where a variant drops it.
///
/// The same directories are handed to crun and runc by `compare.sh`, so the three
/// runtimes run the very same bundle.
public struct BenchBundles: Sendable {
    /// The parent directory: `rootfs/`, `true-netns/`, `true-nonet/`, `sleep/`.
    public let directory: String

    /// The shared busybox rootfs (every config points at it by absolute path).
    public var rootfs: String { directory + "/rootfs" }
    /// `/bin/true`, runc spec defaults (with a network namespace).
    public var trueNetns: String { directory + "/true-netns" }
    /// `/bin/true` without a network namespace.
    public var trueNoNetns: String { directory + "/true-nonet" }
    /// `/bin/true` with a network namespace and a memory (64 MiB) and pids (128) limit.
    public var trueLimits: String { directory + "/true-limits" }
    /// `sleep 1000000` (runc spec defaults, with a network namespace): the idle container.
    public var sleep: String { directory + "/sleep" }

    /// The applets linked into the rootfs's /bin.
    static let applets = ["sh", "true", "sleep", "echo", "cat", "ls"]

    /// Opens bundles made earlier by ``make(in:)``.
    public init(directory: String) {
        self.directory = directory
    }

    /// Makes the rootfs and the three bundles in `directory` (created if missing).
    /// - Parameter directory: where to put them; must not already hold a rootfs.
    /// - Returns: the bundles.
    /// - Throws: if /bin/busybox is missing (install busybox-static) or a file cannot be written.
    public static func make(in directory: String) throws -> BenchBundles {
        let fm = FileManager.default
        let busybox = "/bin/busybox"
        guard fm.fileExists(atPath: busybox) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: busybox + " (apt-get install busybox-static)"])
        }
        let bundles = BenchBundles(directory: directory)
        for dir in ["bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
            try fm.createDirectory(atPath: bundles.rootfs + "/" + dir, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: busybox, toPath: bundles.rootfs + "/bin/busybox")
        for applet in applets {
            try fm.createSymbolicLink(atPath: bundles.rootfs + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\n".write(toFile: bundles.rootfs + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\n".write(toFile: bundles.rootfs + "/etc/group", atomically: true, encoding: .utf8)

        try write(bundles.trueNetns, rootfs: bundles.rootfs, args: ["/bin/true"], network: true)
        try write(bundles.trueNoNetns, rootfs: bundles.rootfs, args: ["/bin/true"], network: false)
        try write(bundles.trueLimits, rootfs: bundles.rootfs, args: ["/bin/true"], network: true, limits: true)
        try write(bundles.sleep, rootfs: bundles.rootfs, args: ["/bin/sleep", "1000000"], network: true)
        return bundles
    }

    /// Writes `<bundle>/config.json`: `runc spec` defaults with `args`, no terminal, the
    /// shared rootfs, and a network namespace or not.
    static func write(_ bundle: String, rootfs: String, args: [String], network: Bool, limits: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        var spec = RuntimeSpec.runcDefault()
        spec.process?.args = args
        spec.process?.terminal = false
        spec.root?.path = rootfs
        if !network {
            spec.linux?.namespaces?.removeAll { $0.type == .network }
        }
        if limits {
            spec.linux?.resources = .init(memory: .init(limit: 64 << 20), pids: .init(limit: 128))
        }
        try OCIJSON.encode(spec, pretty: true).write(to: URL(fileURLWithPath: bundle + "/config.json"))
    }
}
