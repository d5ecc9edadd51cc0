import Foundation
import Glibc
import _CNetwork

/// One run of a CNI plugin executable: the configuration on stdin, the CNI_* variables in
/// its environment, stdout and stderr collected.
///
/// stdin, stdout and stderr are memfds, not pipes: the plugin can write any amount while
/// nobody reads, and the caller needs no thread per stream. The plugin gets no other
/// descriptor of this process and default signal handling.
struct CNIPluginProcess {
    /// How the plugin ended and what it printed.
    struct Outcome {
        /// The exit status (`WEXITSTATUS`), or 128 + signal when it was killed.
        var status: Int32
        var standardOutput: Data
        var standardError: Data
    }

    /// How long a plugin may run. They finish in milliseconds; one that hangs (a stuck
    /// iptables lock, a DHCP server that never answers) would otherwise hold the state
    /// lock, and with it every attach and detach, for ever.
    static let timeout: Int32 = 60_000

    /// Runs `path` with `environment` (`NAME=value`) and `input` on stdin, to its end.
    /// - Throws: ``NetworkError`` `system` when it cannot be started or waited for,
    ///   `plugin` when it runs past ``timeout`` (it is killed).
    static func run(_ path: String, environment: [String], input: Data) throws(NetworkError) -> Outcome {
        let stdin = try memfd("cni-stdin")
        defer { close(stdin) }
        let stdout = try memfd("cni-stdout")
        defer { close(stdout) }
        let stderr = try memfd("cni-stderr")
        defer { close(stderr) }
        let written = input.withUnsafeBytes { Glibc.write(stdin, $0.baseAddress, $0.count) }
        guard written == input.count, lseek(stdin, 0, SEEK_SET) == 0 else {
            throw NetworkError(.system, "CNI plugin \(path): write its configuration", errno: errno)
        }
        let argv = [strdup(path)] + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        let pid = cnet_spawn(path, argv, envp, stdin, stdout, stderr)
        guard pid > 0 else { throw .system("CNI plugin \(path): start", pid) }
        var timedOut = false
        let pidfd = cnet_pidfd_open(pid)
        if pidfd >= 0 {
            var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            var ready: Int32
            repeat { ready = poll(&entry, 1, timeout) } while ready < 0 && errno == EINTR
            close(pidfd)
            if ready == 0 {
                timedOut = true
                kill(pid, SIGKILL)
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw NetworkError(.system, "CNI plugin \(path): wait for pid \(pid)", errno: errno) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Glibc's module does not export as functions.
        if timedOut { throw NetworkError(.plugin, "CNI plugin \(path) did not finish in \(timeout / 1000) s and was killed") }
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(status: exitStatus, standardOutput: try contents(stdout, path), standardError: try contents(stderr, path))
    }

    private static func memfd(_ name: String) throws(NetworkError) -> Int32 {
        let fd = cnet_memfd(name)
        guard fd >= 0 else { throw .system("create \(name) memfd", fd) }
        return fd
    }

    /// Everything written to a memfd, from its start.
    private static func contents(_ fd: Int32, _ path: String) throws(NetworkError) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var offset: off_t = 0
        while true {
            let n = pread(fd, &buffer, buffer.count, offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw NetworkError(.system, "CNI plugin \(path): read its output", errno: errno)
            }
            if n == 0 { return data }
            data.append(contentsOf: buffer[0..<n])
            offset += off_t(n)
        }
    }
}
