#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Parent cgroup directories that this runtime's containers made — a `cgroupsPath` under
/// a parent that did not exist — listed under the state root (`@cgroup-parents`), so that
/// the last container to leave such a parent removes it. runc leaves them for good: the
/// first container made the parent but cannot remove it while its siblings live, and the
/// siblings found it there, so none of them knew it was theirs to remove.
///
/// A parent that someone else made (an administrator's, with limits for the containers
/// under it) is never listed, so never removed; nor is anything above it. The list is
/// read and rewritten under an exclusive `flock`, so runtimes in several processes that
/// share the state root agree. A create that loses its parent to a concurrent removal
/// makes it again (``Cgroups/create(cgroupsPath:)`` retries a vanished parent).
struct CgroupParents {
    let path: String

    init(stateRoot: String) {
        path = stateRoot + "/@cgroup-parents"
    }

    /// Adds `directories` (absolute paths) to the list.
    func record(_ directories: [String]) {
        guard !directories.isEmpty else { return }
        withLockedList(creating: true) { list in list.formUnion(directories) }
    }

    /// After a container's own cgroup directories are gone: for each, removes the listed
    /// ancestors that are now empty, nearest first, up to the first one that is still in
    /// use or not on the list.
    func removeEmptyAncestors(of leaves: [String]) {
        withLockedList(creating: false) { list in
            guard !list.isEmpty else { return }
            for leaf in leaves {
                var current = leaf
                while let slash = current.lastIndex(of: "/"), slash != current.startIndex {
                    current = String(current[..<slash])
                    guard list.contains(current) else { break }
                    if rmdir(current) == 0 || Glibc.errno == ENOENT {
                        list.remove(current)
                    } else {
                        break  // EBUSY: another container still lives under it
                    }
                }
            }
        }
    }

    /// Runs `body` on the list with the file locked, then writes it back if it changed.
    /// Best effort: a list that cannot be read or written leaves parents behind, as runc
    /// does, and never fails a create or a delete.
    /// `creating`: make the file if there is none (else there is nothing to do).
    private func withLockedList(creating: Bool, _ body: (inout Set<String>) -> Void) {
        let fd = open(path, O_RDWR | O_CLOEXEC | (creating ? O_CREAT : 0), 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }  // also releases the lock
        while flock(fd, LOCK_EX) != 0 {
            guard Glibc.errno == EINTR else { return }
        }
        guard let bytes = try? readAll(fd) else { return }
        let before = Set(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init))
        var list = before
        body(&list)
        guard list != before else { return }
        let text = Array(list.sorted().map { $0 + "\n" }.joined().utf8)
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else { return }
        try? writeAll(fd, text)
    }
}
