import Glibc
import _CNetwork

/// Named network namespaces: a namespace kept alive by a bind mount on a file, as
/// `ip netns add` and podman do, so a container can join it by path and a later process
/// can find and remove it.
enum NetworkNamespace {
    /// Creates a namespace bound on `path` (the file must not exist) with loopback up.
    static func create(at path: String) throws(NetworkError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw NetworkError(.system, "create namespace file \(path)", errno: errno) }
        close(fd)
        let rc = cnet_netns_create(path)
        guard rc >= 0 else {
            unlink(path)
            throw .system("create network namespace on \(path)", rc)
        }
        do {
            try withDescriptor(path) { (nsfd: Int32) throws(NetworkError) in
                let socket = try RouteSocket(namespaceFD: nsfd, owner: "namespace \(path)")
                try socket.setUp(try socket.requireIndex(of: "lo"), name: "lo")
            }
        } catch {
            _ = try? remove(at: path)
            throw error
        }
    }

    /// Opens the namespace file for the duration of `body`.
    static func withDescriptor<R>(_ path: String, _ body: (Int32) throws(NetworkError) -> R) throws(NetworkError) -> R {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetworkError(.system, "open network namespace \(path)", errno: errno) }
        defer { close(fd) }
        return try body(fd)
    }

    /// True when `path` is a mounted namespace (an nsfs file), not a plain file.
    static func isMounted(_ path: String) -> Bool {
        cnet_is_namespace_file(path) == 1
    }

    /// Unmounts (lazily: a container may still be inside) and removes the namespace file.
    /// - Returns: true if anything was there.
    @discardableResult
    static func remove(at path: String) throws(NetworkError) -> Bool {
        var found = false
        if isMounted(path) {
            found = true
            guard umount2(path, Int32(MNT_DETACH)) == 0 || errno == EINVAL else {
                throw NetworkError(.system, "unmount network namespace \(path)", errno: errno)
            }
        }
        if unlink(path) == 0 { return true }
        guard errno == ENOENT else { throw NetworkError(.system, "remove \(path)", errno: errno) }
        return found
    }

    /// Writes a /proc/sys value as seen from the namespace of `fd` (nil: the caller's).
    static func writeSysctl(_ path: String, _ value: String, namespaceFD: Int32? = nil) throws(NetworkError) {
        let rc = cnet_sysctl_write(namespaceFD ?? -1, path, value)
        guard rc >= 0 else { throw .system("write \(value) to \(path)", rc) }
    }
}
