import CArchive
import Foundation
import OCIHashing
import OCISpec
import _CImageStore

#if canImport(Glibc)
import Glibc
#endif

/// Writes a layer blob (a pax tar, optionally gzip- or zstd-compressed) in one pass,
/// computing its digest and diff ID as it goes.
///
/// Entries are written exactly as given, so tests can also build hostile layers
/// (`../x`, absolute names, links pointing out) to prove the unpacker refuses them.
/// Gzip output carries no timestamp, so the same entries give the same digest.
public final class LayerWriter {
    /// What a finished layer is.
    public struct Result: Sendable, Hashable {
        /// The layer's descriptor (media type, compressed digest and size).
        public var descriptor: Descriptor
        /// The uncompressed tar digest.
        public var diffID: Digest

        /// Pairs a layer descriptor with its diff ID (e.g. a base image's layer).
        /// - Parameters:
        ///   - descriptor: the layer blob's descriptor.
        ///   - diffID: its uncompressed digest.
        public init(descriptor: Descriptor, diffID: Digest) {
            self.descriptor = descriptor
            self.diffID = diffID
        }
    }

    /// Ownership, mode and time of an entry.
    public struct Attributes: Sendable, Hashable {
        /// Permission bits, including setuid/setgid/sticky.
        public var mode: UInt32
        /// Owner user id.
        public var uid: Int64
        /// Owner group id.
        public var gid: Int64
        /// Modification time, seconds since the epoch.
        public var mtime: Int
        /// Extended attributes (`security.capability`, `user.*`…).
        public var xattrs: [String: [UInt8]]

        /// Creates attributes.
        /// - Parameters:
        ///   - mode: permission bits.
        ///   - uid: owner.
        ///   - gid: group.
        ///   - mtime: modification time.
        ///   - xattrs: extended attributes.
        public init(mode: UInt32 = 0o644, uid: Int64 = 0, gid: Int64 = 0, mtime: Int = 0, xattrs: [String: [UInt8]] = [:]) {
            self.mode = mode
            self.uid = uid
            self.gid = gid
            self.mtime = mtime
            self.xattrs = xattrs
        }
    }

    private final class Sink {
        let fd: Int32
        let path: String
        var digest = Digest.Hasher(algorithm: .sha256)
        var diffID = Digest.Hasher(algorithm: .sha256)
        var size: Int64 = 0
        var outer: OpaquePointer?
        var error: (any Error)?

        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
        }

        func writeCompressed(_ buffer: UnsafeRawBufferPointer) -> Int {
            do {
                try Sys.writeAll(fd, buffer, path)
                digest.update(buffer)
                size += Int64(buffer.count)
                return buffer.count
            } catch {
                self.error = error
                return -1
            }
        }

        func writeTar(_ buffer: UnsafeRawBufferPointer) -> Int {
            diffID.update(buffer)
            if let outer {
                let n = archive_write_data(outer, buffer.baseAddress, buffer.count)
                return n < 0 ? -1 : buffer.count
            }
            return writeCompressed(buffer)
        }
    }

    /// The file being written.
    public let path: String
    /// The compression applied.
    public let compression: MediaType.LayerCompression
    private let sink: Sink
    private let tar: OpaquePointer
    private var finished = false

    /// Starts a layer file.
    /// - Parameters:
    ///   - path: the file to create (must not exist).
    ///   - compression: none, gzip or zstd.
    /// - Throws: ``ImageStoreError`` `io` if the file cannot be created or libarchive fails.
    public init(path: String, compression: MediaType.LayerCompression = .gzip) throws {
        self.path = path
        self.compression = compression
        let fd = try Sys.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        sink = Sink(fd: fd, path: path)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        if compression != .none {
            guard let outer = archive_write_new() else { throw ImageStoreError(.io, "archive_write_new failed") }
            archive_write_set_format_raw(outer)
            if compression == .gzip {
                archive_write_add_filter_gzip(outer)
                archive_write_set_filter_option(outer, "gzip", "timestamp", nil)
            } else {
                archive_write_add_filter_zstd(outer)
            }
            archive_write_set_bytes_per_block(outer, 0)
            guard archive_write_open(outer, context, nil, { _, context, buffer, length in
                let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                return sink.writeCompressed(UnsafeRawBufferPointer(start: buffer, count: length))
            }, nil) == ARCHIVE_OK else {
                throw Self.failure(outer, "open compressor for \(path)")
            }
            let entry = archive_entry_new()
            archive_entry_set_filetype(entry, UInt32(Sys.typeRegular))
            archive_entry_set_pathname(entry, "layer.tar")
            guard archive_write_header(outer, entry) == ARCHIVE_OK else { throw Self.failure(outer, "start \(path)") }
            archive_entry_free(entry)
            sink.outer = outer
        }
        guard let tar = archive_write_new() else { throw ImageStoreError(.io, "archive_write_new failed") }
        self.tar = tar
        archive_write_set_format_pax_restricted(tar)
        guard archive_write_open(tar, context, nil, { _, context, buffer, length in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            return sink.writeTar(UnsafeRawBufferPointer(start: buffer, count: length))
        }, nil) == ARCHIVE_OK else {
            throw Self.failure(tar, "open tar writer for \(path)")
        }
    }

    deinit {
        if !finished {
            archive_write_free(tar)
            if let outer = sink.outer { archive_write_free(outer) }
            Sys.close(sink.fd)
        }
    }

    private static func failure(_ archive: OpaquePointer, _ what: String) -> ImageStoreError {
        ImageStoreError(.io, "\(what): \(archive_error_string(archive).map { String(cString: $0) } ?? "libarchive error")")
    }

    private func header(_ name: String, type: UInt32, _ attributes: Attributes, size: Int64 = 0, configure: (OpaquePointer) -> Void = { _ in }) throws {
        let entry = archive_entry_new()!
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode_t(attributes.mode & 0o7777))
        archive_entry_set_uid(entry, attributes.uid)
        archive_entry_set_gid(entry, attributes.gid)
        archive_entry_set_mtime(entry, time_t(attributes.mtime), 0)
        archive_entry_set_size(entry, size)
        for (key, value) in attributes.xattrs.sorted(by: { $0.key < $1.key }) {
            value.withUnsafeBytes { archive_entry_xattr_add_entry(entry, key, $0.baseAddress, $0.count) }
        }
        configure(entry)
        guard archive_write_header(tar, entry) >= ARCHIVE_WARN else {
            throw (sink.error as? ImageStoreError) ?? Self.failure(tar, "write entry \(name) to \(path)")
        }
    }

    /// Adds a directory entry.
    /// - Parameters:
    ///   - name: the entry name, written as given.
    ///   - attributes: ownership, mode, time, xattrs.
    /// - Throws: ``ImageStoreError`` `io` if writing fails.
    public func addDirectory(_ name: String, _ attributes: Attributes = Attributes(mode: 0o755)) throws {
        try header(name, type: Sys.typeDirectory, attributes)
    }

    /// Adds a regular file with the given contents.
    /// - Parameters:
    ///   - name: the entry name, written as given.
    ///   - contents: the file's bytes.
    ///   - attributes: ownership, mode, time, xattrs.
    /// - Throws: ``ImageStoreError`` `io` if writing fails.
    public func addFile(_ name: String, contents: some DataProtocol, _ attributes: Attributes = Attributes()) throws {
        try header(name, type: Sys.typeRegular, attributes, size: Int64(contents.count))
        for region in contents.regions {
            try region.withUnsafeBytes { try writeData($0, name) }
        }
    }

    private func writeData(_ buffer: UnsafeRawBufferPointer, _ name: String) throws {
        guard buffer.count > 0 else { return }
        guard archive_write_data(tar, buffer.baseAddress, buffer.count) >= 0 else {
            throw (sink.error as? ImageStoreError) ?? Self.failure(tar, "write data of \(name) to \(path)")
        }
    }

    /// Adds a symbolic link.
    /// - Parameters:
    ///   - name: the entry name.
    ///   - target: where the link points, written as given.
    ///   - attributes: ownership and time (mode is ignored by Linux).
    /// - Throws: ``ImageStoreError`` `io` if writing fails.
    public func addSymlink(_ name: String, target: String, _ attributes: Attributes = Attributes(mode: 0o777)) throws {
        try header(name, type: Sys.typeSymlink, attributes) { archive_entry_set_symlink($0, target) }
    }

    /// Adds a hard link to an earlier entry.
    /// - Parameters:
    ///   - name: the entry name.
    ///   - target: the name of the entry it links to, written as given.
    ///   - attributes: ownership, mode, time.
    /// - Throws: ``ImageStoreError`` `io` if writing fails.
    public func addHardlink(_ name: String, target: String, _ attributes: Attributes = Attributes()) throws {
        try header(name, type: Sys.typeRegular, attributes) { archive_entry_set_hardlink($0, target) }
    }

    /// Adds a character or block device node, or a FIFO.
    /// - Parameters:
    ///   - name: the entry name.
    ///   - kind: `.character`, `.block` or `.fifo`.
    ///   - major: device major number.
    ///   - minor: device minor number.
    ///   - attributes: ownership, mode, time.
    /// - Throws: ``ImageStoreError`` `io` if writing fails.
    public func addSpecial(_ name: String, kind: SpecialKind, major: UInt32 = 0, minor: UInt32 = 0, _ attributes: Attributes = Attributes()) throws {
        let type: UInt32 = switch kind {
        case .character: Sys.typeCharacter
        case .block: Sys.typeBlock
        case .fifo: Sys.typeFIFO
        }
        try header(name, type: type, attributes) {
            archive_entry_set_rdevmajor($0, dev_t(major))
            archive_entry_set_rdevminor($0, dev_t(minor))
        }
    }

    /// The kinds of special files ``addSpecial(_:kind:major:minor:_:)`` writes.
    public enum SpecialKind: Sendable {
        /// A character device.
        case character
        /// A block device.
        case block
        /// A named pipe.
        case fifo
    }

    /// Adds every entry under `directory` (sorted, not following symlinks), with
    /// ownership, modes, times, xattrs, hardlinks and devices.
    /// - Parameters:
    ///   - directory: the directory whose contents become the layer root.
    ///   - overlayWhiteouts: convert overlayfs whiteouts (0/0 character devices) to
    ///     `.wh.NAME` entries and `trusted.overlay.opaque=y` directories to
    ///     `.wh..wh..opq` entries, as an overlay upper directory needs for ``ImageStore/diff(key:compression:)``.
    /// - Throws: ``ImageStoreError`` `io` naming the path on failures.
    public func addTree(from directory: String, overlayWhiteouts: Bool = false) throws {
        let fd = try Sys.open(directory, O_RDONLY | O_DIRECTORY)
        defer { Sys.close(fd) }
        var links: [String: String] = [:]
        try walk(fd, directory: directory, prefix: "", overlayWhiteouts: overlayWhiteouts, links: &links)
    }

    private func walk(_ dirfd: Int32, directory: String, prefix: String, overlayWhiteouts: Bool, links: inout [String: String]) throws {
        for name in try Sys.listDirectory(dirfd, directory) {
            let hostPath = "\(directory)/\(name)"
            let entryName = prefix + name
            guard let st = try Sys.lstatAt(dirfd, name, hostPath) else { continue }
            let type = st.st_mode & Sys.fileTypeMask
            let procPath = "/proc/self/fd/\(dirfd)/\(name)"
            var attributes = Attributes(
                mode: st.st_mode & 0o7777, uid: Int64(st.st_uid), gid: Int64(st.st_gid), mtime: Int(st.st_mtim.tv_sec),
                xattrs: Self.xattrs(procPath))
            let opaque = attributes.xattrs["trusted.overlay.opaque"] == Array("y".utf8)
            attributes.xattrs = attributes.xattrs.filter { !$0.key.hasPrefix("trusted.overlay.") }
            switch type {
            case Sys.typeDirectory:
                try addDirectory(entryName + "/", attributes)
                if overlayWhiteouts && opaque {
                    try addFile(entryName + "/.wh..wh..opq", contents: [UInt8](), Attributes())
                }
                let child = try Sys.openAt(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describe: hostPath)
                defer { Sys.close(child) }
                try walk(child, directory: hostPath, prefix: entryName + "/", overlayWhiteouts: overlayWhiteouts, links: &links)
            case Sys.typeRegular:
                let key = "\(st.st_dev):\(st.st_ino)"
                if st.st_nlink > 1, let first = links[key] {
                    try addHardlink(entryName, target: first, attributes)
                    continue
                }
                if st.st_nlink > 1 { links[key] = entryName }
                let file = try Sys.openAt(dirfd, name, O_RDONLY | O_NOFOLLOW, describe: hostPath)
                defer { Sys.close(file) }
                try header(entryName, type: Sys.typeRegular, attributes, size: Int64(st.st_size))
                var remaining = Int64(st.st_size)
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while remaining > 0 {
                    let n = try buffer.withUnsafeMutableBytes { try Sys.read(file, $0, hostPath) }
                    if n == 0 { throw ImageStoreError(.io, "\(hostPath) shrank while being archived") }
                    let count = Int(min(Int64(n), remaining))
                    try buffer.withUnsafeBytes { try writeData(UnsafeRawBufferPointer(rebasing: $0[0..<count]), entryName) }
                    remaining -= Int64(count)
                }
            case Sys.typeSymlink:
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(dirfd, name, &target, target.count - 1)
                guard n >= 0 else { throw Sys.error("readlink \(hostPath)") }
                let link = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                try addSymlink(entryName, target: link, attributes)
            case Sys.typeCharacter, Sys.typeBlock:
                let major = cis_major(UInt64(st.st_rdev))
                let minor = cis_minor(UInt64(st.st_rdev))
                if overlayWhiteouts && type == Sys.typeCharacter && major == 0 && minor == 0 {
                    try addFile(prefix + ".wh." + name, contents: [UInt8](), Attributes())
                } else {
                    try addSpecial(entryName, kind: type == Sys.typeCharacter ? .character : .block, major: major, minor: minor, attributes)
                }
            case Sys.typeFIFO:
                try addSpecial(entryName, kind: .fifo, attributes)
            default:
                continue  // sockets are not archived
            }
        }
    }

    private static func xattrs(_ path: String) -> [String: [UInt8]] {
        let size = cis_llistxattr(path, nil, 0)
        guard size > 0 else { return [:] }
        var list = [CChar](repeating: 0, count: size)
        let n = cis_llistxattr(path, &list, size)
        guard n > 0 else { return [:] }
        var result: [String: [UInt8]] = [:]
        for nameBytes in list[0..<n].split(separator: 0) {
            let name = String(decoding: nameBytes.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let valueSize = cis_lgetxattr(path, name, nil, 0)
            guard valueSize >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: valueSize)
            let got = cis_lgetxattr(path, name, &value, valueSize)
            guard got >= 0 else { continue }
            result[name] = Array(value[0..<got])
        }
        return result
    }

    /// Ends the tar stream and the compressor, fsyncs the file and closes it.
    /// - Returns: the layer's descriptor (media type by compression) and diff ID.
    /// - Throws: ``ImageStoreError`` `io` if flushing fails.
    public func finish() throws -> Result {
        precondition(!finished, "LayerWriter.finish called twice")
        finished = true
        defer { Sys.close(sink.fd) }
        let closed = archive_write_close(tar)
        archive_write_free(tar)
        guard closed == ARCHIVE_OK else { throw (sink.error as? ImageStoreError) ?? ImageStoreError(.io, "finish tar \(path)") }
        if let outer = sink.outer {
            let status = archive_write_close(outer)
            archive_write_free(outer)
            guard status == ARCHIVE_OK else { throw (sink.error as? ImageStoreError) ?? ImageStoreError(.io, "finish compressor \(path)") }
        }
        try Sys.fsync(sink.fd, path)
        let mediaType: MediaType = switch compression {
        case .none: .imageLayer
        case .gzip: .imageLayerGzip
        case .zstd: .imageLayerZstd
        }
        return Result(
            descriptor: Descriptor(mediaType: mediaType, digest: sink.digest.finalize(), size: sink.size),
            diffID: sink.diffID.finalize())
    }
}
