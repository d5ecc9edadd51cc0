import Foundation
import Glibc

/// Caisson's network state on disk, shared by every process that uses the same roots:
///
/// - `stateRoot/networks/<name>.json`: a network's settings;
/// - `stateRoot/ipam/<name>.json`: its address allocations (address → container id);
/// - `stateRoot/attachments/<id>.json`: what was set up for a container;
/// - `runRoot/netns/<id>`: the bind-mounted namespace; `runRoot/etc/<id>/`: /etc files.
///
/// Every change happens under one exclusive `flock` on `stateRoot/lock`, so two processes
/// never hand out one address or one host port twice.
struct StateStore: Sendable {
    let stateRoot: String
    let runRoot: String

    var networksDirectory: String { stateRoot + "/networks" }
    var ipamDirectory: String { stateRoot + "/ipam" }
    var attachmentsDirectory: String { stateRoot + "/attachments" }
    var netnsDirectory: String { runRoot + "/netns" }
    var etcRoot: String { runRoot + "/etc" }

    func netnsPath(_ id: String) -> String { netnsDirectory + "/" + id }
    func etcDirectory(_ id: String) -> String { etcRoot + "/" + id }

    /// Creates the directories (0700: the files name containers and addresses). The run
    /// root and the /etc files' directory are 0711: a container in a user namespace, whose
    /// root is not the host's, must reach its bind-mounted /etc files, but not list others'.
    func prepare() throws(NetworkError) {
        for directory in [stateRoot, networksDirectory, ipamDirectory, attachmentsDirectory, runRoot, netnsDirectory, etcRoot] {
            let traversable = directory == runRoot || directory == etcRoot
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: traversable ? 0o711 : 0o700])
            } catch {
                throw NetworkError(.system, "create state directory \(directory): \(error)")
            }
        }
    }

    /// Runs `body` holding the exclusive lock.
    func locked<R>(_ body: () throws(NetworkError) -> R) throws(NetworkError) -> R {
        try prepare()
        let path = stateRoot + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw NetworkError(.system, "open lock \(path)", errno: errno) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw NetworkError(.system, "lock \(path)", errno: errno) }
        }
        return try body()
    }

    // MARK: JSON files

    func read<T: Decodable>(_ type: T.Type, at path: String) throws(NetworkError) -> T? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw NetworkError(.system, "read \(path): \(error)")
        }
    }

    /// Writes atomically (temporary file, fsync, rename) so a crash leaves the old or the new.
    func write<T: Encodable>(_ value: T, at path: String) throws(NetworkError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(value) } catch { throw NetworkError(.system, "encode \(path): \(error)") }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw NetworkError(.system, "create \(temporary)", errno: errno) }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let syncFailed = fsync(fd) != 0
        close(fd)
        guard written == data.count, !syncFailed, rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw NetworkError(.system, "write \(path)", errno: error)
        }
    }

    func remove(_ path: String) throws(NetworkError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw NetworkError(.system, "remove \(path)", errno: errno) }
    }

    /// The names of `*.json` files in a directory, without the extension.
    func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    // MARK: Typed access

    func network(_ name: String) throws(NetworkError) -> BridgeNetwork? {
        try read(BridgeNetwork.self, at: "\(networksDirectory)/\(name).json")
    }

    func networks() throws(NetworkError) -> [BridgeNetwork] {
        var result: [BridgeNetwork] = []
        for name in names(in: networksDirectory) {
            if let network = try network(name) { result.append(network) }
        }
        return result
    }

    func save(_ network: BridgeNetwork) throws(NetworkError) {
        try write(network, at: "\(networksDirectory)/\(network.name).json")
    }

    func attachment(_ id: String) throws(NetworkError) -> NetworkAttachment? {
        try read(NetworkAttachment.self, at: "\(attachmentsDirectory)/\(id).json")
    }

    func attachments() throws(NetworkError) -> [NetworkAttachment] {
        var result: [NetworkAttachment] = []
        for id in names(in: attachmentsDirectory) {
            if let attachment = try attachment(id) { result.append(attachment) }
        }
        return result
    }

    func save(_ attachment: NetworkAttachment) throws(NetworkError) {
        try write(attachment, at: "\(attachmentsDirectory)/\(attachment.containerID).json")
    }

    func removeAttachment(_ id: String) throws(NetworkError) {
        try remove("\(attachmentsDirectory)/\(id).json")
    }
}
