import Foundation
import _CImageStore

#if canImport(Glibc)
import Glibc
#endif

/// Applies unpacked snapshots, base first, onto one plain directory: the `.copy` prepare.
///
/// Each snapshot is walked and replayed through ``LayerExtractor`` in flat mode (so the
/// same never-leave-the-target rules hold): overlay whiteouts (0/0 character devices)
/// become deletions, `trusted.overlay.opaque` directories drop what lower layers put in
/// them, and regular files of 64 KiB or more are cloned with `FICLONE` (a reflink: no
/// data copied) where the filesystem supports it, else copied with `copy_file_range`;
/// smaller files are copied with read/write.
final class SnapshotFlattener {
    /// Files cloned by reflink and files copied byte for byte.
    private(set) var cloned = 0
    private(set) var copied = 0
    private var reflinkWorks = true
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

    deinit { buffer.deallocate() }

    /// Replays the snapshot directory `snapshot` (`snapshots/<id>/fs`) onto `target`.
    func apply(snapshot: String, onto target: String, options: UnpackOptions, layer: String) throws {
        var flat = options
        flat.mode = .flat
        let extractor = try LayerExtractor(target: target, options: flat, layer: layer)
        let root = try Sys.open(snapshot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        defer { Sys.close(root) }
        var hardlinks: [UInt64: String] = [:]
        let rootStat = try Sys.fstat(root, snapshot)
        let rootAttributes = try xattrs(fd: root, snapshot)
        try extractor.extract(entry(path: "./", kind: .directory, rootStat, xattrs: rootAttributes)) { _ in }
        if rootAttributes.contains(where: { $0.0 == "trusted.overlay.opaque" && $0.1 == Array("y".utf8) }) {
            try extractor.extract(entry(path: ".wh..wh..opq", kind: .regular, rootStat, xattrs: [])) { _ in }
        }
        try walk(root, prefix: "", describe: snapshot, extractor: extractor, hardlinks: &hardlinks)
        try extractor.finish()
    }

    private func walk(_ dirfd: Int32, prefix: String, describe: String, extractor: LayerExtractor, hardlinks: inout [UInt64: String]) throws {
        for name in try Sys.listDirectory(dirfd, describe) {
            let path = prefix + name
            let what = "\(describe)/\(name)"
            guard let st = try Sys.lstatAt(dirfd, name, what) else { continue }
            let type = st.st_mode & Sys.fileTypeMask
            switch type {
            case Sys.typeCharacter where st.st_rdev == 0:
                // An overlay whiteout: delete what lower layers have at this path.
                try extractor.extract(entry(path: prefix + ".wh." + name, kind: .regular, st, xattrs: [])) { _ in }
            case Sys.typeDirectory:
                let child = try Sys.openAt(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describe: what)
                defer { Sys.close(child) }
                let attributes = try xattrs(fd: child, what)
                try extractor.extract(entry(path: path, kind: .directory, st, xattrs: attributes)) { _ in }
                if attributes.contains(where: { $0.0 == "trusted.overlay.opaque" && $0.1 == Array("y".utf8) }) {
                    try extractor.extract(entry(path: path + "/.wh..wh..opq", kind: .regular, st, xattrs: [])) { _ in }
                }
                try walk(child, prefix: path + "/", describe: what, extractor: extractor, hardlinks: &hardlinks)
            case Sys.typeRegular:
                if st.st_nlink > 1, let first = hardlinks[UInt64(st.st_ino)] {
                    try extractor.extract(entry(path: path, kind: .hardlink(first), st, xattrs: [])) { _ in }
                    continue
                }
                if st.st_nlink > 1 { hardlinks[UInt64(st.st_ino)] = path }
                let source = try Sys.openAt(dirfd, name, O_RDONLY | O_NOFOLLOW, describe: what)
                defer { Sys.close(source) }
                try extractor.extract(entry(path: path, kind: .regular, st, xattrs: try xattrs(fd: source, what))) { destination in
                    try self.copyData(from: source, to: destination, size: Int64(st.st_size), what)
                }
            case Sys.typeSymlink:
                var bytes = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = try Sys.retry("readlink \(what)") { readlinkat(dirfd, name, &bytes, bytes.count - 1) }
                let linkTarget = String(decoding: bytes[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                try extractor.extract(entry(path: path, kind: .symlink(linkTarget), st, xattrs: try xattrs(at: dirfd, name, what))) { _ in }
            case Sys.typeCharacter, Sys.typeBlock:
                let major = cis_major(UInt64(st.st_rdev)), minor = cis_minor(UInt64(st.st_rdev))
                let kind: LayerExtractor.Entry.Kind = type == Sys.typeCharacter ? .character(major, minor) : .block(major, minor)
                try extractor.extract(entry(path: path, kind: kind, st, xattrs: try xattrs(at: dirfd, name, what))) { _ in }
            case Sys.typeFIFO:
                try extractor.extract(entry(path: path, kind: .fifo, st, xattrs: try xattrs(at: dirfd, name, what))) { _ in }
            default:
                continue  // sockets are never in a layer
            }
        }
    }

    private func entry(path: String, kind: LayerExtractor.Entry.Kind, _ st: stat, xattrs: [(String, [UInt8])]) -> LayerExtractor.Entry {
        LayerExtractor.Entry(
            path: path, kind: kind, mode: st.st_mode & 0o7777, uid: Int64(st.st_uid), gid: Int64(st.st_gid),
            size: Int64(st.st_size), mtime: st.st_mtim, atime: st.st_atim, xattrs: xattrs)
    }

    /// Files smaller than this are copied, not cloned: a clone is a filesystem
    /// transaction (about 0.3 ms on XFS), dearer than copying a few pages.
    static let cloneThreshold: Int64 = 64 << 10

    /// Clones (reflink) or copies a file's data. After the first `FICLONE` refusal on this
    /// filesystem, no more clones are tried.
    private func copyData(from source: Int32, to destination: Int32, size: Int64, _ what: String) throws {
        if size == 0 { return }
        if size < Self.cloneThreshold {
            // Plain read/write: copy_file_range would clone too where it can.
            copied += 1
            try copyByReading(from: source, to: destination, what)
            return
        }
        if reflinkWorks {
            if cis_ficlone(destination, source) == 0 {
                cloned += 1
                return
            }
            let code = errno
            // Not supported here, or across filesystems: copy from now on.
            guard code == EOPNOTSUPP || code == ENOTSUP || code == EXDEV || code == EINVAL || code == ENOTTY || code == ENOSYS else {
                throw Sys.error("clone \(what)", code)
            }
            reflinkWorks = false
        }
        copied += 1
        var remaining = size
        while remaining > 0 {
            let n = cis_copy_file_range(source, destination, Int(min(remaining, 1 << 30)))
            if n > 0 {
                remaining -= Int64(n)
                continue
            }
            if n == 0 { break }
            let code = errno
            if code == EINTR { continue }
            guard code == EXDEV || code == EINVAL || code == ENOSYS || code == EOPNOTSUPP else { throw Sys.error("copy \(what)", code) }
            try copyByReading(from: source, to: destination, what)
            return
        }
    }

    private func copyByReading(from source: Int32, to destination: Int32, _ what: String) throws {
        _ = lseek(source, 0, SEEK_SET)
        _ = lseek(destination, 0, SEEK_SET)
        while true {
            let n = try Sys.read(source, buffer, what)
            if n == 0 { return }
            try Sys.writeAll(destination, UnsafeRawBufferPointer(rebasing: buffer[0..<n]), what)
        }
    }

    // MARK: Extended attributes

    private func xattrs(fd: Int32, _ what: String) throws -> [(String, [UInt8])] {
        // By fd: a /proc/self/fd/N path would name the magic link itself, not the file.
        try xattrs(what, list: { cis_flistxattr(fd, $0, $1) }, get: { cis_fgetxattr(fd, $0, $1, $2) })
    }

    private func xattrs(at dirfd: Int32, _ name: String, _ what: String) throws -> [(String, [UInt8])] {
        try xattrs(path: "/proc/self/fd/\(dirfd)/\(name)", what)
    }

    /// The xattrs of `path` (not following a final symlink); none where unsupported.
    private func xattrs(path: String, _ what: String) throws -> [(String, [UInt8])] {
        try xattrs(what, list: { cis_llistxattr(path, $0, $1) }, get: { cis_lgetxattr(path, $0, $1, $2) })
    }

    private func xattrs(
        _ what: String, list: (UnsafeMutablePointer<CChar>?, Int) -> Int,
        get: (String, UnsafeMutableRawPointer?, Int) -> Int
    ) throws -> [(String, [UInt8])] {
        let size = list(nil, 0)
        if size <= 0 {
            if size < 0 && errno != ENOTSUP && errno != EOPNOTSUPP { throw Sys.error("list xattrs of \(what)") }
            return []
        }
        var names = [CChar](repeating: 0, count: size)
        let listed = names.withUnsafeMutableBufferPointer { list($0.baseAddress, size) }
        guard listed >= 0 else { throw Sys.error("list xattrs of \(what)") }
        var result: [(String, [UInt8])] = []
        var start = 0
        while start < listed {
            let name = names.withUnsafeBufferPointer { String(cString: $0.baseAddress! + start) }
            start += name.utf8.count + 1
            let length = get(name, nil, 0)
            guard length >= 0 else { continue }  // removed meanwhile, or not readable
            var value = [UInt8](repeating: 0, count: length)
            let read = value.withUnsafeMutableBytes { get(name, $0.baseAddress, length) }
            guard read >= 0 else { continue }
            result.append((name, Array(value[0..<read])))
        }
        return result
    }
}
