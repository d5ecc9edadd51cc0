import Foundation
import OCISpec

/// An OCI bundle with a busybox rootfs, made from Debian's busybox-static, for tests.
public struct BusyboxBundle: Sendable {
    /// The bundle directory (holds `config.json` and `rootfs/`).
    public let path: String

    /// A bundle that already exists at `path`.
    public init(path: String) { self.path = path }
    /// The rootfs directory.
    public var rootfs: String { path + "/rootfs" }

    /// The applets linked into /bin.
    public static let applets = [
        "sh", "true", "false", "echo", "cat", "ls", "sleep", "id", "hostname", "mount", "ps", "grep",
        "env", "pwd", "readlink", "stat", "test", "touch", "mkdir", "rm", "wc", "head", "kill", "umask",
        "ulimit", "nproc", "cut", "tr", "find", "domainname", "uname", "dd", "ln", "chmod", "sync", "stty", "tty", "awk", "mknod",
    ]

    /// Builds a bundle in `directory` (which must exist and be empty).
    /// - Parameters:
    ///   - directory: the bundle directory.
    ///   - spec: the runtime spec to write as config.json; default: `runc spec` with `args`.
    ///   - args: the process arguments when `spec` is nil.
    /// - Throws: if busybox is missing (install busybox-static) or a file cannot be written.
    public static func make(in directory: String, spec: RuntimeSpec? = nil, args: [String] = ["/bin/true"]) throws -> BusyboxBundle {
        let fm = FileManager.default
        let busybox = "/bin/busybox"
        guard fm.fileExists(atPath: busybox) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: busybox + " (apt-get install busybox-static)"])
        }
        let rootfs = directory + "/rootfs"
        for dir in ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "home", "var"] {
            try fm.createDirectory(atPath: rootfs + "/" + dir, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: busybox, toPath: rootfs + "/bin/busybox")
        for applet in applets {
            try fm.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
            .write(toFile: rootfs + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nnogroup:x:65534:\n".write(toFile: rootfs + "/etc/group", atomically: true, encoding: .utf8)
        var config = spec ?? RuntimeSpec.runcDefault()
        if spec == nil {
            config.process?.args = args
            config.process?.terminal = false
        }
        try OCIJSON.encode(config, pretty: true).write(to: URL(fileURLWithPath: directory + "/config.json"))
        return BusyboxBundle(path: directory)
    }

    /// Rewrites config.json.
    public func write(spec: RuntimeSpec) throws {
        try OCIJSON.encode(spec, pretty: true).write(to: URL(fileURLWithPath: path + "/config.json"))
    }

    /// Reads config.json.
    public func spec() throws -> RuntimeSpec {
        try OCIJSON.decode(RuntimeSpec.self, from: Data(contentsOf: URL(fileURLWithPath: path + "/config.json")))
    }
}
