import Foundation
import _CImageStore

#if canImport(Glibc)
import Glibc
#endif

/// Thin, throwing wrappers over the Linux system calls the store uses. Every failure is an
/// ``ImageStoreError`` with code `io` naming the operation and path, with the errno as
/// `underlying`. EINTR is retried.
enum Sys {
    static let fileTypeMask: UInt32 = 0o170000
    static let typeRegular: UInt32 = 0o100000
    static let typeDirectory: UInt32 = 0o040000
    static let typeSymlink: UInt32 = 0o120000
    static let typeCharacter: UInt32 = 0o020000
    static let typeBlock: UInt32 = 0o060000
    static let typeFIFO: UInt32 = 0o010000
    static let typeSocket: UInt32 = 0o140000

    /// The current errno as a POSIXError.
    static func posix(_ code: Int32 = errno) -> POSIXError {
        POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
    }

    /// An `io` error naming `what`, carrying errno.
    static func error(_ what: String, _ code: Int32 = errno) -> ImageStoreError {
        ImageStoreError(.io, what, underlying: posix(code))
    }

    /// Retries `body` while it fails with EINTR; returns its result or throws naming `what`.
    @discardableResult
    static func retry<T: BinaryInteger>(_ what: @autoclosure () -> String, _ body: () -> T) throws -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw error(what(), code)
        }
    }

    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32 {
        try retry("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    static func openAt(_ dirfd: Int32, _ name: String, _ flags: Int32, _ mode: mode_t = 0o644, describe: String) throws -> Int32 {
        try retry("open \(describe)") { Glibc.openat(dirfd, name, flags | O_CLOEXEC, mode) }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    static func fstat(_ fd: Int32, _ what: String) throws -> stat {
        var st = stat()
        try retry("stat \(what)") { Glibc.fstat(fd, &st) }
        return st
    }

    /// lstat-like fstatat; returns nil when the entry does not exist.
    static func lstatAt(_ dirfd: Int32, _ name: String, _ what: String) throws -> stat? {
        var st = stat()
        if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        if errno == ENOENT { return nil }
        throw error("stat \(what)")
    }

    static func lstat(_ path: String) -> stat? {
        var st = stat()
        return Glibc.lstat(path, &st) == 0 ? st : nil
    }

    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, _ what: String) throws {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write \(what)")
            }
            offset += n
        }
    }

    static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at position: Int64, _ what: String) throws {
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.pwrite(fd, buffer.baseAddress! + offset, buffer.count - offset, off_t(position) + off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw error("write \(what)")
            }
            offset += n
        }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, _ what: String) throws -> Int {
        try retry("read \(what)") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    static func fsync(_ fd: Int32, _ what: String) throws {
        try retry("fsync \(what)") { Glibc.fsync(fd) }
    }

    /// fsyncs a directory by path (makes a rename in it durable).
    static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path)
    }

    static func rename(_ from: String, _ to: String) throws {
        try retry("rename \(from) to \(to)") { Glibc.rename(from, to) }
    }

    static func mkdir(_ path: String, _ mode: mode_t = 0o755) throws {
        if Glibc.mkdir(path, mode) == 0 || errno == EEXIST { return }
        throw error("mkdir \(path)")
    }

    static func mkdirs(_ path: String, _ mode: mode_t = 0o755) throws {
        if Glibc.mkdir(path, mode) == 0 || errno == EEXIST { return }
        if errno == ENOENT {
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty && parent != path {
                try mkdirs(parent, mode)
                try mkdir(path, mode)
                return
            }
        }
        throw error("mkdir \(path)")
    }

    /// Reads a whole file.
    static func readFile(_ path: String) throws -> Data {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try read(fd, $0, path) }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }

    /// Writes `data` to `path` crash-safely: a new file in the same directory, fsync,
    /// rename over `path`, fsync of the directory. Readers see the old or the new file,
    /// never a torn one. With `durable` false the fsyncs are skipped: still never torn for
    /// readers or after a process crash, but a power loss may lose the write.
    static func writeFileAtomically(_ path: String, _ data: Data, mode: mode_t = 0o644, durable: Bool = true) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(directory)/.\((path as NSString).lastPathComponent).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        do {
            try data.withUnsafeBytes { try writeAll(fd, $0, temporary) }
            _ = fchmod(fd, mode)
            if durable { try fsync(fd, temporary) }
            close(fd)
            try rename(temporary, path)
            if durable { try fsyncDirectory(directory) }
        } catch {
            close(fd)
            _ = unlink(temporary)
            throw error
        }
    }

    /// Removes a file or directory tree without following symlinks. Missing is fine.
    static func removeTree(_ path: String) throws {
        guard let st = lstat(path) else { return }
        if st.st_mode & fileTypeMask == typeDirectory {
            let fd = try open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            defer { close(fd) }
            try removeChildren(of: fd, path)
            if Glibc.rmdir(path) != 0 && errno != ENOENT { throw error("rmdir \(path)") }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw error("unlink \(path)")
        }
    }

    /// Removes every entry inside the directory `dirfd`, recursively, without following
    /// symlinks.
    static func removeChildren(of dirfd: Int32, _ what: String, except keep: (String) -> Bool = { _ in false }) throws {
        for name in try listDirectory(dirfd, what) where !keep(name) {
            try removeEntry(at: dirfd, name, "\(what)/\(name)")
        }
    }

    /// Removes one entry (recursively if a directory) relative to `dirfd`.
    static func removeEntry(at dirfd: Int32, _ name: String, _ what: String) throws {
        if unlinkat(dirfd, name, 0) == 0 || errno == ENOENT { return }
        let code = errno
        guard code == EISDIR || code == EPERM else { throw error("unlink \(what)", code) }
        let child = try openAt(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describe: what)
        do {
            try removeChildren(of: child, what)
            close(child)
        } catch {
            close(child)
            throw error
        }
        if unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw error("rmdir \(what)") }
    }

    /// The names in a directory (without `.` and `..`), sorted. Does not consume `dirfd`.
    static func listDirectory(_ dirfd: Int32, _ what: String) throws -> [String] {
        let dup = try retry("dup \(what)") { fcntl(dirfd, F_DUPFD_CLOEXEC, 0) }
        guard let dir = fdopendir(dup) else {
            let code = errno
            close(dup)
            throw error("opendir \(what)", code)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw error("readdir \(what)") }
                break
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// The names in the directory at `path`, sorted; empty if it does not exist.
    static func listDirectory(_ path: String) throws -> [String] {
        let fd: Int32
        do {
            fd = try open(path, O_RDONLY | O_DIRECTORY)
        } catch let error as ImageStoreError {
            if (error.underlying as? POSIXError)?.code == .ENOENT { return [] }
            throw error
        }
        defer { close(fd) }
        return try listDirectory(fd, path)
    }

    /// Total bytes of regular files under `path` (not following symlinks).
    static func diskUsage(_ path: String) -> Int64 {
        guard let st = lstat(path) else { return 0 }
        if st.st_mode & fileTypeMask != typeDirectory { return Int64(st.st_size) }
        var total: Int64 = 0
        for name in (try? listDirectory(path)) ?? [] {
            total += diskUsage("\(path)/\(name)")
        }
        return total
    }

    /// Whether `path` is a mount point listed in /proc/self/mountinfo.
    static func isMountPoint(_ path: String) -> Bool {
        mountPoints(under: path).contains(path)
    }

    /// Mount points in /proc/self/mountinfo equal to or under `prefix`.
    static func mountPoints(under prefix: String) -> [String] {
        // Read with a plain read(2) loop: overlay lines with many lower dirs are longer
        // than a page, which Foundation's file reading mishandles on procfs.
        guard let data = try? readFile("/proc/self/mountinfo") else { return [] }
        let text = String(decoding: data, as: UTF8.self)
        var result: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count > 4 else { continue }
            let point = unescapeMountInfo(String(fields[4]))
            if point == prefix || point.hasPrefix(prefix + "/") { result.append(point) }
        }
        return result
    }

    private static func unescapeMountInfo(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.first {
            if byte == UInt8(ascii: "\\"), utf8.count >= 4,
                let value = UInt8(String(decoding: utf8.dropFirst().prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(4)
            } else {
                bytes.append(byte)
                utf8 = utf8.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
