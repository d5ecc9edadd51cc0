/// Per-network IP address management: a persistent map from address to container id in
/// `stateRoot/ipam/<network>.json`, changed only under the store's lock.
///
/// Addresses are handed out lowest-free-first after the gateway and stay taken until
/// released, across process restarts; `prune` releases those whose container is gone.
struct AddressAllocator {
    let store: StateStore
    let network: String

    private var path: String { "\(store.ipamDirectory)/\(network).json" }

    /// The allocations: address text → container id.
    func allocations() throws(NetworkError) -> [String: String] {
        try store.read([String: String].self, at: path) ?? [:]
    }

    /// Takes the lowest free address of `subnet` for `containerID` (or returns the one it
    /// holds already, so a retried attach is idempotent).
    func allocate(in subnet: Subnet, for containerID: String) throws(NetworkError) -> IPAddress {
        var table = try allocations()
        if let held = table.first(where: { $0.value == containerID && subnet.contains(IPAddress($0.key) ?? .v4(0)) }),
           let address = IPAddress(held.key) {
            return address
        }
        // Offset 2: the network address and the gateway (.1) are never handed out.
        var offset: UInt64 = 2
        while offset < subnet.assignableCount + 2 {
            let candidate = subnet.network.advanced(by: offset)
            if table[candidate.description] == nil {
                table[candidate.description] = containerID
                try store.write(table, at: path)
                return candidate
            }
            offset += 1
        }
        throw NetworkError(.exhausted, "network \"\(network)\": no free address left in \(subnet)")
    }

    /// Frees every address held by `containerID`; returns them.
    @discardableResult
    func release(_ containerID: String) throws(NetworkError) -> [IPAddress] {
        try release { $0 == containerID }
    }

    /// Frees every address whose holder matches `isStale`; returns them.
    func release(where isStale: (String) -> Bool) throws(NetworkError) -> [IPAddress] {
        var table = try allocations()
        let freed = table.filter { isStale($0.value) }
        guard !freed.isEmpty else { return [] }
        for key in freed.keys { table.removeValue(forKey: key) }
        try store.write(table, at: path)
        return freed.keys.compactMap(IPAddress.init).sorted()
    }

    /// Removes the allocation file (the network is deleted).
    func destroy() throws(NetworkError) {
        try store.remove(path)
    }
}
