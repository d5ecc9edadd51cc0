import Foundation
import Glibc

/// The container's /etc/hosts, /etc/hostname and /etc/resolv.conf, generated from the
/// host's files and the network settings, to be bind-mounted into the container.
struct EtcFiles {
    /// The host files read as the base (tests point these elsewhere).
    var hostResolvConf = "/etc/resolv.conf"
    var hostHosts = "/etc/hosts"

    /// Docker's fallback when the host has only loopback name servers, which a container
    /// in its own namespace cannot reach.
    static let fallbackNameservers = ["8.8.8.8", "8.8.4.4"]

    /// /etc/hostname: the name and a newline.
    func hostnameFile(_ hostname: String) -> String { hostname + "\n" }

    /// /etc/hosts: localhost entries, the container's own addresses under its hostname,
    /// extra entries; in host mode the host's file followed by the hostname line.
    func hostsFile(hostname: String, addresses: [IPAddress], extra: [String: IPAddress], hostMode: Bool) -> String {
        var lines: [String] = []
        if hostMode, let host = try? String(contentsOfFile: hostHosts, encoding: .utf8) {
            lines.append(host.hasSuffix("\n") ? String(host.dropLast()) : host)
        } else {
            lines += ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                      "fe00::0\tip6-localnet", "ff00::0\tip6-mcastprefix", "ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters"]
        }
        for address in addresses { lines.append("\(address)\t\(hostname)") }
        if addresses.isEmpty, !hostMode { lines.append("127.0.1.1\t\(hostname)") }
        for (name, address) in extra.sorted(by: { $0.key < $1.key }) { lines.append("\(address)\t\(name)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// /etc/resolv.conf: the host's, with `servers`/`search` overriding; outside the
    /// host's namespace, loopback name servers (systemd-resolved's 127.0.0.53) are dropped
    /// and the fallback used when none is left.
    func resolvConf(servers: [IPAddress]?, search: [String]?, hostMode: Bool) -> String {
        let host = (try? String(contentsOfFile: hostResolvConf, encoding: .utf8)) ?? ""
        var hostServers: [String] = []
        var hostSearch: [String] = []
        var other: [String] = []
        for line in host.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = fields.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver": if fields.count > 1 { hostServers.append(fields[1]) }
            case "search", "domain": hostSearch = Array(fields.dropFirst())
            default: other.append(fields.joined(separator: " "))
            }
        }
        var chosen = servers?.map(\.description) ?? hostServers
        if !hostMode {
            chosen = chosen.filter { !(IPAddress($0)?.isLoopback ?? false) }
            if chosen.isEmpty, servers == nil { chosen = Self.fallbackNameservers }
        }
        var lines: [String] = []
        let domains = search ?? hostSearch
        if !domains.isEmpty { lines.append("search " + domains.joined(separator: " ")) }
        lines += chosen.map { "nameserver " + $0 }
        lines += other
        return lines.joined(separator: "\n") + "\n"
    }

    /// The names of the files, as they appear in the directory and under /etc.
    static let names = ["hostname", "hosts", "resolv.conf"]

    /// Writes the three files into `directory` (created 0755: the container reads them).
    func write(to directory: String, hostname: String, hosts: String, resolvConf: String) throws(NetworkError) {
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            throw NetworkError(.system, "create \(directory)", errno: errno)
        }
        for (name, text) in zip(Self.names, [hostnameFile(hostname), hosts, resolvConf]) {
            let path = directory + "/" + name
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else { throw NetworkError(.system, "create \(path)", errno: errno) }
            let bytes = Array(text.utf8)
            let written = Glibc.write(fd, bytes, bytes.count)
            let error = errno
            close(fd)
            guard written == bytes.count else { throw NetworkError(.system, "write \(path)", errno: error) }
        }
    }

    /// Removes the files and the directory; true if the directory existed.
    @discardableResult
    static func remove(_ directory: String) throws(NetworkError) -> Bool {
        for name in names {
            guard unlink(directory + "/" + name) == 0 || errno == ENOENT else {
                throw NetworkError(.system, "remove \(directory)/\(name)", errno: errno)
            }
        }
        if rmdir(directory) == 0 { return true }
        guard errno == ENOENT else { throw NetworkError(.system, "remove \(directory)", errno: errno) }
        return false
    }
}
