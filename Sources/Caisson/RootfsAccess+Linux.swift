import Glibc
import _CImageStore

/// Reads and creates paths inside a container's root filesystem, resolving every path
/// with openat2 RESOLVE_IN_ROOT: a symlink in the image (`/etc/passwd -> /host/file`,
/// `workdir -> ../../..`) resolves inside the rootfs and never reaches the host
/// (SECURITY.md items 3 and 6).
enum RootfsAccess {
    /// O_PATH of <fcntl.h>, hidden from Swift's Glibc module (built without _GNU_SOURCE).
    private static let oPath: Int32 = 0o10_000_000

    /// The contents of a file of the rootfs, at most `limit` bytes.
    /// - Returns: the text, or `nil` if the file does not exist.
    /// - Throws: ``EngineError`` `system` naming the path if it exists but cannot be read.
    static func readFile(root: String, path: String, limit: Int = 1 << 20) throws -> String? {
        let rootFD = try openRoot(root)
        defer { close(rootFD) }
        let fd = cis_openat2(rootFD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0, cis_RESOLVE_IN_ROOT | cis_RESOLVE_NO_MAGICLINKS)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw EngineError(.system, "opening \(path) in \(root): \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw EngineError(.system, "\(path) in \(root) is not a regular file")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while bytes.count < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw EngineError(.system, "reading \(path) in \(root): \(String(cString: strerror(errno)))")
            }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes.prefix(limit), as: UTF8.self)
    }

    /// Creates a directory and its missing parents inside the rootfs (mode 0755, owned by
    /// root), as Docker does for a `WorkingDir` that the image lacks.
    /// - Throws: ``EngineError`` `system` naming the component that could not be created.
    static func makeDirectories(root: String, path: String) throws {
        let rootFD = try openRoot(root)
        defer { close(rootFD) }
        var current = ""
        for component in path.split(separator: "/") where component != "." {
            let parent = current.isEmpty ? "/" : current
            current += "/" + component
            let existing = cis_openat2(rootFD, current, oPath | O_DIRECTORY | O_CLOEXEC, 0, cis_RESOLVE_IN_ROOT)
            if existing >= 0 {
                close(existing)
                continue
            }
            guard errno == ENOENT else {
                throw EngineError(.system, "working directory \(path): \(current) in \(root): \(String(cString: strerror(errno)))")
            }
            let parentFD = cis_openat2(rootFD, parent, oPath | O_DIRECTORY | O_CLOEXEC, 0, cis_RESOLVE_IN_ROOT)
            guard parentFD >= 0 else {
                throw EngineError(.system, "working directory \(path): \(parent) in \(root): \(String(cString: strerror(errno)))")
            }
            defer { close(parentFD) }
            if mkdirat(parentFD, String(component), 0o755) != 0 && errno != EEXIST {
                throw EngineError(.system, "working directory \(path): creating \(current) in \(root): \(String(cString: strerror(errno)))")
            }
        }
    }

    private static func openRoot(_ root: String) throws -> Int32 {
        let fd = open(root, oPath | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError(.system, "opening rootfs \(root): \(String(cString: strerror(errno)))") }
        return fd
    }
}
