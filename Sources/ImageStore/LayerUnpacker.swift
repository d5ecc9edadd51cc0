import CArchive
import Foundation
import OCIHashing
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

/// Unpacks one layer blob in a single streaming pass:
///
/// ```
/// file ─▶ sha256 (digest) ─▶ libarchive raw+gzip/zstd ─▶ sha256 (diff ID), size limit
///      ─▶ libarchive tar ─▶ LayerExtractor (fd-relative, never leaves the target)
/// ```
///
/// Both digests are checked once the stream ends; on any error the caller discards the
/// target directory (the store always unpacks into a fresh temporary directory).
///
/// The blob can also be read from its ingest while a download still writes it
/// (`unpack(following:…)`, used by `ImageStore.unpack(_:config:options:ingests:)`): then the
/// ingest's writer hashes the compressed bytes, and the unpack succeeds only once the
/// writer committed the blob.
public enum LayerUnpacker {
    /// Unpacks a layer blob into `directory`.
    /// - Parameters:
    ///   - path: the layer blob (tar, tar+gzip or tar+zstd, per `descriptor.mediaType`).
    ///   - descriptor: the layer's descriptor: media type, digest and size are verified.
    ///   - diffID: the expected uncompressed digest (from the image config), if known.
    ///   - directory: an existing directory to extract into.
    ///   - options: snapshot or flat mode, limits and policies.
    /// - Returns: the verified digests, size and entry count.
    /// - Throws: ``ImageStoreError``: `unsafeLayer` naming the entry for hostile content or
    ///   a size over the limit, `digestMismatch`/`sizeMismatch` naming both values,
    ///   `corrupt` for a broken stream (truncated gzip, bad tar), `io` on filesystem errors.
    public static func unpack(
        blobAt path: String, descriptor: Descriptor, diffID: Digest?, into directory: String,
        options: UnpackOptions = UnpackOptions()
    ) throws -> UnpackResult {
        try unpack(blobAt: path, descriptor: descriptor, diffID: diffID, into: directory, options: options, cancellation: nil)
    }

    /// ``unpack(blobAt:descriptor:diffID:into:options:)`` that stops when `cancellation` is set.
    static func unpack(
        blobAt path: String, descriptor: Descriptor, diffID: Digest?, into directory: String, options: UnpackOptions,
        cancellation: UnpackCancellation?
    ) throws -> UnpackResult {
        guard descriptor.mediaType.layerCompression != nil else {
            throw ImageStoreError(.corrupt, "layer \(descriptor.digest): \(descriptor.mediaType) is not a layer media type")
        }
        let fd = try Sys.open(path, O_RDONLY)
        defer { Sys.close(fd) }
        let source = Source(.file(fd), path: path, algorithm: descriptor.digest.algorithm, cancellation: cancellation)
        return try unpack(source, descriptor: descriptor, diffID: diffID, into: directory, options: options)
    }

    /// Unpacks a layer from its ingest while a ``BlobWriter`` is still writing it: each
    /// byte is extracted as soon as it is in the partial file, and the result is returned
    /// only once the writer committed the blob (size and digest verified).
    ///
    /// If extraction fails before the blob verified, the bytes may simply be wrong: the
    /// unpack then waits for the writer, and a discarded or closed ingest is the error
    /// reported (`incomplete`), not what libarchive made of the wrong bytes.
    /// - Parameters:
    ///   - follower: the reader of the ingest (``BlobWriter/follow(cancellation:)``).
    ///   - descriptor: the layer's descriptor.
    ///   - diffID: the expected uncompressed digest, if known.
    ///   - directory: an existing directory to extract into.
    ///   - options: snapshot or flat mode, limits and policies.
    ///   - cancellation: stops the unpack (reads and waits) when set.
    /// - Returns: the verified digests, size and entry count.
    /// - Throws: as ``unpack(blobAt:descriptor:diffID:into:options:)``, and
    ///   ``ImageStoreError`` `incomplete` if the ingest ended without a commit or the
    ///   unpack was cancelled.
    static func unpack(
        following follower: IngestFollower, descriptor: Descriptor, diffID: Digest?, into directory: String,
        options: UnpackOptions, cancellation: UnpackCancellation?
    ) throws -> UnpackResult {
        guard descriptor.mediaType.layerCompression != nil else {
            throw ImageStoreError(.corrupt, "layer \(descriptor.digest): \(descriptor.mediaType) is not a layer media type")
        }
        let source = Source(
            .ingest(follower), path: "ingest of \(descriptor.digest)", algorithm: descriptor.digest.algorithm,
            cancellation: cancellation)
        do {
            return try unpack(source, descriptor: descriptor, diffID: diffID, into: directory, options: options)
        } catch {
            try follower.waitUntilCommitted()
            throw error
        }
    }

    private static func unpack(
        _ source: Source, descriptor: Descriptor, diffID: Digest?, into directory: String, options: UnpackOptions
    ) throws -> UnpackResult {
        guard let compression = descriptor.mediaType.layerCompression else {
            throw ImageStoreError(.corrupt, "layer \(descriptor.digest): \(descriptor.mediaType) is not a layer media type")
        }
        let stream = Stream(limit: options.maxUncompressedSize, layer: descriptor.digest)
        let extractor = try LayerExtractor(target: directory, options: options, layer: "\(descriptor.digest)")

        // Outer archive: decompress into a raw byte stream.
        guard let outer = archive_read_new() else { throw ImageStoreError(.io, "archive_read_new failed") }
        defer { archive_read_free(outer) }
        archive_read_support_format_raw(outer)
        switch compression {
        case .gzip: archive_read_support_filter_gzip(outer)
        case .zstd: archive_read_support_filter_zstd(outer)
        case .none: break
        }
        let sourcePointer = Unmanaged.passUnretained(source).toOpaque()
        guard archive_read_open(outer, sourcePointer, nil, { _, context, buffer in
            let source = Unmanaged<Source>.fromOpaque(context!).takeUnretainedValue()
            return source.read(into: buffer!)
        }, nil) == ARCHIVE_OK else {
            throw corrupt(outer, descriptor, source.error)
        }
        var rawEntry: OpaquePointer?
        let headerStatus = archive_read_next_header(outer, &rawEntry)
        if headerStatus == ARCHIVE_EOF {
            throw ImageStoreError(.corrupt, "layer \(descriptor.digest): empty stream")
        }
        guard headerStatus >= ARCHIVE_WARN else { throw corrupt(outer, descriptor, source.error) }
        let expectedFilter: Int32 = switch compression {
        case .gzip: ARCHIVE_FILTER_GZIP
        case .zstd: ARCHIVE_FILTER_ZSTD
        case .none: ARCHIVE_FILTER_NONE
        }
        guard archive_filter_code(outer, 0) == expectedFilter else {
            throw ImageStoreError(
                .corrupt,
                "layer \(descriptor.digest): content is not \(compression.rawValue)-compressed as \(descriptor.mediaType) says")
        }
        stream.outer = outer

        // Inner archive: parse tar from the decompressed stream.
        guard let inner = archive_read_new() else { throw ImageStoreError(.io, "archive_read_new failed") }
        defer { archive_read_free(inner) }
        archive_read_support_format_tar(inner)
        let streamPointer = Unmanaged.passUnretained(stream).toOpaque()
        guard archive_read_open(inner, streamPointer, nil, { _, context, buffer in
            let stream = Unmanaged<Stream>.fromOpaque(context!).takeUnretainedValue()
            return stream.read(into: buffer!)
        }, nil) == ARCHIVE_OK else {
            throw stream.error ?? source.error ?? corrupt(inner, descriptor, nil)
        }

        var entries = 0
        var lastReport: Int64 = 0
        while true {
            var entryPointer: OpaquePointer?
            let status = archive_read_next_header(inner, &entryPointer)
            if status == ARCHIVE_EOF { break }
            guard status >= ARCHIVE_WARN, let entry = entryPointer else {
                throw stream.error ?? source.error ?? corrupt(inner, descriptor, nil)
            }
            let decoded = try decode(entry, layer: descriptor.digest)
            do {
                try extractor.extract(decoded) { fd in
                    try writeData(inner, to: fd, entry: decoded.path, layer: descriptor.digest, stream: stream, source: source)
                }
            } catch let error as ImageStoreError {
                throw stream.error ?? source.error ?? error
            }
            entries += 1
            if let progress = options.progress, stream.total - lastReport >= 4 << 20 || entries % 1000 == 0 {
                lastReport = stream.total
                progress(UnpackProgress(
                    layer: descriptor.digest, compressedBytes: source.total, totalCompressedBytes: descriptor.size,
                    uncompressedBytes: stream.total, entries: entries, finished: false))
            }
        }
        try extractor.finish()
        // Hash what the tar reader did not need (end-of-archive padding) and what the
        // decompressor left in the file, so both digests cover every byte.
        try stream.drain()
        try source.drain()
        if let error = stream.error ?? source.error { throw error }

        guard source.total == descriptor.size else {
            throw ImageStoreError(
                .sizeMismatch, "layer \(descriptor.digest): blob has \(source.total) bytes, descriptor says \(descriptor.size)")
        }
        let digest: Digest
        switch source.input {
        case .file:
            digest = source.hasher.finalize()
            guard digest == descriptor.digest else {
                throw ImageStoreError(.digestMismatch, "layer: expected \(descriptor.digest), content hashes to \(digest)")
            }
        case .ingest(let follower):
            // The writer hashed these bytes; they count once it committed them.
            try follower.waitUntilCommitted()
            digest = descriptor.digest
        }
        let actualDiffID = stream.hasher.finalize()
        if let diffID, actualDiffID != diffID {
            throw ImageStoreError(
                .digestMismatch, "layer \(descriptor.digest): expected diff ID \(diffID), uncompressed content hashes to \(actualDiffID)")
        }
        options.progress?(UnpackProgress(
            layer: descriptor.digest, compressedBytes: source.total, totalCompressedBytes: descriptor.size,
            uncompressedBytes: stream.total, entries: entries, finished: true))
        return UnpackResult(digest: digest, diffID: actualDiffID, uncompressedSize: stream.total, entries: entries)
    }

    private static func corrupt(_ archive: OpaquePointer, _ descriptor: Descriptor, _ error: ImageStoreError?) -> ImageStoreError {
        if let error { return error }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unreadable archive"
        return ImageStoreError(.corrupt, "layer \(descriptor.digest): \(message)")
    }

    private static func writeData(
        _ archive: OpaquePointer, to fd: Int32, entry: String, layer: Digest, stream: Stream, source: Source
    ) throws {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let status = archive_read_data_block(archive, &buffer, &size, &offset)
            if status == ARCHIVE_EOF { return }
            guard status >= ARCHIVE_WARN else {
                if let error = stream.error ?? source.error { throw error }
                let message = archive_error_string(archive).map { String(cString: $0) } ?? "read error"
                throw ImageStoreError(.corrupt, "layer \(layer): entry \"\(entry)\": \(message)")
            }
            if size > 0, let buffer {
                try Sys.pwriteAll(fd, UnsafeRawBufferPointer(start: buffer, count: size), at: offset, entry)
            }
        }
    }

    private static func string(_ pointer: UnsafePointer<CChar>?, _ utf8: UnsafePointer<CChar>?, layer: Digest, what: String) throws -> String? {
        guard let pointer = pointer ?? utf8 else { return nil }
        guard let value = String(validatingCString: pointer) else {
            throw ImageStoreError(.unsafeLayer, "layer \(layer): \(what) \"\(String(cString: pointer))\" is not valid UTF-8")
        }
        return value
    }

    private static func decode(_ entry: OpaquePointer, layer: Digest) throws -> LayerExtractor.Entry {
        guard let path = try string(archive_entry_pathname(entry), archive_entry_pathname_utf8(entry), layer: layer, what: "entry name") else {
            throw ImageStoreError(.corrupt, "layer \(layer): entry without a name")
        }
        let type = UInt32(archive_entry_filetype(entry))
        let kind: LayerExtractor.Entry.Kind
        if let link = try string(archive_entry_hardlink(entry), archive_entry_hardlink_utf8(entry), layer: layer, what: "hardlink target of \(path)") {
            kind = .hardlink(link)
        } else {
            switch type {
            case Sys.typeRegular: kind = .regular
            case Sys.typeDirectory: kind = .directory
            case Sys.typeSymlink:
                kind = .symlink(try string(archive_entry_symlink(entry), archive_entry_symlink_utf8(entry), layer: layer, what: "symlink target of \(path)") ?? "")
            case Sys.typeCharacter: kind = .character(UInt32(archive_entry_rdevmajor(entry)), UInt32(archive_entry_rdevminor(entry)))
            case Sys.typeBlock: kind = .block(UInt32(archive_entry_rdevmajor(entry)), UInt32(archive_entry_rdevminor(entry)))
            case Sys.typeFIFO: kind = .fifo
            default: kind = .other
            }
        }
        var xattrs: [(String, [UInt8])] = []
        if archive_entry_xattr_reset(entry) > 0 {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
                guard let name else { continue }
                let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                xattrs.append((String(cString: name), bytes))
            }
        }
        let mtime = timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: Int(archive_entry_mtime_nsec(entry)))
        let atime = archive_entry_atime_is_set(entry) != 0
            ? timespec(tv_sec: archive_entry_atime(entry), tv_nsec: Int(archive_entry_atime_nsec(entry))) : mtime
        return LayerExtractor.Entry(
            path: path, kind: kind, mode: UInt32(archive_entry_perm(entry)), uid: archive_entry_uid(entry),
            gid: archive_entry_gid(entry), size: archive_entry_size(entry), mtime: mtime, atime: atime, xattrs: xattrs)
    }

    /// Reads the blob for the outer archive: from its file, hashing the compressed bytes,
    /// or from its ingest as it grows (the ingest's writer hashes them).
    final class Source {
        enum Input {
            case file(Int32)
            case ingest(IngestFollower)
        }

        let input: Input
        let path: String
        var hasher: Digest.Hasher
        var total: Int64 = 0
        var error: ImageStoreError?
        private let cancellation: UnpackCancellation?
        private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

        init(_ input: Input, path: String, algorithm: Digest.Algorithm, cancellation: UnpackCancellation?) {
            self.input = input
            self.path = path
            self.hasher = Digest.Hasher(algorithm: algorithm)
            self.cancellation = cancellation
        }

        deinit { buffer.deallocate() }

        func read(into out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
            do {
                let n = try next()
                out.pointee = UnsafeRawPointer(buffer.baseAddress)
                return n
            } catch let error as ImageStoreError {
                self.error = error
                return -1
            } catch {
                return -1
            }
        }

        func drain() throws {
            while try next() > 0 {}
        }

        private func next() throws -> Int {
            if cancellation?.isCancelled == true {
                throw ImageStoreError(.incomplete, "\(path): unpack cancelled at byte \(total)")
            }
            let n: Int
            switch input {
            case .file(let fd):
                n = try Sys.read(fd, buffer, path)
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            case .ingest(let follower):
                n = try follower.read(into: buffer)
            }
            total += Int64(n)
            return n
        }
    }

    /// Feeds the tar reader from the outer archive's decompressed data, hashing it (the
    /// diff ID) and enforcing the uncompressed size limit.
    ///
    /// The decompressor's own output blocks are handed on as they come (no copy, and no
    /// waiting for a full buffer): when the blob is read from an ingest that is still
    /// being written, what has arrived is extracted at once.
    final class Stream {
        var outer: OpaquePointer?
        var hasher = Digest.Hasher(algorithm: .sha256)
        var total: Int64 = 0
        var error: ImageStoreError?
        let limit: Int64
        let layer: Digest

        init(limit: Int64, layer: Digest) {
            self.limit = limit
            self.layer = layer
        }

        func read(into out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
            guard error == nil, let outer else { return -1 }
            var block: UnsafeRawPointer?
            var size = 0
            var offset: la_int64_t = 0
            var status = ARCHIVE_OK
            repeat {
                status = archive_read_data_block(outer, &block, &size, &offset)
            } while status == ARCHIVE_OK && size == 0
            if status == ARCHIVE_EOF { return 0 }
            guard status >= ARCHIVE_WARN, let block, offset == total else {
                let message = archive_error_string(outer).map { String(cString: $0) } ?? "decompression failed"
                error = ImageStoreError(.corrupt, "layer \(layer): \(message)")
                return -1
            }
            total += Int64(size)
            if total > limit {
                error = ImageStoreError(
                    .unsafeLayer,
                    "layer \(layer): uncompressed size exceeds the limit of \(limit) bytes (decompression bomb?)")
                return -1
            }
            hasher.update(UnsafeRawBufferPointer(start: block, count: size))
            out.pointee = block
            return size
        }

        func drain() throws {
            let scratch = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: 1)
            defer { scratch.deallocate() }
            while read(into: scratch) > 0 {}
            if let error { throw error }
        }
    }
}
