import Glibc
import _CNetwork

/// An rtnetlink socket bound to one network namespace: the host's, or a container's.
///
/// A netlink socket keeps the namespace it was created in, so configuring a container's
/// namespace needs no thread to stay inside it; only the socket's creation happens there.
struct RouteSocket: ~Copyable {
    private let fd: Int32
    /// What the socket is for, in error messages (`host`, `container "web"`).
    let owner: String

    /// Opens a socket in the namespace of `namespaceFD` (the caller's when nil).
    init(namespaceFD: Int32? = nil, owner: String = "host") throws(NetworkError) {
        let rc = cnet_route_socket(namespaceFD ?? -1)
        guard rc >= 0 else { throw .system("\(owner): open rtnetlink socket", rc) }
        fd = rc
        self.owner = owner
    }

    deinit { close(fd) }

    private func check(_ rc: Int32, _ what: @autoclosure () -> String) throws(NetworkError) {
        guard rc >= 0 else { throw .system("\(owner): \(what())", rc) }
    }

    /// Creates a bridge.
    func addBridge(_ name: String, mtu: Int?) throws(NetworkError) {
        try check(cnet_link_add_bridge(fd, name, UInt32(mtu ?? 0)), "create bridge \(name)")
    }

    /// Creates a veth pair whose peer is created in `peerNamespaceFD` under `peer`.
    func addVeth(_ name: String, peer: String, peerNamespaceFD: Int32, mtu: Int?, master: Int32) throws(NetworkError) {
        try check(cnet_link_add_veth(fd, name, peer, peerNamespaceFD, UInt32(mtu ?? 0), master),
                  "create veth \(name) (peer \(peer))")
    }

    /// The index of `name`, or nil when there is no such link.
    func index(of name: String) throws(NetworkError) -> Int32? {
        let rc = cnet_link_index(fd, name)
        if rc == -ENODEV { return nil }
        try check(rc, "look up link \(name)")
        return rc
    }

    /// The index of `name`; throws when it does not exist.
    func requireIndex(of name: String) throws(NetworkError) -> Int32 {
        guard let index = try index(of: name) else {
            throw NetworkError(.notFound, "\(owner): no link named \(name)")
        }
        return index
    }

    /// Sets a link up.
    func setUp(_ index: Int32, name: String) throws(NetworkError) {
        try check(cnet_link_set_up(fd, index), "set \(name) up")
    }

    /// Deletes `name`; true if it existed.
    @discardableResult
    func deleteLink(_ name: String) throws(NetworkError) -> Bool {
        let rc = cnet_link_delete(fd, name)
        if rc == -ENODEV { return false }
        try check(rc, "delete link \(name)")
        return true
    }

    /// Adds `address/prefixLength` to a link (IPv6 without duplicate address detection,
    /// which would otherwise leave it unusable for about a second).
    func addAddress(_ address: IPAddress, prefixLength: Int, index: Int32, name: String) throws(NetworkError) {
        let bytes = address.bytes
        try check(cnet_addr_add(fd, index, address.family, bytes, Int32(prefixLength), address.isIPv6 ? 1 : 0),
                  "add address \(address)/\(prefixLength) to \(name)")
    }

    /// Adds a default route via `gateway`.
    func addDefaultRoute(via gateway: IPAddress, index: Int32, name: String) throws(NetworkError) {
        let bytes = gateway.bytes
        try check(cnet_route_add_default(fd, gateway.family, bytes, index), "add default route via \(gateway) on \(name)")
    }

    /// A link as the kernel lists it.
    struct Link: Hashable {
        var index: Int32
        var name: String
        var master: Int32
        var kind: String
    }

    /// Every link of the namespace.
    func links() throws(NetworkError) -> [Link] {
        try dump(cnet_link_list, "list links").compactMap { fields in
            guard fields.count == 4, let index = Int32(fields[0]), let master = Int32(fields[2]) else { return nil }
            return Link(index: index, name: fields[1], master: master, kind: fields[3])
        }
    }

    /// Every address of the namespace, as (link index, address, prefix length).
    func addresses() throws(NetworkError) -> [(index: Int32, address: IPAddress, prefixLength: Int)] {
        try dump(cnet_addr_list, "list addresses").compactMap { fields in
            guard fields.count == 3, let index = Int32(fields[0]) else { return nil }
            let cidr = fields[2].split(separator: "/")
            guard cidr.count == 2, let address = IPAddress(String(cidr[0])), let prefix = Int(cidr[1]) else { return nil }
            return (index, address, prefix)
        }
    }

    private func dump(_ call: (Int32, UnsafeMutablePointer<CChar>, Int) -> Int32, _ what: String) throws(NetworkError) -> [[String]] {
        var size = 64 * 1024
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let rc = call(fd, &buffer, size)
            if rc == -ENOSPC, size < 16 << 20 {
                size *= 4
                continue
            }
            try check(rc, what)
            let text = String(decoding: buffer.prefix(Int(rc)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        }
    }
}
