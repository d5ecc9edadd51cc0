import CArchive
import Foundation
import OCIHashing
import OCISpec
import _CImageStore

#if canImport(Glibc)
import Glibc
#endif

/// The files of an image archive (or of an image layout directory) copied into a staging
/// directory under `ingest/`, each hashed while it is copied.
///
/// An import reads everything it needs through this, verifies every blob against its
/// digest, and only then commits the staged files into `blobs/` by rename (staging and
/// blobs are on one filesystem). A bad archive therefore commits nothing, and a killed
/// import leaves only `ingest/.import-*`, which garbage collection removes.
///
/// Archive paths are never used as filesystem paths: staged files are numbered, and every
/// entry name, symlink and hardlink target is checked to stay inside the archive root.
final class ImportStaging {
    /// One staged file: where it is, its sha256 and size.
    struct File {
        var path: String
        var sha256: Digest
        var size: Int64
    }

    /// The staging directory (`ingest/.import-<pid>-<random>`).
    let directory: String
    /// The archive or directory being imported, for messages.
    let origin: String

    private var files: [String: File] = [:]
    private var symlinks: [String: String] = [:]
    private var counter = 0
    /// For a layout directory: an `O_PATH` fd of its root; files are staged on demand.
    private var sourceRoot: Int32?

    init(in ingestDirectory: String, origin: String) throws {
        self.origin = origin
        directory = "\(ingestDirectory)/.import-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try Sys.mkdir(directory, 0o700)
    }

    deinit {
        if let sourceRoot { Sys.close(sourceRoot) }
    }

    /// Deletes the staging directory and whatever is still in it.
    func remove() {
        try? Sys.removeTree(directory)
    }

    func invalid(_ message: String) -> ImageStoreError {
        ImageStoreError(.invalidArchive, "\(origin): \(message); nothing imported")
    }

    // MARK: Paths

    /// Normalises an archive path (`./a//b` → `a/b`) and refuses what leaves the root.
    /// - Returns: the normalised path; empty for the root itself.
    func normalise(_ raw: String, entry: String) throws -> String {
        if raw.hasPrefix("/") { throw invalid("entry \"\(entry)\" has an absolute path (path traversal)") }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." { throw invalid("entry \"\(entry)\" contains \"..\" (path traversal)") }
            parts.append(part)
        }
        return parts.joined(separator: "/")
    }

    /// Resolves a symlink target relative to the link's directory, refusing targets that
    /// leave the archive root.
    private func resolveLink(_ target: String, of link: String) throws -> String {
        if target.hasPrefix("/") {
            throw invalid("symlink \"\(link)\" points to the absolute path \"\(target)\" (outside the archive)")
        }
        var parts = link.split(separator: "/").dropLast().map(String.init)
        for part in target.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." {
                guard parts.popLast() != nil else {
                    throw invalid("symlink \"\(link)\" -> \"\(target)\" points outside the archive (path traversal)")
                }
            } else {
                parts.append(String(part))
            }
        }
        return parts.joined(separator: "/")
    }

    // MARK: Sources

    /// Copies every regular file of a tar archive (optionally compressed) into staging,
    /// hashing each; records symlinks; resolves hardlinks to the file they name.
    func extractTar(_ path: String) throws {
        guard let archive = archive_read_new() else { throw ImageStoreError(.io, "archive_read_new failed") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_tar(archive)
        guard archive_read_open_filename(archive, path, 1 << 20) == ARCHIVE_OK else {
            throw readError(archive, "cannot open as a tar archive")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            var entryPointer: OpaquePointer?
            let status = archive_read_next_header(archive, &entryPointer)
            if status == ARCHIVE_EOF { break }
            guard status >= ARCHIVE_WARN, let entry = entryPointer else { throw readError(archive, "unreadable tar header") }
            guard let rawName = (archive_entry_pathname(entry) ?? archive_entry_pathname_utf8(entry)).map({ String(cString: $0) }) else {
                throw invalid("tar entry without a name")
            }
            let name = try normalise(rawName, entry: rawName)
            if let hardlink = archive_entry_hardlink(entry).map({ String(cString: $0) }) {
                let target = try normalise(hardlink, entry: rawName)
                guard let file = files[target] else {
                    throw invalid("hardlink \"\(rawName)\" names \"\(hardlink)\", which is not an earlier file of the archive")
                }
                files[name] = file
                symlinks[name] = nil
                continue
            }
            let type = UInt32(archive_entry_filetype(entry))
            switch type {
            case Sys.typeDirectory:
                continue
            case Sys.typeSymlink:
                let target = archive_entry_symlink(entry).map { String(cString: $0) } ?? ""
                symlinks[name] = try resolveLink(target, of: name)
                files[name] = nil
            case Sys.typeRegular:
                guard !name.isEmpty else { throw invalid("a regular file entry names the archive root") }
                files[name] = try stageEntry(archive, buffer: buffer, name: rawName)
                symlinks[name] = nil
            default:
                throw invalid("entry \"\(rawName)\" is a device, FIFO or socket, which no image archive holds")
            }
        }
    }

    private func readError(_ archive: OpaquePointer, _ fallback: String) -> ImageStoreError {
        let message = archive_error_string(archive).map { String(cString: $0) } ?? fallback
        return invalid(message)
    }

    private func nextStagedPath() -> String {
        counter += 1
        return "\(directory)/\(counter)"
    }

    private func stageEntry(_ archive: OpaquePointer, buffer: UnsafeMutableRawBufferPointer, name: String) throws -> File {
        let path = nextStagedPath()
        let fd = try Sys.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        defer { Sys.close(fd) }
        var hasher = Digest.Hasher(algorithm: .sha256)
        var size: Int64 = 0
        while true {
            let n = archive_read_data(archive, buffer.baseAddress, buffer.count)
            if n == 0 { break }
            guard n > 0 else { throw readError(archive, "entry \"\(name)\" is truncated") }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            try Sys.writeAll(fd, chunk, path)
            hasher.update(chunk)
            size += Int64(n)
        }
        return File(path: path, sha256: hasher.finalize(), size: size)
    }

    /// Uses an image layout directory as the source: files are staged when first asked for.
    func useDirectory(_ path: String) throws {
        sourceRoot = try Sys.open(path, cis_O_PATH | O_DIRECTORY)
    }

    private func stageFromDirectory(_ root: Int32, _ name: String) throws -> File? {
        let resolve = cis_RESOLVE_BENEATH | cis_RESOLVE_NO_MAGICLINKS
        let fd = cis_openat2(root, name, O_RDONLY | O_CLOEXEC, 0, resolve)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            if code == EXDEV { throw invalid("\"\(name)\" is a symlink leading outside the layout") }
            throw Sys.error("open \(origin)/\(name)", code)
        }
        defer { Sys.close(fd) }
        guard try Sys.fstat(fd, "\(origin)/\(name)").st_mode & Sys.fileTypeMask == Sys.typeRegular else {
            throw invalid("\"\(name)\" is not a regular file")
        }
        let path = nextStagedPath()
        let out = try Sys.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        defer { Sys.close(out) }
        var hasher = Digest.Hasher(algorithm: .sha256)
        var size: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try Sys.read(fd, buffer, "\(origin)/\(name)")
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            try Sys.writeAll(out, chunk, path)
            hasher.update(chunk)
            size += Int64(n)
        }
        return File(path: path, sha256: hasher.finalize(), size: size)
    }

    /// Stages a document this import creates (a manifest converted from Docker's format).
    func stage(data: Data) throws -> File {
        let path = nextStagedPath()
        try Sys.writeFileAtomically(path, data, mode: 0o600, durable: false)  // fsynced at commit
        return File(path: path, sha256: Digest.sha256(of: data), size: Int64(data.count))
    }

    // MARK: Lookup

    /// Whether the archive has a file (or a symlink to one) at `path`.
    func contains(_ path: String) throws -> Bool { try file(path) != nil }

    /// The staged file at an archive path, following symlinks inside the archive.
    func file(_ raw: String) throws -> File? {
        var path = try normalise(raw, entry: raw)
        for _ in 0..<16 {
            if let sourceRoot {
                if let staged = files[path] { return staged }
                let staged = try stageFromDirectory(sourceRoot, path)
                files[path] = staged
                return staged
            }
            if let staged = files[path] { return staged }
            guard let next = symlinks[path] else { return nil }
            path = next
        }
        throw invalid("\"\(raw)\": too many levels of symlinks")
    }

    /// Reads a small document (JSON) from the archive.
    /// - Throws: `invalidArchive` if missing or larger than 4 MiB.
    func read(_ path: String) throws -> Data {
        guard let staged = try file(path) else { throw invalid("\(path) is missing") }
        guard staged.size <= 4 << 20 else { throw invalid("\(path) is \(staged.size) bytes, more than a document may be (4 MiB)") }
        return try Sys.readFile(staged.path)
    }

    /// The staged blob a descriptor names (`blobs/<alg>/<hex>`), verified against its size
    /// and digest.
    /// - Parameters:
    ///   - descriptor: the blob's descriptor.
    ///   - what: what the blob is, for messages ("config of manifest sha256:…").
    /// - Returns: the staged file, or nil when missing and `optional`.
    func verifiedBlob(_ descriptor: Descriptor, what: String, optional: Bool = false) throws -> File? {
        let path = ImageLayout.blobPath(for: descriptor.digest)
        guard let staged = try file(path) else {
            if optional { return nil }
            throw invalid("blob \(descriptor.digest) (\(what)) is missing: no \(path)")
        }
        try verify(staged, descriptor.digest, size: descriptor.size, path: path, what: what)
        return staged
    }

    /// Checks a staged file's size (if given) and digest.
    func verify(_ staged: File, _ digest: Digest, size: Int64?, path: String, what: String) throws {
        if let size, staged.size != size {
            throw ImageStoreError(
                .sizeMismatch, "\(origin): \(path) (\(what)) has \(staged.size) bytes, its descriptor says \(size); nothing imported")
        }
        let actual = digest.algorithm == .sha256 ? staged.sha256 : try rehash(staged, digest.algorithm)
        guard actual == digest else {
            throw ImageStoreError(
                .digestMismatch, "\(origin): \(path) (\(what)) hashes to \(actual), expected \(digest); nothing imported")
        }
    }

    private func rehash(_ staged: File, _ algorithm: Digest.Algorithm) throws -> Digest {
        let fd = try Sys.open(staged.path, O_RDONLY)
        defer { Sys.close(fd) }
        var hasher = Digest.Hasher(algorithm: algorithm)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try Sys.read(fd, buffer, staged.path)
            if n == 0 { return hasher.finalize() }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// The compression of a staged layer, from its first bytes.
    func compression(of staged: File) throws -> MediaType.LayerCompression {
        let fd = try Sys.open(staged.path, O_RDONLY)
        defer { Sys.close(fd) }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = try magic.withUnsafeMutableBytes { try Sys.read(fd, $0, staged.path) }
        if n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b { return .gzip }
        if n >= 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] { return .zstd }
        return .none
    }

    /// The sha256 of a compressed layer's uncompressed stream (its diff ID).
    func uncompressedDigest(of staged: File, path: String) throws -> Digest {
        guard let archive = archive_read_new() else { throw ImageStoreError(.io, "archive_read_new failed") }
        defer { archive_read_free(archive) }
        archive_read_support_filter_all(archive)
        archive_read_support_format_raw(archive)
        var entry: OpaquePointer?
        guard archive_read_open_filename(archive, staged.path, 1 << 20) == ARCHIVE_OK,
            archive_read_next_header(archive, &entry) >= ARCHIVE_WARN
        else { throw readError(archive, "layer \(path) does not decompress") }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = Digest.Hasher(algorithm: .sha256)
        while true {
            let n = archive_read_data(archive, buffer.baseAddress, buffer.count)
            if n == 0 { return hasher.finalize() }
            guard n > 0 else { throw readError(archive, "layer \(path) does not decompress") }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }
}
