import Foundation
import _CImageStore

#if canImport(Glibc)
import Glibc
#endif

/// Writes tar entries into a target directory without ever leaving it (SECURITY.md item 8).
///
/// Every path is resolved relative to a directory fd of the target with
/// `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)`,
/// and final components are created with `*at` calls that do not follow symlinks
/// (`O_NOFOLLOW | O_EXCL`, `AT_SYMLINK_NOFOLLOW`, `linkat` without `AT_SYMLINK_FOLLOW`).
/// So `..`, absolute paths, symlinked parents and links pointing out are refused or
/// harmless, whatever earlier entries created.
final class LayerExtractor {
    /// One tar entry, already decoded from libarchive.
    struct Entry {
        enum Kind: Equatable {
            case regular, directory, symlink(String), hardlink(String), character(UInt32, UInt32), block(UInt32, UInt32), fifo, other
        }
        var path: String
        var kind: Kind
        var mode: UInt32
        var uid: Int64
        var gid: Int64
        var size: Int64
        var mtime: timespec
        var atime: timespec
        var xattrs: [(String, [UInt8])]
    }

    let target: String
    let options: UnpackOptions
    let layer: String
    private let rootFD: Int32
    private var cachedParent: (path: String, fd: Int32)?
    private var directoryTimes: [(String, timespec, timespec)] = []
    private var created: Set<String> = []

    init(target: String, options: UnpackOptions, layer: String) throws {
        self.target = target
        self.options = options
        self.layer = layer
        rootFD = try Sys.open(target, cis_O_PATH | O_DIRECTORY)
    }

    deinit {
        if let cachedParent, cachedParent.fd != rootFD { Sys.close(cachedParent.fd) }
        Sys.close(rootFD)
    }

    private func refuse(_ entry: String, _ reason: String) -> ImageStoreError {
        ImageStoreError(.unsafeLayer, "layer \(layer): entry \"\(entry)\": \(reason)")
    }

    /// Splits and checks an entry path: no `..`, not absolute, no empty result.
    /// - Returns: the components, or `[]` for the layer root (`./`).
    func components(of raw: String, entry: String) throws -> [String] {
        if raw.hasPrefix("/") { throw refuse(entry, "absolute path") }
        var parts: [String] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw refuse(entry, "path contains \"..\"") }
            parts.append(String(part))
        }
        return parts
    }

    // MARK: Resolution

    /// An O_PATH fd of the directory `components` under the target, never through a symlink.
    /// With `create`, missing directories are made (0755, root-owned like the entries'
    /// implicit parents in other unpackers). Returns nil when missing and not creating.
    private func parent(_ components: ArraySlice<String>, entry: String, create: Bool) throws -> Int32? {
        if components.isEmpty { return rootFD }
        let path = components.joined(separator: "/")
        if let cachedParent, cachedParent.path == path { return cachedParent.fd }
        let resolve = cis_RESOLVE_BENEATH | cis_RESOLVE_NO_SYMLINKS | cis_RESOLVE_NO_MAGICLINKS | cis_RESOLVE_NO_XDEV
        var fd = cis_openat2(rootFD, path, cis_O_PATH | O_DIRECTORY | O_CLOEXEC, 0, resolve)
        if fd < 0 {
            let code = errno
            switch code {
            case ENOENT:
                guard create else { return nil }
                fd = try createDirectories(components, entry: entry)
            case ELOOP, EXDEV:
                throw refuse(entry, "parent directory \"\(path)\" is or passes through a symlink; refusing to write through it")
            case ENOTDIR:
                throw refuse(entry, "a component of parent \"\(path)\" is not a directory")
            default:
                throw Sys.error("open \(target)/\(path) for layer \(layer) entry \"\(entry)\"", code)
            }
        }
        if let cachedParent, cachedParent.fd != rootFD { Sys.close(cachedParent.fd) }
        cachedParent = (path, fd)
        return fd
    }

    private func createDirectories(_ components: ArraySlice<String>, entry: String) throws -> Int32 {
        let resolve = cis_RESOLVE_BENEATH | cis_RESOLVE_NO_SYMLINKS | cis_RESOLVE_NO_MAGICLINKS | cis_RESOLVE_NO_XDEV
        var current = rootFD
        var walked: [String] = []
        defer { if current != rootFD { Sys.close(current) } }
        for component in components {
            walked.append(component)
            var next = cis_openat2(current, component, cis_O_PATH | O_DIRECTORY | O_CLOEXEC, 0, resolve)
            if next < 0 && errno == ENOENT {
                if mkdirat(current, component, 0o755) != 0 && errno != EEXIST {
                    throw Sys.error("mkdir \(target)/\(walked.joined(separator: "/")) for layer \(layer) entry \"\(entry)\"")
                }
                created.insert(walked.joined(separator: "/"))
                next = cis_openat2(current, component, cis_O_PATH | O_DIRECTORY | O_CLOEXEC, 0, resolve)
            }
            if next < 0 {
                let code = errno
                if code == ELOOP || code == EXDEV {
                    throw refuse(entry, "parent directory \"\(walked.joined(separator: "/"))\" is a symlink; refusing to write through it")
                }
                if code == ENOTDIR {
                    throw refuse(entry, "parent \"\(walked.joined(separator: "/"))\" is not a directory")
                }
                throw Sys.error("open \(target)/\(walked.joined(separator: "/")) for layer \(layer) entry \"\(entry)\"", code)
            }
            if current != rootFD { Sys.close(current) }
            current = next
        }
        let result = current
        current = rootFD
        return result
    }

    private func invalidateCache() {
        if let cachedParent, cachedParent.fd != rootFD { Sys.close(cachedParent.fd) }
        cachedParent = nil
    }

    // MARK: Entries

    /// Extracts one entry. `writeData` streams a regular file's data into the given fd.
    func extract(_ entry: Entry, writeData: (Int32) throws -> Void) throws {
        let parts = try components(of: entry.path, entry: entry.path)
        guard let name = parts.last else {
            // The layer root itself ("./"): only its metadata applies.
            if entry.kind == .directory {
                let fd = try Sys.openAt(rootFD, ".", O_RDONLY | O_DIRECTORY, describe: target)
                defer { Sys.close(fd) }
                try applyMetadata(fd: fd, entry, isDirectory: true)
                directoryTimes.append(("", entry.atime, entry.mtime))
            }
            return
        }
        let parentParts = parts.dropLast()
        if name.hasPrefix(".wh.") {
            try whiteout(name: name, parentParts: parentParts, entry: entry)
            return
        }
        if !options.allowSetuid && entry.mode & 0o6000 != 0 {
            throw refuse(entry.path, "setuid/setgid bit (mode \(String(entry.mode & 0o7777, radix: 8))) not allowed")
        }
        if case .character = entry.kind, !options.allowDeviceNodes { throw refuse(entry.path, "character device not allowed") }
        if case .block = entry.kind, !options.allowDeviceNodes { throw refuse(entry.path, "block device not allowed") }
        if case .hardlink(let linkTarget) = entry.kind {
            // Check the link target before touching anything.
            _ = try components(of: linkTarget, entry: entry.path)
        }
        guard let dirfd = try parent(parentParts, entry: entry.path, create: true) else { return }
        let relative = parts.joined(separator: "/")
        let describe = "\(target)/\(relative)"

        // Replace what is there, unless a directory stays a directory.
        if let existing = try Sys.lstatAt(dirfd, name, describe) {
            let existingIsDirectory = existing.st_mode & Sys.fileTypeMask == Sys.typeDirectory
            if !(existingIsDirectory && entry.kind == .directory) {
                if case .hardlink(let linkTarget) = entry.kind,
                    (try? components(of: linkTarget, entry: entry.path)) == parts
                {
                    return
                }
                try Sys.removeEntry(at: dirfd, name, describe)
                if existingIsDirectory { invalidateCache() }
            }
        }
        created.insert(relative)

        switch entry.kind {
        case .regular:
            let fd = try Sys.openAt(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600, describe: describe)
            defer { Sys.close(fd) }
            try writeData(fd)
            try Sys.retry("truncate \(describe)") { ftruncate(fd, off_t(entry.size)) }
            try applyMetadata(fd: fd, entry, isDirectory: false)
        case .directory:
            if mkdirat(dirfd, name, 0o700) != 0 && errno != EEXIST { throw Sys.error("mkdir \(describe)") }
            let fd = try Sys.openAt(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describe: describe)
            defer { Sys.close(fd) }
            try applyMetadata(fd: fd, entry, isDirectory: true)
            directoryTimes.append((relative, entry.atime, entry.mtime))
        case .symlink(let linkTarget):
            try Sys.retry("symlink \(describe) -> \(linkTarget)") { symlinkat(linkTarget, dirfd, name) }
            try applyMetadata(at: dirfd, name: name, entry, describe: describe, isSymlink: true)
        case .hardlink(let linkTarget):
            let targetParts = try components(of: linkTarget, entry: entry.path)
            guard let targetName = targetParts.last else { throw refuse(entry.path, "hardlink to the layer root") }
            // Resolve the target's parent without creating anything; never through symlinks.
            let savedCache = cachedParent
            cachedParent = nil
            defer {
                if let cachedParent, cachedParent.fd != rootFD { Sys.close(cachedParent.fd) }
                cachedParent = savedCache
            }
            guard let targetDir = try parent(targetParts.dropLast(), entry: entry.path, create: false) else {
                throw refuse(entry.path, "hardlink target \"\(linkTarget)\" does not exist in this layer")
            }
            if linkat(targetDir, targetName, dirfd, name, 0) != 0 {
                let code = errno
                if code == ENOENT { throw refuse(entry.path, "hardlink target \"\(linkTarget)\" does not exist in this layer") }
                throw Sys.error("link \(describe) -> \(linkTarget)", code)
            }
        case .character(let major, let minor), .block(let major, let minor):
            let type = entry.kind == .character(major, minor) ? Sys.typeCharacter : Sys.typeBlock
            try Sys.retry("mknod \(describe)") { cis_mknodat(dirfd, name, type | (entry.mode & 0o7777), major, minor) }
            try applyMetadata(at: dirfd, name: name, entry, describe: describe, isSymlink: false)
        case .fifo:
            try Sys.retry("mkfifo \(describe)") { cis_mknodat(dirfd, name, Sys.typeFIFO | (entry.mode & 0o7777), 0, 0) }
            try applyMetadata(at: dirfd, name: name, entry, describe: describe, isSymlink: false)
        case .other:
            created.remove(relative)
        }
    }

    private func whiteout(name: String, parentParts: ArraySlice<String>, entry: Entry) throws {
        let snapshot = options.mode == .snapshot
        if name == ".wh..wh..opq" {
            guard let dirfd = try parent(parentParts, entry: entry.path, create: snapshot) else { return }
            let directory = parentParts.joined(separator: "/")
            let fd = try Sys.openAt(dirfd, ".", O_RDONLY | O_DIRECTORY, describe: "\(target)/\(directory)")
            defer { Sys.close(fd) }
            if snapshot {
                // trusted.* needs CAP_SYS_ADMIN: an unprivileged user's snapshots carry the
                // user.* form that overlayfs reads with `userxattr` in a user namespace.
                let opaque = geteuid() == 0 ? "trusted.overlay.opaque" : "user.overlay.opaque"
                if cis_fsetxattr(fd, opaque, "y", 1, 0) != 0 {
                    throw Sys.error("set \(opaque) on \(target)/\(directory) for layer \(layer)")
                }
            } else {
                let prefix = directory.isEmpty ? "" : directory + "/"
                try Sys.removeChildren(of: fd, "\(target)/\(directory)") { child in
                    self.created.contains(prefix + child)
                }
                invalidateCache()
            }
            return
        }
        if name.hasPrefix(".wh..wh.") { return }  // aufs metadata (.wh..wh.plnk, .wh..wh.aufs)
        let victim = String(name.dropFirst(4))
        guard !victim.isEmpty, victim != ".", victim != "..", !victim.contains("/") else {
            throw refuse(entry.path, "whiteout names no valid entry")
        }
        guard let dirfd = try parent(parentParts, entry: entry.path, create: snapshot) else { return }
        let relative = (parentParts + [victim]).joined(separator: "/")
        let describe = "\(target)/\(relative)"
        if let existing = try Sys.lstatAt(dirfd, victim, describe) {
            try Sys.removeEntry(at: dirfd, victim, describe)
            if existing.st_mode & Sys.fileTypeMask == Sys.typeDirectory { invalidateCache() }
        }
        if snapshot {
            try Sys.retry("mknod whiteout \(describe)") { cis_mknodat(dirfd, victim, Sys.typeCharacter, 0, 0) }
        }
    }

    // MARK: Metadata

    private func applyMetadata(fd: Int32, _ entry: Entry, isDirectory: Bool) throws {
        let describe = "\(target)/\(entry.path)"
        if options.preserveOwnership {
            try Sys.retry("chown \(describe)") { fchown(fd, uid_t(truncatingIfNeeded: entry.uid), gid_t(truncatingIfNeeded: entry.gid)) }
        }
        try Sys.retry("chmod \(describe)") { fchmod(fd, mode_t(entry.mode & 0o7777)) }
        for (name, value) in entry.xattrs where !name.hasPrefix("trusted.overlay.") && !name.hasPrefix("user.overlay.") {
            let rc = value.withUnsafeBytes { cis_fsetxattr(fd, name, $0.baseAddress, $0.count, 0) }
            if rc != 0 { try xattrFailed(name, describe) }
        }
        if !isDirectory {
            var times = [entry.atime, entry.mtime]
            try Sys.retry("set times of \(describe)") { futimens(fd, &times) }
        }
    }

    private func applyMetadata(at dirfd: Int32, name: String, _ entry: Entry, describe: String, isSymlink: Bool) throws {
        if options.preserveOwnership {
            try Sys.retry("chown \(describe)") {
                fchownat(dirfd, name, uid_t(truncatingIfNeeded: entry.uid), gid_t(truncatingIfNeeded: entry.gid), AT_SYMLINK_NOFOLLOW)
            }
        }
        if !isSymlink {
            // Device nodes and FIFOs: fchmodat cannot refuse symlinks, but the entry was
            // just created by mknodat in a directory nothing else writes to.
            try Sys.retry("chmod \(describe)") { fchmodat(dirfd, name, mode_t(entry.mode & 0o7777), 0) }
        }
        let procPath = "/proc/self/fd/\(dirfd)/\(name)"
        for (xattr, value) in entry.xattrs where !xattr.hasPrefix("trusted.overlay.") && !xattr.hasPrefix("user.overlay.") {
            let rc = value.withUnsafeBytes { cis_lsetxattr(procPath, xattr, $0.baseAddress, $0.count, 0) }
            if rc != 0 { try xattrFailed(xattr, describe) }
        }
        var times = [entry.atime, entry.mtime]
        try Sys.retry("set times of \(describe)") { utimensat(dirfd, name, &times, AT_SYMLINK_NOFOLLOW) }
    }

    private func xattrFailed(_ name: String, _ describe: String) throws {
        let code = errno
        // user.* xattrs on symlinks and trusted.* without privilege cannot exist; the
        // filesystem may not support xattrs at all. Those are skipped, not fatal.
        if code == EPERM || code == ENOTSUP || code == EOPNOTSUPP { return }
        throw Sys.error("set xattr \(name) on \(describe)", code)
    }

    /// Sets directory mtimes last (entries created inside changed them), deepest first.
    func finish() throws {
        let resolve = cis_RESOLVE_BENEATH | cis_RESOLVE_NO_SYMLINKS | cis_RESOLVE_NO_MAGICLINKS | cis_RESOLVE_NO_XDEV
        invalidateCache()
        for (path, atime, mtime) in directoryTimes.reversed() {
            let fd = cis_openat2(rootFD, path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, resolve)
            if fd < 0 { continue }  // removed or replaced by a later entry
            var times = [atime, mtime]
            _ = futimens(fd, &times)
            Sys.close(fd)
        }
    }
}
