import Glibc
import Synchronization
import SystemPackage

/// Runs a libc call that returns -1 and sets errno, retrying EINTR.
/// - Returns: the call's non-negative result.
/// - Throws: `Errno` on failure.
@discardableResult
func retryingEINTR<T: FixedWidthInteger>(_ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let error = Errno(rawValue: Glibc.errno)
        if error != .interrupted { throw error }
    }
}

/// Runs a C-core call that returns -errno on failure.
/// - Returns: the call's non-negative result.
/// - Throws: `Errno` on failure.
@discardableResult
func negErrno<T: FixedWidthInteger & SignedInteger>(_ result: T) throws(Errno) -> T {
    if result < 0 { throw Errno(rawValue: Int32(truncatingIfNeeded: 0 - result)) }
    return result
}

/// Writes a whole string to a file (procfs/cgroupfs style: one write, no create).
func writeFile(_ path: String, _ contents: String) throws(Errno) {
    let fd = try retryingEINTR { open(path, O_WRONLY | O_CLOEXEC) }
    defer { close(fd) }
    try writeWhole(fd, contents)
}

/// One write(2) of a whole string to an open procfs/cgroupfs file; a short write is EIO.
func writeWhole(_ fd: Int32, _ contents: String) throws(Errno) {
    let bytes = Array(contents.utf8)
    let written = bytes.withUnsafeBytes { buffer in
        var n: Int
        repeat { n = write(fd, buffer.baseAddress, buffer.count) } while n < 0 && Glibc.errno == EINTR
        return n
    }
    if written < 0 { throw Errno(rawValue: Glibc.errno) }
    if written != bytes.count { throw Errno.ioError }
}

/// Reads a small file (procfs, cgroupfs, state files) whole: a 4 KiB first read (most of
/// these files are a line or two), doubling while the file goes on.
func readFile(_ path: String) throws(Errno) -> [UInt8] {
    let fd = try retryingEINTR { open(path, O_RDONLY | O_CLOEXEC) }
    defer { close(fd) }
    return try readAll(fd)
}

/// Reads an open file from its current offset to the end.
func readAll(_ fd: Int32) throws(Errno) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = 4096
    while true {
        var failure: Int32 = 0
        let piece = [UInt8](unsafeUninitializedCapacity: chunk) { buffer, count in
            var n: Int
            repeat { n = read(fd, buffer.baseAddress, buffer.count) } while n < 0 && Glibc.errno == EINTR
            if n < 0 { failure = Glibc.errno }
            count = max(n, 0)
        }
        if failure != 0 { throw Errno(rawValue: failure) }
        if piece.isEmpty { return out }
        if out.isEmpty { out = piece } else { out += piece }
        chunk = min(chunk * 2, 1 << 20)
    }
}

/// Whether a path exists (without following a final symlink).
func pathExists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}

/// Writes all of `data` at the file's current offset, however many write(2) calls it takes.
func writeAll(_ fd: Int32, _ data: [UInt8]) throws(Errno) {
    var offset = 0
    while offset < data.count {
        let n = data.withUnsafeBytes { buffer in write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
        if n < 0 {
            if Glibc.errno == EINTR { continue }
            throw Errno(rawValue: Glibc.errno)
        }
        offset += n
    }
}

private let atomicWriteCounter = Atomic<Int>(0)

/// Writes `data` to `path` atomically: a temporary file in the same directory, then
/// rename. Readers see the old or the new contents, never a torn file. `durable` adds an
/// fsync before the rename; container state does without it (it lives on /run, and it
/// describes processes that do not survive a crash anyway).
/// The temporary name is unique per call (pid and a counter), so threads of one process
/// may write the same path at once.
func writeFileAtomically(_ path: String, _ data: [UInt8], mode: mode_t = 0o644, durable: Bool = false) throws(Errno) {
    let temporary = path + ".tmp-\(getpid())-\(atomicWriteCounter.add(1, ordering: .relaxed).newValue)"
    let fd = try retryingEINTR { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
    do throws(Errno) {
        try writeAll(fd, data)
        if durable { try retryingEINTR { fsync(fd) } }
        close(fd)
        try retryingEINTR { rename(temporary, path) }
    } catch {
        close(fd)
        unlink(temporary)
        throw error
    }
}

/// stat(2) of a path, following symlinks; nil with errno set if it fails.
func fileStatus(_ path: String) -> stat? {
    var st = stat()
    return fstatat(AT_FDCWD, path, &st, 0) == 0 ? st : nil
}
