import _CSandbox
import CSeccomp
import Foundation
import OCISpec
import Sandbox
import TestSupport
import Testing

@Suite("Seccomp notify", .serialized, .timeLimit(.minutes(2)))
struct SeccompNotifyTests {
    @Test("SCMP_ACT_NOTIFY: the listener fd reaches listenerPath with the process state, and the supervisor answers")
    func notify() async throws {
        try await withSandbox { env in
            let socketPath = env.directory + "/seccomp.sock"
            let listener = try UnixListener(path: socketPath)
            defer { listener.close() }
            // The supervisor: take the fd, answer one mkdir with EACCES, report what it saw.
            let supervisor = Task.detached { () -> (state: String, syscall: String, pid: UInt32) in
                let (fd, state) = try listener.acceptFD()
                defer { close(fd) }
                var request: UnsafeMutablePointer<seccomp_notif>?
                var response: UnsafeMutablePointer<seccomp_notif_resp>?
                guard seccomp_notify_alloc(&request, &response) == 0, let request, let response else { throw POSIXError(.ENOMEM) }
                defer { seccomp_notify_free(request, response) }
                guard seccomp_notify_receive(fd, request) == 0 else { throw POSIXError(.EIO) }
                let name = seccomp_syscall_resolve_num_arch(request.pointee.data.arch, request.pointee.data.nr).map { String(cString: $0) } ?? "?"
                response.pointee.id = request.pointee.id
                response.pointee.error = -EACCES
                response.pointee.val = 0
                response.pointee.flags = 0
                guard seccomp_notify_respond(fd, response) == 0 else { throw POSIXError(.EIO) }
                return (state, name, request.pointee.pid)
            }
            let r = try await env.sh("mkdir /tmp/x 2>&1; echo rc=$?") { spec in
                spec.linux?.seccomp = LinuxSeccomp(
                    defaultAction: .allow, architectures: [.x86_64, .x86, .aarch64], listenerPath: socketPath,
                    listenerMetadata: "caisson-test",
                    syscalls: [.init(names: ["mkdir", "mkdirat"], action: .notify)])
            }
            let seen = try await supervisor.value
            #expect(r.stdout.contains("Permission denied") && r.stdout.contains("rc=1"), "\(r.stdout)")
            #expect(seen.syscall.hasPrefix("mkdir"))
            #expect(seen.state.contains("\"fds\":[\"seccompFd\"]"))
            #expect(seen.state.contains("\"metadata\":\"caisson-test\""))
            #expect(seen.state.contains("\"id\":\"sh\""))
        }
    }
}

/// A listening unix socket that receives one fd with a JSON payload.
final class UnixListener: Sendable {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            let bytes = Array(path.utf8)
            for (i, byte) in bytes.enumerated() where i < buffer.count - 1 { buffer[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    /// Accepts one connection and returns the fd it carried and the bytes sent with it.
    func acceptFD() throws -> (Int32, String) {
        let connection = accept(fd, nil, nil)
        guard connection >= 0 else { throw POSIXError(.EBADF) }
        defer { Glibc.close(connection) }
        var message = csb_message()
        var received: Int32 = -1
        // The first bytes come with the fd; the rest of the JSON follows on the stream.
        let n = csb_recv_message(connection, &message, &received)
        guard n > 0, received >= 0 else { throw POSIXError(.EPROTO) }
        var bytes = withUnsafeBytes(of: &message) { Array($0.prefix(Int(n))) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let more = read(connection, &buffer, buffer.count)
            if more <= 0 { break }
            bytes += buffer[0..<more]
        }
        return (received, String(decoding: bytes, as: UTF8.self))
    }

    func close() { Glibc.close(fd) }
}
