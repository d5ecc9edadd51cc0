import Foundation

/// What a CNI ADD returned: the interfaces made, the addresses, routes and DNS settings.
///
/// Spec: CNI SPEC.md, "Section 5: Result Types" — ADD success (`cniVersion`,
/// `interfaces`, `ips`, `routes`, `dns`); results of 0.3.x and 0.4.0 (which add a
/// `version` to each IP) read the same way.
public struct CNIResult: Hashable, Sendable, Codable {
    /// An interface a plugin created or configured.
    public struct Interface: Hashable, Sendable, Codable {
        /// The interface's name.
        public var name: String
        /// Its hardware address, if it has one.
        public var mac: String?
        /// The namespace path it lives in; nil for host interfaces.
        public var sandbox: String?
    }

    /// An address assigned to an interface.
    public struct IPConfiguration: Hashable, Sendable, Codable {
        /// The address.
        public var address: IPAddress
        /// The prefix length of its subnet.
        public var prefixLength: Int
        /// The gateway, if the plugin named one.
        public var gateway: IPAddress?
        /// The index into ``CNIResult/interfaces`` of the interface holding it.
        public var interface: Int?
    }

    /// A route a plugin added in the container.
    public struct Route: Hashable, Sendable, Codable {
        /// The destination in CIDR form (`0.0.0.0/0`).
        public var destination: String
        /// The next hop; nil: the interface's default gateway.
        public var gateway: IPAddress?
    }

    /// DNS settings a plugin returned (often empty).
    public struct DNS: Hashable, Sendable, Codable {
        /// Name servers, in order of preference.
        public var nameservers: [String] = []
        /// The local domain.
        public var domain: String?
        /// Search domains.
        public var search: [String] = []
        /// resolv.conf options.
        public var options: [String] = []
    }

    /// The spec version the result is written in.
    public var cniVersion: String
    /// Interfaces created or configured.
    public var interfaces: [Interface]
    /// Addresses assigned.
    public var ips: [IPConfiguration]
    /// Routes added.
    public var routes: [Route]
    /// DNS settings.
    public var dns: DNS

    /// The container-side interfaces (those in a sandbox).
    public var containerInterfaces: [Interface] { interfaces.filter { $0.sandbox?.isEmpty == false } }

    /// Reads a result.
    /// - Parameters:
    ///   - value: the JSON object a plugin printed.
    ///   - what: names the plugin and list in errors.
    init(_ value: JSONValue, what: String) throws(NetworkError) {
        func bad(_ detail: String) -> NetworkError {
            NetworkError(.plugin, "\(what): malformed result: \(detail)")
        }
        guard let object = value.object else { throw bad("not a JSON object") }
        cniVersion = object["cniVersion"]?.string ?? ""
        interfaces = []
        for (index, element) in (object["interfaces"]?.array ?? []).enumerated() {
            guard let name = element["name"]?.string else { throw bad("interfaces[\(index)] has no name") }
            interfaces.append(Interface(name: name, mac: element["mac"]?.string, sandbox: element["sandbox"]?.string))
        }
        ips = []
        for (index, element) in (object["ips"]?.array ?? []).enumerated() {
            guard let cidr = element["address"]?.string else { throw bad("ips[\(index)] has no address") }
            let parts = cidr.split(separator: "/")
            guard parts.count == 2, let address = IPAddress(String(parts[0])), let prefix = Int(parts[1]),
                  prefix >= 0, prefix <= (address.isIPv6 ? 128 : 32) else {
                throw bad("ips[\(index)].address \"\(cidr)\" is not ADDRESS/PREFIX")
            }
            var gateway: IPAddress?
            if let text = element["gateway"]?.string {
                guard let parsed = IPAddress(text) else { throw bad("ips[\(index)].gateway \"\(text)\" is not an address") }
                gateway = parsed
            }
            let interface = element["interface"]?.integer.map(Int.init)
            if let interface, !interfaces.indices.contains(interface) {
                throw bad("ips[\(index)].interface \(interface) is not an index into interfaces")
            }
            ips.append(IPConfiguration(address: address, prefixLength: prefix, gateway: gateway, interface: interface))
        }
        routes = []
        for (index, element) in (object["routes"]?.array ?? []).enumerated() {
            guard let destination = element["dst"]?.string else { throw bad("routes[\(index)] has no dst") }
            var gateway: IPAddress?
            if let text = element["gw"]?.string {
                guard let parsed = IPAddress(text) else { throw bad("routes[\(index)].gw \"\(text)\" is not an address") }
                gateway = parsed
            }
            routes.append(Route(destination: destination, gateway: gateway))
        }
        dns = DNS()
        if let settings = object["dns"] {
            dns.nameservers = settings["nameservers"]?.array?.compactMap(\.string) ?? []
            dns.domain = settings["domain"]?.string
            dns.search = settings["search"]?.array?.compactMap(\.string) ?? []
            dns.options = settings["options"]?.array?.compactMap(\.string) ?? []
        }
    }
}
