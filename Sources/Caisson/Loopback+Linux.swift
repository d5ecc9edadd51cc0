import Foundation
import Glibc

/// Brings up the loopback interface of a container's new network namespace, as runc does
/// for a new netns: a namespace is born with `lo` down, and "no network" should still
/// let a program talk to itself on 127.0.0.1.
enum Loopback {
    // <linux/sockios.h>; not all of them reach Swift's Glibc module as constants.
    private static let getFlags: UInt = 0x8913  // SIOCGIFFLAGS
    private static let setFlags: UInt = 0x8914  // SIOCSIFFLAGS

    /// Sets `lo` up in the network namespace of process `pid`.
    ///
    /// setns moves only the calling thread, so this runs on a thread of its own that ends
    /// right after: no thread of the cooperative pool ever changes namespace.
    /// - Throws: ``EngineError`` `system` naming the step and errno.
    static func bringUp(inNetworkNamespaceOf pid: Int32) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                do {
                    try bringUpOnThisThread(pid: pid)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "caisson-loopback"
            thread.start()
        }
    }

    private static func bringUpOnThisThread(pid: Int32) throws {
        let path = "/proc/\(pid)/ns/net"
        let nsFD = open(path, O_RDONLY | O_CLOEXEC)
        guard nsFD >= 0 else { throw failure("opening \(path)") }
        defer { close(nsFD) }
        guard let setns = Self.setns else { throw EngineError(.system, "loopback: this libc has no setns(2)") }
        guard setns(nsFD, 0x4000_0000) == 0 else { throw failure("joining \(path)") }  // CLONE_NEWNET
        let socketFD = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else { throw failure("socket in \(path)") }
        defer { close(socketFD) }
        var request = ifreq()
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { name in
            for (index, byte) in "lo".utf8.enumerated() { name[index] = byte }
        }
        guard ioctl(socketFD, getFlags, &request) == 0 else { throw failure("SIOCGIFFLAGS lo in \(path)") }
        request.ifr_ifru.ifru_flags |= 0x1 | 0x40  // IFF_UP | IFF_RUNNING
        guard ioctl(socketFD, setFlags, &request) == 0 else { throw failure("SIOCSIFFLAGS lo up in \(path)") }
    }

    /// glibc's setns(2). Swift's Glibc module is built without _GNU_SOURCE, which hides
    /// the declaration; the symbol itself has been exported since glibc 2.14.
    private static let setns: (@convention(c) (Int32, Int32) -> Int32)? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "setns") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()

    private static func failure(_ step: String) -> EngineError {
        let code = errno
        return EngineError(.system, "loopback: \(step) failed: \(String(cString: strerror(code))) (errno \(code))")
    }
}
