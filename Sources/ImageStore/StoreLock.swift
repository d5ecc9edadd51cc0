import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An advisory `flock(2)` lock on a file, shared between processes that use one store.
///
/// The lock is held from ``acquire(_:mode:wait:)`` until ``release()``; closing the fd
/// (also at process death, e.g. kill -9) releases it, so a crashed process never leaves
/// the store locked.
final class StoreLock: Sendable {
    /// Shared (readers, ingests, unpacks) or exclusive (garbage collection, index writes).
    enum Mode: Sendable {
        case shared, exclusive
    }

    let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    /// Opens (creating) the lock file and locks it.
    /// - Parameters:
    ///   - path: the lock file.
    ///   - mode: shared or exclusive.
    ///   - wait: block until the lock is free; otherwise fail at once.
    /// - Returns: the held lock, or nil when `wait` is false and another holder conflicts.
    /// - Throws: ``ImageStoreError`` `io` if the file cannot be opened or locked.
    static func acquire(_ path: String, mode: Mode, wait: Bool = true) throws -> StoreLock? {
        while true {
            let fd = try Sys.open(path, O_RDWR | O_CREAT, 0o644)
            let operation = (mode == .shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)
            while flock(fd, operation) != 0 {
                let code = errno
                if code == EINTR { continue }
                Sys.close(fd)
                if code == EWOULDBLOCK { return nil }
                throw Sys.error("flock \(path)", code)
            }
            // The holder before us may have unlinked the file (``unlinkAndRelease()``):
            // then we hold a lock on a dead inode and must start again.
            let held = try Sys.fstat(fd, path)
            if let current = Sys.lstat(path), current.st_ino == held.st_ino, current.st_dev == held.st_dev {
                return StoreLock(path: path, fd: fd)
            }
            Sys.close(fd)
        }
    }

    /// Removes the lock file, then releases the lock. Waiters notice the unlink and retry
    /// on a fresh file.
    func unlinkAndRelease() {
        _ = unlink(path)
        release()
    }

    /// Releases the lock and closes its fd.
    func release() {
        _ = flock(fd, LOCK_UN)
        Sys.close(fd)
    }

    /// Runs `body` holding the lock at `path`.
    static func with<R>(_ path: String, mode: Mode, _ body: () throws -> R) throws -> R {
        guard let lock = try acquire(path, mode: mode) else {
            throw ImageStoreError(.locked, "lock \(path) is held by another process")
        }
        defer { lock.release() }
        return try body()
    }
}
