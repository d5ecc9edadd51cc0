import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Protects what is being added to the store from garbage collection: while a lease is
/// held, ``ImageStore/collectGarbage(dryRun:gracePeriod:)`` (in any process) keeps every
/// blob and snapshot committed or re-ingested since the lease was taken, even while no
/// image names it yet — e.g. the layers of a pull whose manifest is not tagged yet.
///
/// A lease is a file under `locks/leases/` held with `flock(2)`; it dies with its process
/// (even on SIGKILL), so a crashed puller never pins content forever.
///
/// ```swift
/// try await store.withLease {
///     // ingest blobs, then tag the image
/// }
/// ```
public final class ImageStoreLease: Sendable {
    /// The lease file.
    public let path: String
    private let lock: Mutex<StoreLock?>

    init(path: String, lock: StoreLock) {
        self.path = path
        self.lock = Mutex(lock)
    }

    /// Ends the lease: what it protected is again subject to the grace period only.
    /// Safe to call more than once.
    public func release() {
        lock.withLock { held in
            held?.unlinkAndRelease()
            held = nil
        }
    }
}

extension ImageStore {
    var leasesDirectory: String { "\(root)/locks/leases" }

    /// Takes a lease; call ``ImageStoreLease/release()`` when what it protects is named.
    /// - Returns: the held lease.
    /// - Throws: ``ImageStoreError`` `io` if the lease file cannot be created or locked.
    public func lease() throws -> ImageStoreLease {
        try Sys.mkdir(leasesDirectory, 0o755)
        let path = "\(leasesDirectory)/\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        guard let lock = try StoreLock.acquire(path, mode: .exclusive, wait: false) else {
            throw ImageStoreError(.locked, "lease \(path) is held by another process")
        }
        return ImageStoreLease(path: path, lock: lock)
    }

    /// Runs `body` holding a lease, released when it returns or throws.
    /// - Parameter body: the work to protect (e.g. a pull: ingest, then tag).
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws, or ``lease()``'s errors.
    public func withLease<R>(_ body: () async throws -> R) async throws -> R {
        let lease = try lease()
        defer { lease.release() }
        return try await body()
    }

    /// The creation times (seconds since the epoch) of leases held by live holders;
    /// removes lease files whose holder is gone (unless `dryRun`).
    func liveLeaseTimes(dryRun: Bool) throws -> [Double] {
        var times: [Double] = []
        for name in try Sys.listDirectory(leasesDirectory) {
            let path = "\(leasesDirectory)/\(name)"
            guard let st = Sys.lstat(path) else { continue }
            if let free = try StoreLock.acquire(path, mode: .exclusive, wait: false) {
                if dryRun { free.release() } else { free.unlinkAndRelease() }
                continue
            }
            times.append(Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
        }
        return times
    }

    /// Marks an existing blob as new (its mtime now), so a lease or the grace period
    /// protects it like a freshly committed one while the image using it is assembled.
    func touch(_ path: String) {
        _ = utimensat(AT_FDCWD, path, nil, 0)
    }
}
