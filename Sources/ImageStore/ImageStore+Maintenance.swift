import Foundation
import OCIHashing
import OCISpec

#if canImport(Glibc)
import Glibc
#endif

extension ImageStore {
    /// Re-hashes every blob and reports the corrupt ones.
    /// - Returns: the report.
    /// - Throws: ``ImageStoreError`` `io` if `blobs/` cannot be read.
    public func verify() async throws -> VerifyReport {
        try await BlockingIO.run { try self.verifyBlocking() }
    }

    func verifyBlocking() throws -> VerifyReport {
        var checked = 0
        var corrupt: [Digest: Digest] = [:]
        var unexpected: [String] = []
        let blobs = "\(root)/\(ImageLayout.blobsDirectoryName)"
        for algorithmName in try Sys.listDirectory(blobs) {
            for encoded in try Sys.listDirectory("\(blobs)/\(algorithmName)") {
                guard let algorithm = Digest.Algorithm.named(algorithmName),
                    let digest = try? Digest(algorithm: algorithm, encoded: encoded)
                else {
                    unexpected.append("\(algorithmName)/\(encoded)")
                    continue
                }
                checked += 1
                let actual = try hashFile(blobPath(digest), algorithm: algorithm)
                if actual != digest { corrupt[digest] = actual }
            }
        }
        return VerifyReport(checked: checked, corrupt: corrupt, unexpected: unexpected)
    }

    func hashFile(_ path: String, algorithm: Digest.Algorithm) throws -> Digest {
        let fd = try Sys.open(path, O_RDONLY)
        defer { Sys.close(fd) }
        var hasher = Digest.Hasher(algorithm: algorithm)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try Sys.read(fd, $0, path) }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hasher.finalize()
    }

    /// Garbage collection: marks every blob reachable from `index.json` (all entries,
    /// named or not, through nested indexes, manifests, configs, layers and subjects) and
    /// from containers, and every snapshot in the chains of those images; sweeps the rest,
    /// plus partial ingests nobody holds and temporary directories of dead unpacks.
    ///
    /// Holds the store's exclusive lock, so it waits for ingests, unpacks and prepares in
    /// this and other processes to finish, and they wait for it.
    ///
    /// A pull commits its blobs one by one and names the image last, so between two of
    /// its steps its blobs are unreachable. They are kept when committed (or re-ingested)
    /// after a live ``ImageStoreLease`` was taken (see ``lease()``; `RegistryClient.pull`
    /// holds one), in this or another process, or when younger than `gracePeriod` — for
    /// writers that take no lease, such as skopeo copying into the store's layout.
    /// - Parameters:
    ///   - dryRun: report what would go, delete nothing.
    ///   - gracePeriod: unreachable blobs and snapshots modified more recently than this
    ///     are kept. None by default, so removing an image frees its space at once.
    /// - Returns: what was (or would be) removed and the bytes freed.
    /// - Throws: ``ImageStoreError`` `io` on failures; `corrupt` if a reachable manifest
    ///   does not decode (nothing is deleted then).
    public func collectGarbage(dryRun: Bool = false, gracePeriod: Duration = .zero) async throws -> GarbageCollectionReport {
        try await BlockingIO.run {
            try StoreLock.with(self.gcLockPath, mode: .exclusive) {
                try self.collectGarbageBlocking(dryRun: dryRun, gracePeriod: gracePeriod)
            }
        }
    }

    private func collectGarbageBlocking(dryRun: Bool, gracePeriod: Duration) throws -> GarbageCollectionReport {
        // Anything modified at or after `keepSince` stays even if unreachable.
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let graceSeconds = Double(gracePeriod.components.seconds) + Double(gracePeriod.components.attoseconds) / 1e18
        var keepSince = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 - max(graceSeconds, 0)
        if let oldestLease = try liveLeaseTimes(dryRun: dryRun).min() {
            // One second of slack for filesystems with coarse timestamps.
            keepSince = min(keepSince, oldestLease - 1)
        }
        func isYoung(_ path: String) -> Bool {
            guard let st = Sys.lstat(path) else { return false }
            return Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9 >= keepSince
        }
        var young: [Digest] = []

        var marked: Set<Digest> = []
        var liveSnapshots: Set<Digest> = []
        var queue: [Descriptor] = try index().manifests
        // Containers keep their image's blobs and snapshots.
        for key in try Sys.listDirectory(containersDirectory) {
            guard let data = try? Sys.readFile("\(containerDirectory(key))/info.json"),
                let record = try? OCIJSON.decode(ContainerRecord.self, from: data)
            else { continue }
            liveSnapshots.formUnion(record.chainIDs)
            queue.append(Descriptor(mediaType: .imageManifest, digest: record.manifest, size: 0))
        }
        while let descriptor = queue.popLast() {
            guard marked.insert(descriptor.digest).inserted, contains(descriptor.digest) else { continue }
            let kind = descriptor.mediaType
            guard kind.isIndex || kind.isManifest || (!kind.isLayer && !kind.isImageConfig && descriptor.size < 4 << 20) else { continue }
            guard let data = try? readBlob(descriptor.digest),
                let document = try? ManifestDocument.decode(data, mediaType: kind.isIndex || kind.isManifest ? kind : nil)
            else {
                if kind.isIndex || kind.isManifest {
                    throw ImageStoreError(.corrupt, "reachable \(kind) \(descriptor.digest) does not decode; not collecting")
                }
                continue
            }
            switch document {
            case .index(let index):
                queue.append(contentsOf: index.manifests)
                if let subject = index.subject { queue.append(subject) }
            case .manifest(let manifest):
                queue.append(manifest.config)
                queue.append(contentsOf: manifest.layers)
                if let subject = manifest.subject { queue.append(subject) }
                marked.insert(manifest.config.digest)
                if let configData = try? readBlob(manifest.config.digest),
                    let config = try? OCIJSON.decode(ImageConfiguration.self, from: configData)
                {
                    liveSnapshots.formUnion(ChainID.chain(config.rootfs.diffIDs))
                }
            }
        }

        var blobs: [Digest] = []
        var snapshots: [Digest] = []
        var stale: [String] = []
        var bytes: Int64 = 0
        let blobsDirectory = "\(root)/\(ImageLayout.blobsDirectoryName)"
        for algorithmName in try Sys.listDirectory(blobsDirectory) {
            guard let algorithm = Digest.Algorithm.named(algorithmName) else { continue }
            for encoded in try Sys.listDirectory("\(blobsDirectory)/\(algorithmName)") {
                guard let digest = try? Digest(algorithm: algorithm, encoded: encoded), !marked.contains(digest) else { continue }
                if isYoung(blobPath(digest)) {
                    young.append(digest)
                    continue
                }
                blobs.append(digest)
                bytes += Sys.diskUsage(blobPath(digest))
                if !dryRun { _ = unlink(blobPath(digest)) }
            }
        }
        for name in try Sys.listDirectory(snapshotsDirectory) {
            let path = "\(snapshotsDirectory)/\(name)"
            if name.hasPrefix(".tmp-") {
                stale.append("snapshots/\(name)")
            } else if let chainID = Self.decoded(name), !liveSnapshots.contains(chainID) {
                if isYoung(path) {
                    young.append(chainID)
                    continue
                }
                snapshots.append(chainID)
            } else {
                continue
            }
            bytes += Sys.diskUsage(path)
            if !dryRun { try Sys.removeTree(path) }
        }
        for name in try Sys.listDirectory(ingestDirectory) where !name.hasSuffix(".lock") {
            let path = "\(ingestDirectory)/\(name)"
            // A partial whose lock we can take is not being written by anyone.
            if name.hasPrefix(".import-") {
                // Staging of an import that died (a live one holds the shared lock).
                stale.append("ingest/\(name)")
                bytes += Sys.diskUsage(path)
                if !dryRun { try Sys.removeTree(path) }
            } else if !name.hasPrefix(".layer-") {
                guard let lock = try StoreLock.acquire(path + ".lock", mode: .exclusive, wait: false) else { continue }
                stale.append("ingest/\(name)")
                bytes += Sys.diskUsage(path)
                if !dryRun {
                    _ = unlink(path)
                    lock.unlinkAndRelease()
                } else {
                    lock.release()
                }
            } else {
                stale.append("ingest/\(name)")
                bytes += Sys.diskUsage(path)
                if !dryRun { _ = unlink(path) }
            }
        }
        return GarbageCollectionReport(
            dryRun: dryRun, blobs: blobs.sorted(), snapshots: snapshots.sorted(), stale: stale, bytes: bytes, kept: young.sorted())
    }
}
