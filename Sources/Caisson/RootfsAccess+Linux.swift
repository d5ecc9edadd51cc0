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

    /// The contents of a file of an overlay that is not mounted on the host (a rootless
    /// container's rootfs, which its own user namespace mounts), as the mounted overlay
    /// would show it: each path component is looked up in the layers top first, where a
    /// whiteout or a non-directory hides what lies below and an opaque directory hides the
    /// layers below it; symlinks are followed in that merged view, never out of it (every
    /// open is beneath its layer and follows no link itself).
    /// - Parameters:
    ///   - layers: the upper directory, then the lower ones, top first.
    ///   - path: the file's absolute path in the container.
    ///   - limit: the most bytes read.
    /// - Returns: the text, or `nil` if the merged view has no file there.
    /// - Throws: ``EngineError`` `system` naming the layer and path that cannot be read.
    static func readFile(layers: [String], path: String, limit: Int = 1 << 20) throws -> String? {
        let roots = try layers.map(openRoot)
        defer { roots.forEach { close($0) } }
        var resolved: [Substring] = []  // the path so far, free of links in the merged view
        var pending = Array(path.split(separator: "/").reversed())
        var links = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                _ = resolved.popLast()
                continue
            }
            let parent = "/" + resolved.joined(separator: "/")
            let candidate = "/" + (resolved + [component]).joined(separator: "/")
            guard let (layer, st) = try lookUp(candidate, parent: parent, in: roots, layers: layers) else { return nil }
            if st.st_mode & S_IFMT == S_IFLNK {
                links += 1
                guard links <= 40 else { throw EngineError(.system, "\(path) in the image: too many levels of symbolic links") }
                let target = try readLink(String(component), in: parent, root: roots[layer], layer: layers[layer])
                if target.hasPrefix("/") { resolved = [] }
                pending += target.split(separator: "/").reversed()
                continue
            }
            resolved.append(component)
            if pending.isEmpty {
                guard st.st_mode & S_IFMT == S_IFREG else { throw EngineError(.system, "\(path) in the image is not a regular file") }
                return try readFile(root: layers[layer], path: candidate, limit: limit)
            }
        }
        return nil
    }

    /// Where `path` (in `parent`, which is free of links) lives in the merged view: the
    /// index of the topmost layer holding it and its lstat, or nil if none does.
    private static func lookUp(_ path: String, parent: String, in roots: [Int32], layers: [String]) throws -> (Int, stat)? {
        for (index, root) in roots.enumerated() {
            let fd = cis_openat2(root, beneath(path), oPath | O_NOFOLLOW | O_CLOEXEC, 0,
                                 cis_RESOLVE_BENEATH | cis_RESOLVE_NO_SYMLINKS | cis_RESOLVE_NO_MAGICLINKS)
            if fd >= 0 {
                defer { close(fd) }
                var st = stat()
                guard fstat(fd, &st) == 0 else {
                    throw EngineError(.system, "\(path) in \(layers[index]): \(String(cString: strerror(errno)))")
                }
                if st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0 { return nil }  // a whiteout
                return (index, st)
            }
            switch errno {
            case ENOENT:
                // Not in this layer; an opaque parent here hides the layers below.
                if parent != "/" && isOpaque(root: root, directory: parent) { return nil }
            case ENOTDIR, ELOOP:
                return nil  // a parent here is a file, a link or a whiteout: it hides the layers below
            default:
                throw EngineError(.system, "opening \(path) in \(layers[index]): \(String(cString: strerror(errno)))")
            }
        }
        return nil
    }

    /// The target of the symbolic link `name` in the directory `parent` of a layer.
    private static func readLink(_ name: String, in parent: String, root: Int32, layer: String) throws -> String {
        let directory = cis_openat2(root, beneath(parent), oPath | O_DIRECTORY | O_CLOEXEC, 0,
                                    cis_RESOLVE_BENEATH | cis_RESOLVE_NO_SYMLINKS | cis_RESOLVE_NO_MAGICLINKS)
        guard directory >= 0 else { throw EngineError(.system, "opening \(parent) in \(layer): \(String(cString: strerror(errno)))") }
        defer { close(directory) }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlinkat(directory, name, &buffer, buffer.count - 1)
        guard n >= 0 else { throw EngineError(.system, "reading the link \(name) in \(parent) of \(layer): \(String(cString: strerror(errno)))") }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `path` relative to a layer's root, as RESOLVE_BENEATH takes it (an absolute path
    /// would be refused with EXDEV).
    private static func beneath(_ path: String) -> String {
        let relative = path.drop { $0 == "/" }
        return relative.isEmpty ? "." : String(relative)
    }

    /// Whether a directory of a layer is an opaque overlay directory (it hides what lower
    /// layers have beneath it): `trusted.overlay.opaque` as root unpacks it,
    /// `user.overlay.opaque` as an unprivileged user does.
    private static func isOpaque(root: Int32, directory: String) -> Bool {
        let fd = cis_openat2(root, beneath(directory), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                             cis_RESOLVE_BENEATH | cis_RESOLVE_NO_SYMLINKS | cis_RESOLVE_NO_MAGICLINKS)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        for name in ["trusted.overlay.opaque", "user.overlay.opaque"] {
            var value: UInt8 = 0
            if cis_fgetxattr(fd, name, &value, 1) == 1 && value == UInt8(ascii: "y") { return true }
        }
        return false
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
