import Foundation
import OCISpec
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real registry server (Debian's `docker-registry`, CNCF distribution) on 127.0.0.1
/// and a free port, with filesystem storage in its own temporary directory, for
/// registry tests. Start it with ``withLocalRegistry(basicAuth:_:)`` so that the process
/// is stopped and the directory removed even when the test fails.
public final class LocalRegistry: Sendable {
    /// The registry binary.
    public static let executable = "/usr/bin/docker-registry"

    /// Whether `docker-registry` is installed (`apt-get install docker-registry`).
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The server's process ID.
    public let pid: pid_t
    /// Kills the server and removes its directory if this process dies without ``stop()``
    /// (a crashed test run): a shell blocked reading a socket whose only peer is this
    /// process. PR_SET_PDEATHSIG would not do: it fires when the spawning *thread* exits,
    /// and the concurrency pool's threads come and go.
    private let watchdog: pid_t
    /// This process's end of the watchdog's socket pair (close-on-exec: only this process holds it).
    private let lifeline: Int32
    /// The temporary directory holding the configuration, storage and log.
    public let directory: String
    /// The user name and password of htpasswd basic auth, if enabled.
    public let basicAuth: (username: String, password: String)?
    private let stopped = Mutex(false)

    private init(
        port: Int, pid: pid_t, watchdog: pid_t, lifeline: Int32, directory: String,
        basicAuth: (username: String, password: String)?
    ) {
        self.port = port
        self.pid = pid
        self.watchdog = watchdog
        self.lifeline = lifeline
        self.directory = directory
        self.basicAuth = basicAuth
    }

    /// `127.0.0.1:PORT`, the reference domain of this registry.
    public var host: String { "127.0.0.1:\(port)" }

    /// The storage root of the registry's filesystem driver.
    public var storageRoot: String { "\(directory)/data/docker/registry/v2" }

    /// Where the registry stores a blob's bytes (tests tamper with it to play a hostile registry).
    /// - Parameter digest: the blob's digest.
    /// - Returns: the `data` file path.
    public func blobDataPath(_ digest: Digest) -> String {
        "\(storageRoot)/blobs/\(digest.algorithm.name)/\(digest.encoded.prefix(2))/\(digest.encoded)/data"
    }

    /// The server's log so far.
    public var log: String { (try? String(contentsOfFile: "\(directory)/registry.log", encoding: .utf8)) ?? "" }

    /// Starts a registry.
    /// - Parameters:
    ///   - basicAuth: user and password for htpasswd basic auth (needs `htpasswd` from
    ///     apache2-utils); anonymous access when nil.
    ///   - tokenServer: a token server to delegate auth to (distribution token auth);
    ///     used instead of `basicAuth` when given.
    ///   - tls: serve HTTPS with this certificate and key (see ``TestCertificates``);
    ///     plain HTTP when nil.
    /// - Returns: the running registry; call ``stop()``.
    /// - Throws: if the binary is missing or the server does not come up.
    public static func start(
        basicAuth: (username: String, password: String)? = nil, tokenServer: LocalTokenServer? = nil,
        tls: (certificate: String, key: String)? = nil
    ) async throws -> LocalRegistry {
        let directory = try makeTemporaryDirectory(prefix: "caisson-registry")
        do {
            let tlsSection = tls.map { files in
                """
                  tls:
                    certificate: \(files.certificate)
                    key: \(files.key)
                """
            } ?? ""
            var authSection = ""
            if let tokenServer {
                authSection = """
                    auth:
                      token:
                        realm: \(tokenServer.realm)
                        service: \(LocalTokenServer.service)
                        issuer: \(LocalTokenServer.issuer)
                        rootcertbundle: \(tokenServer.certificatePath)

                    """
            } else if let basicAuth {
                let htpasswd = try runCapturing("/usr/bin/htpasswd", ["-Bbn", basicAuth.username, basicAuth.password])
                try htpasswd.write(toFile: "\(directory)/htpasswd", atomically: true, encoding: .utf8)
                authSection = """
                    auth:
                      htpasswd:
                        realm: caisson-test
                        path: \(directory)/htpasswd

                    """
            }
            var lastError = ""
            for _ in 0..<5 {
                let port = try freePort()
                let config = """
                    version: 0.1
                    log:
                      level: info
                      accesslog:
                        disabled: false
                    storage:
                      filesystem:
                        rootdirectory: \(directory)/data
                      delete:
                        enabled: true
                    http:
                      addr: 127.0.0.1:\(port)
                      secret: caisson-test-secret
                    \(tlsSection)
                    \(authSection)
                    """
                try config.write(toFile: "\(directory)/config.yml", atomically: true, encoding: .utf8)
                let pid = try spawnLogging(executable, ["serve", "\(directory)/config.yml"], log: "\(directory)/registry.log")
                let (watchdog, lifeline): (pid_t, Int32)
                do {
                    (watchdog, lifeline) = try spawnWatchdog(for: pid, directory: directory)
                } catch {
                    kill(pid, SIGKILL)
                    var status: Int32 = 0
                    _ = waitpid(pid, &status, 0)
                    throw error
                }
                let registry = LocalRegistry(
                    port: port, pid: pid, watchdog: watchdog, lifeline: lifeline, directory: directory, basicAuth: basicAuth)
                if try await registry.waitUntilReady() { return registry }
                lastError = registry.log
                registry.terminate()
            }
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "docker-registry did not start: \(lastError.suffix(600))"])
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s), reaps it and removes its
    /// directory. Safe to call more than once.
    public func stop() {
        guard stopped.withLock({ let was = $0; $0 = true; return !was }) else { return }
        terminate()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func terminate() {
        // Disarm the watchdog first, so that it never signals a pid this process reaped.
        var status: Int32 = 0
        kill(watchdog, SIGKILL)
        _ = waitpid(watchdog, &status, 0)
        close(lifeline)
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) { return }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
    }

    /// Polls the port until the server accepts connections; false if the process died.
    private func waitUntilReady() async throws -> Bool {
        for _ in 0..<300 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return false }
            if Self.canConnect(port: port) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    private static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A port the kernel just handed out on 127.0.0.1 (bound to 0, then released).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts the watchdog of the server `pid`: `sh` reading a socket whose other end is
    /// returned (close-on-exec); when the read ends — this process died — it kills the
    /// server and removes `directory`.
    /// - Returns: the watchdog's pid and this process's end of the socket pair.
    private static func spawnWatchdog(for pid: pid_t, directory: String) throws -> (pid_t, Int32) {
        // A socket pair rather than a pipe: created close-on-exec at once (Glibc's module
        // has no pipe2), so no other thread's spawn can inherit this process's end.
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        defer { close(ends[0]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let script = #"read _; kill -KILL "$1"; rm -rf "$2""#
        let arguments = ["/bin/sh", "-c", script, "sh", "\(pid)", directory]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var watchdog: pid_t = 0
        let result = posix_spawn(&watchdog, "/bin/sh", &actions, nil, argv, environ)
        guard result == 0 else {
            close(ends[1])
            throw POSIXError(.init(rawValue: result) ?? .EIO)
        }
        return (watchdog, ends[1])
    }

    private static func runCapturing(_ path: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "\(path) exited with \(process.terminationStatus)"])
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Runs `body` with a fresh registry server on 127.0.0.1, stopped (and its storage
/// removed) when `body` returns or throws.
/// - Parameters:
///   - basicAuth: user and password for htpasswd basic auth; anonymous when nil.
///   - tokenServer: a token server for distribution token auth, used instead of `basicAuth`.
///   - tls: serve HTTPS with this certificate and key; plain HTTP when nil.
///   - isolation: the caller's isolation, inherited by `body`.
///   - body: receives the registry.
/// - Returns: what `body` returns.
/// - Throws: what starting the server or `body` throws.
public func withLocalRegistry<R>(
    basicAuth: (username: String, password: String)? = nil,
    tokenServer: LocalTokenServer? = nil,
    tls: (certificate: String, key: String)? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (LocalRegistry) async throws -> sending R
) async throws -> sending R {
    let registry = try await LocalRegistry.start(basicAuth: basicAuth, tokenServer: tokenServer, tls: tls)
    defer { registry.stop() }
    return try await body(registry)
}
