// Helpers the examples share: a busybox image built from Debian's busybox-static, a
// scratch directory, percentiles and argument parsing. Not part of the library.
import Caisson
import Foundation

/// A scratch directory under /tmp, removed when `body` returns or throws.
/// - Parameters:
///   - name: a readable prefix.
///   - isolation: the caller's isolation, inherited by `body`.
///   - body: receives the directory's path.
/// - Returns: what `body` returns.
public func withScratchDirectory<R>(
    _ name: String, isolation: isolated (any Actor)? = #isolation, _ body: (String) async throws -> R
) async throws -> R {
    let path = "/tmp/caisson-\(name)-\(getpid())"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    do {
        let result = try await body(path)
        try? FileManager.default.removeItem(atPath: path)
        return result
    } catch {
        try? FileManager.default.removeItem(atPath: path)
        throw error
    }
}

/// Builds a busybox image named `name` in the engine's store from /bin/busybox: the
/// binary, a symlink per applet (from `busybox --list`), /etc/passwd and /etc/group with
/// root and nobody, and the usual empty directories.
/// - Parameters:
///   - engine: the engine whose store gets the image.
///   - name: the image name.
///   - directory: a scratch directory for the rootfs.
/// - Returns: the stored image.
/// - Throws: if /bin/busybox is missing (install busybox-static) or the build fails.
@discardableResult
public func buildBusyboxImage(in engine: Engine, name: String = "busybox", directory: String) async throws -> StoredImage {
    let busybox = "/bin/busybox"
    guard FileManager.default.isExecutableFile(atPath: busybox) else {
        throw ExampleError("\(busybox) is missing: apt-get install busybox-static")
    }
    let rootfs = directory + "/busybox-rootfs"
    let fm = FileManager.default
    for dir in ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "var"] {
        try fm.createDirectory(atPath: rootfs + "/" + dir, withIntermediateDirectories: true)
    }
    try fm.copyItem(atPath: busybox, toPath: rootfs + "/bin/busybox")
    for applet in try appletNames(busybox) where applet != "busybox" {
        try fm.createSymbolicLink(atPath: rootfs + "/bin/" + applet, withDestinationPath: "busybox")
    }
    try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        .write(toFile: rootfs + "/etc/passwd", atomically: false, encoding: .utf8)
    try "root:x:0:\nnogroup:x:65534:\n".write(toFile: rootfs + "/etc/group", atomically: false, encoding: .utf8)
    _ = chmod(rootfs + "/tmp", 0o1777)
    let image = try await engine.store.build(
        from: rootfs, name: name, config: ImageConfiguration.Config(env: ["PATH=/bin"], cmd: ["/bin/sh"]))
    try fm.removeItem(atPath: rootfs)
    return image
}

private func appletNames(_ busybox: String) throws -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: busybox)
    process.arguments = ["--list"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ExampleError("\(busybox) --list exited \(process.terminationStatus)") }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.contains("/") }
}

/// An example's failure, printed as one line.
public struct ExampleError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// Creates an error.
    /// - Parameter description: what went wrong.
    public init(_ description: String) { self.description = description }
}

/// The `p`-th percentile (0...100) of `values`, nearest-rank.
/// - Parameters:
///   - values: the samples.
///   - p: the percentile.
/// - Returns: the sample at that rank; 0 if there are none.
public func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// The value of `--name VALUE` in the command line, else `defaultValue`.
/// - Parameters:
///   - name: the option name with its dashes.
///   - defaultValue: the value when the option is absent.
/// - Returns: the value.
public func option(_ name: String, default defaultValue: String) -> String {
    let arguments = CommandLine.arguments
    if let index = arguments.firstIndex(of: name), index + 1 < arguments.count { return arguments[index + 1] }
    return defaultValue
}

/// Milliseconds between two instants of the continuous clock.
/// - Parameters:
///   - start: the earlier instant.
///   - end: the later instant.
/// - Returns: the elapsed milliseconds.
public func milliseconds(_ start: ContinuousClock.Instant, _ end: ContinuousClock.Instant) -> Double {
    let elapsed = end - start
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

/// Prints to standard error.
/// - Parameter message: the line.
public func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
