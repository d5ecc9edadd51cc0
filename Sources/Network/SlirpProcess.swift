import Foundation
import Glibc
import _CNetwork

/// The slirp4netns process of one container: started against the container's init
/// process, asked through its API socket to forward ports, and stopped.
///
/// It runs as the caller (the user who owns the container's user namespace, for a
/// rootless container), in a session of its own, so it outlives the calling process as
/// the container does. Its `--exit-fd` is a pidfd of the container's init: slirp4netns
/// polls it for a hang-up, which the kernel reports once that process is gone, so it
/// ends with the container even when nobody detaches it.
enum SlirpProcess {
    /// How long slirp4netns may take to configure tap0 and open its API socket.
    static let readyTimeout: Int32 = 10_000
    /// How long it may take to exit after SIGTERM before it is killed.
    static let stopTimeout: Int32 = 5_000
    /// The tap device inside the container.
    static let tapDevice = "tap0"

    /// The slirp4netns executable on `PATH` (or the usual directories).
    /// - Throws: `notFound` naming the package to install.
    static func executable() throws(NetworkError) -> String {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/bin"]
        for directory in directories where directory.hasPrefix("/") {
            let candidate = directory + "/slirp4netns"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw NetworkError(.notFound, "slirp4netns is not installed (looked in \(directories.joined(separator: ":")); Debian package slirp4netns)")
    }

    /// The command line for `options`, serving the container process `containerPID`.
    /// - Parameter byDescriptor: the namespaces come as descriptors 5 (network) and 6 (its
    ///   user namespace) rather than through /proc/<containerPID>/ns.
    static func arguments(_ executable: String, options: SlirpOptions, containerPID: Int32, apiSocket: String,
                          byDescriptor: Bool = false) -> [String] {
        var arguments = [executable, "--configure", "--mtu=\(options.mtu)", "--cidr=\(options.cidr)",
                         "--exit-fd=3", "--ready-fd=4", "--api-socket=\(apiSocket)"]
        if !options.allowHostLoopback { arguments.append("--disable-host-loopback") }
        if options.enableIPv6 { arguments.append("--enable-ipv6") }
        if let address = options.outboundAddress { arguments.append("--outbound-addr=\(address)") }
        if options.sandbox {
            // slirp4netns 1.2's sandbox (a mount namespace of its own) needs it inside the
            // container's user namespace when it is not root, which it enters for a PID
            // target only: given paths it fails ("setegid(0)"). Its seccomp filter still applies.
            arguments += byDescriptor && geteuid() != 0 ? ["--enable-seccomp"] : ["--enable-sandbox", "--enable-seccomp"]
        }
        if byDescriptor {
            return arguments + ["--netns-type=path", "--userns-path=/proc/self/fd/6", "/proc/self/fd/5", tapDevice]
        }
        return arguments + ["\(containerPID)", tapDevice]
    }

    /// Starts slirp4netns for `containerPID` and waits until tap0 is configured and the
    /// API socket listens.
    ///
    /// With `networkNamespace` (an fd of the container's network namespace), slirp4netns
    /// gets that namespace and its owning user namespace as descriptors instead of opening
    /// /proc/<containerPID>/ns, which a non-root caller may not do before the container's
    /// process execs.
    /// - Returns: its pid and start time.
    /// - Throws: `notFound` when the container process is gone, `system` when slirp4netns
    ///   fails (its messages are included) or is not ready within ``readyTimeout``; it
    ///   is stopped then.
    static func start(options: SlirpOptions, containerPID: Int32, networkNamespace: Int32? = nil, apiSocket: String,
                      logFile: String, owner: String) throws(NetworkError) -> (pid: Int32, startTime: UInt64) {
        // sockaddr_un holds 108 bytes with the NUL: slirp4netns would fail less clearly.
        guard apiSocket.utf8.count < 108 else {
            throw NetworkError(.invalidArgument, "\(owner): API socket path \(apiSocket) is longer than 107 bytes; use a shorter run root")
        }
        let executable = try executable()
        // slirp4netns opens /proc/PID/ns/{user,net}: the kernel allows that to a non-root
        // caller only when the process is dumpable, which a runtime's init is not
        // between clone and its execve (the Sandbox's guard against CVE-2019-5736).
        var namespaces: [Int32] = []
        defer { if namespaces.count == 2 { close(namespaces[1]) } }
        if let networkNamespace {
            let userNamespace = cnet_owning_user_namespace(networkNamespace)
            guard userNamespace >= 0 else {
                throw NetworkError(.system, "\(owner): finding the user namespace of its network namespace", errno: -userNamespace)
            }
            namespaces = [networkNamespace, userNamespace]
        } else if case let probe = open("/proc/\(containerPID)/ns/net", O_RDONLY | O_CLOEXEC), probe >= 0 {
            close(probe)
        } else if errno == EACCES || errno == EPERM {
            throw NetworkError(.system, "\(owner): slirp4netns, run as uid \(geteuid()), may not join the namespaces of process "
                + "\(containerPID) (not dumpable before it runs the container's program); as a non-root user, connect after start", errno: errno)
        }
        let containerFD = cnet_pidfd_open(containerPID)
        guard containerFD >= 0 else {
            throw NetworkError(.notFound, "\(owner): container process \(containerPID) is gone", errno: -containerFD)
        }
        defer { close(containerFD) }
        // A socket pair rather than a pipe: it is created close-on-exec in one call (no
        // other thread's spawn inherits it), which Glibc's module offers no pipe2 for.
        var ready: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ready) == 0 else {
            throw NetworkError(.system, "\(owner): create slirp4netns ready socket pair", errno: errno)
        }
        defer { close(ready[0]) }
        var writeEnd = ready[1]
        defer { if writeEnd >= 0 { close(writeEnd) } }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw NetworkError(.system, "\(owner): open /dev/null", errno: errno) }
        defer { close(null) }
        unlink(apiSocket)
        let log = open(logFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard log >= 0 else { throw NetworkError(.system, "\(owner): create \(logFile)", errno: errno) }
        defer { close(log) }

        let argv = arguments(executable, options: options, containerPID: containerPID, apiSocket: apiSocket,
                             byDescriptor: !namespaces.isEmpty).map { strdup($0) } + [nil]
        let environment: [String] = ["PATH=/usr/local/bin:/usr/bin:/bin"]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let fds: [Int32] = [null, null, log, containerFD, writeEnd] + namespaces
        let pid = cnet_spawn_session(executable, argv, envp, fds, Int32(fds.count))
        guard pid > 0 else { throw .system("\(owner): start \(executable)", pid) }
        close(writeEnd)
        writeEnd = -1

        // Ready is "1" on the pipe; an exit (or a closed pipe without it) is a failure.
        var entry = pollfd(fd: ready[0], events: Int16(POLLIN), revents: 0)
        var polled: Int32
        repeat { polled = poll(&entry, 1, readyTimeout) } while polled < 0 && errno == EINTR
        var byte: UInt8 = 0
        let got = polled > 0 ? read(ready[0], &byte, 1) : 0
        guard got == 1, byte == UInt8(ascii: "1") else {
            let why = polled == 0 ? "was not ready in \(readyTimeout / 1000) s" : "failed"
            _ = try? stop(pid: pid, startTime: nil)
            let messages = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            let lines = messages.split(separator: "\n").suffix(5).joined(separator: "; ")
            throw NetworkError(.system, "\(owner): slirp4netns for process \(containerPID) \(why)" + (lines.isEmpty ? "" : ": \(lines)"))
        }
        guard let startTime = startTime(of: pid) else {
            throw NetworkError(.system, "\(owner): slirp4netns (pid \(pid)) exited right after it was ready")
        }
        return (pid, startTime)
    }

    /// Stops slirp4netns: SIGTERM, then SIGKILL after ``stopTimeout``, and reaps it when
    /// it is this process's child. Nothing happens when `pid` is gone or (with
    /// `startTime`) is another process now.
    /// - Returns: whether a process was stopped.
    @discardableResult
    static func stop(pid: Int32, startTime: UInt64?) throws(NetworkError) -> Bool {
        let pidfd = cnet_pidfd_open(pid)
        guard pidfd >= 0 else {
            if pidfd == -ESRCH { return false }
            throw NetworkError.system("slirp4netns pid \(pid): pidfd_open", pidfd)
        }
        defer { close(pidfd) }
        // Checked after the pidfd is open: from here the pid cannot be reused under us.
        if let startTime, Self.startTime(of: pid) != startTime { return false }
        var stopped = false
        for signal in [SIGTERM, SIGKILL] {
            let rc = cnet_pidfd_send_signal(pidfd, signal)
            if rc == -ESRCH { break }
            guard rc == 0 else { throw NetworkError.system("slirp4netns pid \(pid): send signal \(signal)", rc) }
            var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            var polled: Int32
            repeat { polled = poll(&entry, 1, stopTimeout) } while polled < 0 && errno == EINTR
            if polled > 0 {
                stopped = true
                break
            }
        }
        // A child of this process is reaped; another's (a crashed owner's, now init's) is not ours to reap.
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return stopped
    }

    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or nil when the process is gone.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces), from field 3 on.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// slirp4netns processes whose API socket lies in `directory`: pid, start time, socket path.
    static func processes(withSocketIn directory: String) -> [(pid: Int32, startTime: UInt64, apiSocket: String)] {
        var found: [(Int32, UInt64, String)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { continue }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard let command = arguments.first, command.hasSuffix("/slirp4netns") || command == "slirp4netns" else { continue }
            for argument in arguments where argument.hasPrefix("--api-socket=") {
                let socket = String(argument.dropFirst("--api-socket=".count))
                if socket.hasPrefix(directory + "/"), let started = startTime(of: pid) { found.append((pid, started, socket)) }
            }
        }
        return found
    }

    // MARK: API socket

    /// Sends one request to the API socket and returns its `return` object.
    /// - Throws: `system` when the socket cannot be used or slirp4netns answers with an
    ///   `error` (its description is included).
    static func request(_ socketPath: String, _ command: [String: Any], owner: String) throws(NetworkError) -> [String: Any] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NetworkError(.system, "\(owner): socket for \(socketPath)", errno: errno) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw NetworkError(.invalidArgument, "\(owner): API socket path \(socketPath) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw NetworkError(.system, "\(owner): connect to slirp4netns API socket \(socketPath)", errno: errno) }
        let body: Data
        do { body = try JSONSerialization.data(withJSONObject: command) } catch {
            throw NetworkError(.invalidArgument, "\(owner): encode slirp4netns request: \(error)")
        }
        // One request per connection, ended by a half-close (slirp4netns reads to EOF).
        let sent = body.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == body.count, shutdown(fd, Int32(SHUT_WR)) == 0 else {
            throw NetworkError(.system, "\(owner): send to slirp4netns API socket \(socketPath)", errno: errno)
        }
        var reply = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                throw NetworkError(.system, "\(owner): read from slirp4netns API socket \(socketPath)", errno: errno)
            }
            if n == 0 { break }
            reply.append(contentsOf: buffer[0..<n])
        }
        guard let object = (try? JSONSerialization.jsonObject(with: reply)) as? [String: Any] else {
            throw NetworkError(.system, "\(owner): slirp4netns answered \(String(decoding: reply, as: UTF8.self).debugDescription)")
        }
        if let error = object["error"] {
            let description = (error as? [String: Any])?["desc"].map { "\($0)" } ?? "\(error)"
            throw NetworkError(.system, "\(owner): slirp4netns refused \(command["execute"] ?? "the request"): \(description)")
        }
        return object["return"] as? [String: Any] ?? [:]
    }

    /// Forwards `port` from the host to the container's address.
    /// - Returns: the forwarding's id in slirp4netns.
    /// - Throws: `portInUse` when the host port is taken (slirp4netns cannot bind it),
    ///   `invalidArgument` for IPv6 host addresses (slirp4netns forwards IPv4 only).
    static func forward(_ port: PortMapping, to guest: IPAddress, apiSocket: String, owner: String) throws(NetworkError) -> Int {
        if let hostIP = port.hostIP, hostIP.isIPv6 {
            throw NetworkError(.invalidArgument, "\(owner): port \(port): slirp4netns forwards IPv4 host addresses only")
        }
        let hostAddress = port.hostIP?.description ?? "0.0.0.0"
        let command: [String: Any] = [
            "execute": "add_hostfwd",
            "arguments": ["proto": port.transport.rawValue, "host_addr": hostAddress, "host_port": Int(port.hostPort),
                          "guest_addr": guest.description, "guest_port": Int(port.containerPort)] as [String: Any],
        ]
        do throws(NetworkError) {
            let answer = try request(apiSocket, command, owner: owner)
            guard let id = answer["id"] as? Int else {
                throw NetworkError(.system, "\(owner): slirp4netns gave no id for port \(port)")
            }
            return id
        } catch {
            // slirp4netns says only "add_hostfwd failed"; binding the port here tells why.
            if let reason = bindProbe(port, address: hostAddress) {
                throw NetworkError(reason == EADDRINUSE ? .portInUse : .system,
                                   "\(owner): host port \(hostAddress):\(port.hostPort)/\(port.transport.rawValue) cannot be published",
                                   errno: reason)
            }
            throw error
        }
    }

    /// The errno of binding `port` on `address` here, or nil when it binds.
    private static func bindProbe(_ port: PortMapping, address: String) -> Int32? {
        let type = port.transport == .tcp ? SOCK_STREAM : SOCK_DGRAM
        let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.hostPort.bigEndian
        guard inet_pton(AF_INET, address, &sa.sin_addr) == 1 else { return EINVAL }
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0 ? nil : errno
    }
}
