import CArchive
import Foundation
import OCIHashing
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

extension ImageStore {
    /// Writes named images as an OCI archive: a tar of an OCI image layout (`oci-layout`,
    /// `index.json` with one entry per name, `blobs/<alg>/<hex>`), which
    /// `skopeo copy oci-archive:FILE[:NAME] …` and ``importImages(from:format:name:)`` read.
    ///
    /// Every blob is re-hashed while it is copied, so a corrupt store never produces an
    /// archive. The archive is written next to `path` and renamed into place when complete.
    /// - Parameters:
    ///   - names: the images to export (all platforms of a multi-platform image).
    ///   - path: the archive file to create or replace.
    /// - Throws: ``ImageStoreError`` `notFound` naming a missing image or blob, `corrupt`
    ///   naming a blob that fails its digest, `io` on failures (nothing is left at `path`).
    public func exportArchive(images names: [String], to path: String) async throws {
        try await BlockingIO.run { try self.withSharedStoreLock { try self.exportBlocking(names, to: path) } }
    }

    func exportBlocking(_ names: [String], to path: String) throws {
        guard !names.isEmpty else { throw ImageStoreError(.notFound, "export to \(path): no image named") }
        let current = try index()
        var entries: [Descriptor] = []
        for name in names {
            let found = current.manifests(named: name)
            guard !found.isEmpty else { throw ImageStoreError(.notFound, "no image named \(name) in \(root)") }
            entries.append(contentsOf: found)
        }
        var blobs: [Descriptor] = []
        var seen: Set<Digest> = []
        for entry in entries { try reachable(from: entry, into: &blobs, seen: &seen, depth: 0) }

        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(directory.isEmpty ? "." : directory)/.\((path as NSString).lastPathComponent).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"
        do {
            try writeArchive(to: temporary, index: ImageIndex(manifests: entries), blobs: blobs)
            let fd = try Sys.open(temporary, O_RDONLY)
            defer { Sys.close(fd) }
            try Sys.fsync(fd, temporary)
            try Sys.rename(temporary, path)
        } catch {
            _ = unlink(temporary)
            throw error
        }
    }

    /// Every blob a manifest or index leads to, documents before what they reference.
    private func reachable(from descriptor: Descriptor, into blobs: inout [Descriptor], seen: inout Set<Digest>, depth: Int) throws {
        guard depth < 8 else { throw ImageStoreError(.corrupt, "index \(descriptor.digest) nests more than 8 levels deep") }
        guard seen.insert(descriptor.digest).inserted else { return }
        guard contains(descriptor.digest) else {
            throw ImageStoreError(.notFound, "blob \(descriptor.digest) (\(descriptor.mediaType)) not in \(root)")
        }
        blobs.append(descriptor)
        let kind = descriptor.mediaType
        guard kind.isIndex || kind.isManifest else { return }
        let document: ManifestDocument
        do {
            document = try ManifestDocument.decode(readBlob(descriptor.digest), mediaType: kind)
        } catch let error as ImageStoreError {
            throw error
        } catch {
            throw ImageStoreError(.corrupt, "blob \(descriptor.digest) is not a \(kind)", underlying: error)
        }
        switch document {
        case .index(let index):
            for child in index.manifests { try reachable(from: child, into: &blobs, seen: &seen, depth: depth + 1) }
        case .manifest(let manifest):
            try reachable(from: manifest.config, into: &blobs, seen: &seen, depth: depth + 1)
            for layer in manifest.layers {
                // Non-distributable layers with URLs may be absent: a layout may omit them.
                if !(layer.urls ?? []).isEmpty && !contains(layer.digest) { continue }
                try reachable(from: layer, into: &blobs, seen: &seen, depth: depth + 1)
            }
        }
    }

    private func writeArchive(to path: String, index: ImageIndex, blobs: [Descriptor]) throws {
        guard let archive = archive_write_new() else { throw ImageStoreError(.io, "archive_write_new failed") }
        defer { archive_write_free(archive) }
        archive_write_set_format_pax_restricted(archive)
        func check(_ status: Int32, _ what: String) throws {
            guard status >= ARCHIVE_WARN else {
                let message = archive_error_string(archive).map { String(cString: $0) } ?? "write failed"
                throw ImageStoreError(.io, "write \(path): \(what): \(message)")
            }
        }
        try check(archive_write_open_filename(archive, path), "open")
        let now = time(nil)

        func header(_ name: String, type: UInt32, size: Int64) throws {
            guard let entry = archive_entry_new() else { throw ImageStoreError(.io, "archive_entry_new failed") }
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, name)
            archive_entry_set_filetype(entry, type)
            archive_entry_set_perm(entry, type == Sys.typeDirectory ? 0o755 : 0o644)
            archive_entry_set_size(entry, size)
            archive_entry_set_mtime(entry, now, 0)
            try check(archive_write_header(archive, entry), name)
        }
        func document(_ name: String, _ data: Data) throws {
            try header(name, type: Sys.typeRegular, size: Int64(data.count))
            let written = data.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
            guard written == data.count else { try check(-30, name); return }
        }

        try document(ImageLayout.layoutFileName, OCIJSON.encode(ImageLayout()))
        try document(ImageLayout.indexFileName, OCIJSON.encode(index))
        try header(ImageLayout.blobsDirectoryName + "/", type: Sys.typeDirectory, size: 0)
        var algorithms: Set<String> = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        for blob in blobs {
            let name = ImageLayout.blobPath(for: blob.digest)
            if algorithms.insert(blob.digest.algorithm.name).inserted {
                try header("\(ImageLayout.blobsDirectoryName)/\(blob.digest.algorithm.name)/", type: Sys.typeDirectory, size: 0)
            }
            let source = blobPath(blob.digest)
            let fd = try Sys.open(source, O_RDONLY)
            defer { Sys.close(fd) }
            let size = Int64(try Sys.fstat(fd, source).st_size)
            try header(name, type: Sys.typeRegular, size: size)
            var hasher = Digest.Hasher(algorithm: blob.digest.algorithm)
            var copied: Int64 = 0
            while copied < size {
                let n = try Sys.read(fd, buffer, source)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<min(n, Int(size - copied))])
                hasher.update(chunk)
                guard archive_write_data(archive, chunk.baseAddress, chunk.count) == chunk.count else { try check(-30, name); return }
                copied += Int64(chunk.count)
            }
            let actual = hasher.finalize()
            guard copied == size, actual == blob.digest else {
                throw ImageStoreError(.corrupt, "blob \(source) is corrupt: expected \(blob.digest), content hashes to \(actual); no archive written")
            }
        }
        try check(archive_write_close(archive), "close")
    }
}
