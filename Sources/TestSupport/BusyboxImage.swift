import Foundation
import OCISpec

/// A busybox root filesystem and image configuration, made from Debian's busybox-static,
/// for tests that build an image with `ImageStore.build(from:name:config:)` — no network.
///
/// ```swift
/// let busybox = try BusyboxImage.make(in: dir + "/bb-rootfs")
/// let image = try await store.build(from: busybox.rootfs, name: "busybox", config: BusyboxImage.config)
/// ```
public struct BusyboxImage: Sendable {
    /// The rootfs directory to build the image from.
    public let rootfs: String

    /// The image configuration tests use: `sh` as the command, `PATH=/bin`.
    public static let config = ImageConfiguration.Config(
        env: ["PATH=/bin:/sbin", "HOME=/root"], cmd: ["/bin/sh"], workingDir: "/",
        labels: ["org.example.fixture": "busybox"])

    /// Whether busybox-static is installed.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/bin/busybox") }

    /// Writes a busybox rootfs into `directory` (created if missing): `/bin/busybox`, the
    /// applets of ``BusyboxBundle/applets`` as symlinks, `/etc/passwd`, `/etc/group` and
    /// the usual empty directories.
    /// - Parameters:
    ///   - directory: where to write the rootfs.
    ///   - busybox: the static busybox binary.
    /// - Returns: the fixture.
    /// - Throws: if busybox is missing (install busybox-static) or a file cannot be written.
    public static func make(in directory: String, busybox: String = "/bin/busybox") throws -> BusyboxImage {
        let fm = FileManager.default
        guard fm.fileExists(atPath: busybox) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: busybox + " (apt-get install busybox-static)"])
        }
        for dir in ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "home", "var"] {
            try fm.createDirectory(atPath: directory + "/" + dir, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: busybox, toPath: directory + "/bin/busybox")
        for applet in BusyboxBundle.applets {
            try fm.createSymbolicLink(atPath: directory + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
            .write(toFile: directory + "/etc/passwd", atomically: false, encoding: .utf8)
        try "root:x:0:\nnogroup:x:65534:\n".write(toFile: directory + "/etc/group", atomically: false, encoding: .utf8)
        _ = chmod(directory + "/tmp", 0o1777)
        return BusyboxImage(rootfs: directory)
    }
}
