import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Sandbox
import Synchronization

/// Options every runtime command takes (runc's global flags).
package struct GlobalOptions: ParsableArguments {
    package init() {}

    @Option(help: "Root directory for storage of container state (not root: $XDG_RUNTIME_DIR/caisson).")
    package var root: String = Runtime.defaultStateRoot

    @Option(help: "Append errors (and with --debug, debug lines) to this file, as runc does.")
    package var log: String?

    @Option(name: .customLong("log-format"), help: "Log format: text or json (containerd reads the last JSON error line).")
    package var logFormat: String = "text"

    @Flag(help: "Enable debug output.")
    package var debug = false

    @Flag(name: .customLong("systemd-cgroup"), help: "Use systemd cgroups (not supported: refused).")
    package var systemdCgroup = false

    package var runtime: Runtime { Runtime(stateRoot: root) }

    /// Runs for every command line (ArgumentParser validates option groups): sets up the
    /// log before any command can fail.
    package func validate() throws {
        guard logFormat == "text" || logFormat == "json" else {
            throw ValidationError("--log-format: \"\(logFormat)\" is not text or json")
        }
        CLILog.configure(path: log, json: logFormat == "json", debug: debug)
        if systemdCgroup {
            fail("--systemd-cgroup: systemd cgroup management is not supported; use cgroupfs paths (podman: cgroup_manager = \"cgroupfs\", containerd: SystemdCgroup = false)")
        }
    }
}

/// runc's log file: `--log PATH` gets one line per error, as text
/// (`time="…" level=error msg="…"`) or JSON (`{"level":"error","msg":"…","time":"…"}`).
package enum CLILog {
    private struct Settings: Sendable {
        var path: String?
        var json = false
        package var debug = false
    }
    private static let settings = Mutex(Settings())

    package static func configure(path: String?, json: Bool, debug: Bool) {
        settings.withLock { $0 = Settings(path: path, json: json, debug: debug) }
    }

    /// Appends one line at `level` to the log file, if one was given.
    package static func write(level: String, _ message: String) {
        let current = settings.withLock { $0 }
        guard let path = current.path, level != "debug" || current.debug else { return }
        let time = Date().formatted(.iso8601)
        let line: String
        if current.json {
            let fields = ["level": level, "msg": message, "time": time]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            line = String(decoding: (try? encoder.encode(fields)) ?? Data(), as: UTF8.self)
        } else {
            let quoted = message.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            line = "time=\"\(time)\" level=\(level) msg=\"\(quoted)\""
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = (line + "\n").withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }
}

/// Prints `error` as runc does (one line on stderr, and the log file) and exits 1.
package func fail(_ error: any Error) -> Never {
    fail("\(error)")
}

/// Prints `message` as runc does (one line on stderr, and the log file) and exits 1.
package func fail(_ message: String) -> Never {
    CLILog.write(level: "error", message)
    StandardStreams.writeError("caisson: \(message)\n")
    exit(1)
}


/// This process's standard streams, written and read whole with write(2)/read(2)
/// (FileHandle is not in FoundationEssentials, which is all the runtime binary links).
package enum StandardStreams {
    /// Writes all of `text` to standard output.
    package static func write(_ text: String) { writeAll(1, Array(text.utf8)) }

    /// Writes all of `bytes` to standard output.
    package static func write(_ bytes: some Sequence<UInt8>) { writeAll(1, Array(bytes)) }

    /// Writes all of `text` to standard error.
    package static func writeError(_ text: String) { writeAll(2, Array(text.utf8)) }

    /// Reads standard input to its end.
    package static func readInput() -> [UInt8] {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return data }
            data += buffer[0..<n]
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
