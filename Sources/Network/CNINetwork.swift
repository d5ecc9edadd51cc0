import Foundation
import Glibc

/// Runs a CNI configuration list for containers: ADD, CHECK and DEL through its plugins,
/// as SPEC.md's "Section 4: Plugin Delegation" and "Network configuration lists" describe
/// and libcni does it.
///
/// - Each plugin is found by its `type` in ``pluginDirectories`` and run with
///   `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS`, `CNI_PATH`
///   and its configuration on stdin: the plugin object plus the list's `name` and
///   `cniVersion`, a `runtimeConfig` with the runtime arguments of the capabilities it
///   declares, and the `prevResult` of the plugin before it (ADD) or of the whole ADD
///   (CHECK, DEL).
/// - ADD runs the plugins in order; a failure runs DEL over the list (in reverse) before
///   it is reported, so a failed ADD leaves nothing.
/// - DEL runs in reverse order, goes on past failures and reports the first.
/// - The list's bytes, the arguments and the result are cached per (network, container,
///   interface) in libcni's `cniCacheV1` format, written before the first plugin runs
///   (so a crash mid-ADD leaves something prune can DEL) and after the last. CHECK and
///   DEL use the cached list and result, so they run what ADD ran even if the file changed.
struct CNINetwork: Sendable {
    /// The configuration list.
    let list: CNIConfigurationList
    /// Where plugin executables are looked for, in order (also passed as `CNI_PATH`).
    let pluginDirectories: [String]
    /// The state store (the cache lives under it, and is written under its lock).
    let store: StateStore

    /// Who a run is for.
    struct Invocation: Sendable {
        var containerID: String
        var namespacePath: String
        var interfaceName: String
        /// `CNI_ARGS` pairs, in order.
        var arguments: [(key: String, value: String)] = []
        /// Runtime arguments by capability (`portMappings` → its list).
        var capabilityArguments: [String: JSONValue] = [:]
    }

    /// libcni's result cache record.
    struct CacheEntry: Codable {
        var kind = "cniCacheV1"
        var containerId: String
        /// The configuration list's bytes (base64 in the file, as libcni writes them).
        var config: Data
        var ifName: String
        var networkName: String
        var netns: String
        var cniArgs: [[String]]?
        var capabilityArgs: [String: JSONValue]?
        var result: JSONValue?
    }

    static func cacheDirectory(_ store: StateStore) -> String { store.stateRoot + "/cni/results" }

    static func cachePath(_ store: StateStore, network: String, containerID: String, interfaceName: String) -> String {
        "\(cacheDirectory(store))/\(network)-\(containerID)-\(interfaceName)"
    }

    /// The cached entry of a container on a network, if any.
    static func cached(_ store: StateStore, network: String, containerID: String, interfaceName: String) throws(NetworkError) -> CacheEntry? {
        try store.read(CacheEntry.self, at: cachePath(store, network: network, containerID: containerID, interfaceName: interfaceName))
    }

    /// Every cache entry (prune looks for those of containers that are gone).
    static func cachedEntries(_ store: StateStore) throws(NetworkError) -> [CacheEntry] {
        let directory = cacheDirectory(store)
        var entries: [CacheEntry] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() where !name.hasSuffix(".tmp") {
            if let entry = try store.read(CacheEntry.self, at: directory + "/" + name) { entries.append(entry) }
        }
        return entries
    }

    // MARK: Operations

    /// Adds the container to the network.
    /// - Returns: the final result (that of the last plugin), parsed.
    /// - Throws: ``NetworkError`` `plugin` naming the plugin and the list; DEL has run.
    func add(_ invocation: Invocation) throws(NetworkError) -> CNIResult {
        try saveCache(invocation, result: nil)
        var previous: JSONValue?
        // The plugins that were started: they may hold something, the rest never ran.
        var started = 0
        do throws(NetworkError) {
            for (index, plugin) in list.plugins.enumerated() {
                let path = try executable(plugin, index)
                started = index + 1
                let output = try run(plugin, at: path, index: index, command: "ADD", invocation, previous: previous)
                guard let value = output, value.object != nil else {
                    throw NetworkError(.plugin, "\(label(plugin, index)) ADD printed no result")
                }
                previous = value
            }
            let result = try CNIResult(previous ?? .null, what: "\(list.label): ADD")
            try saveCache(invocation, result: previous)
            return result
        } catch {
            // SPEC.md: a runtime that saw ADD fail runs DEL; the plugins that ran see the last
            // result that came back. The entry goes either way: a DEL that fails now fails
            // again later (most often the same configuration error), so it is reported here.
            var failure = error
            do throws(NetworkError) {
                try delete(invocation, previous: previous, plugins: started)
            } catch {
                failure.message += "; DEL of the plugins that ran failed too: \(error.message)"
            }
            try? store.remove(Self.cachePath(store, network: list.name, containerID: invocation.containerID,
                                             interfaceName: invocation.interfaceName))
            throw failure
        }
    }

    /// Checks that the container's networking is as ADD left it (CNI 0.4.0 and later).
    /// - Throws: ``NetworkError`` `plugin` with the first plugin's complaint; `invalidArgument`
    ///   when the list's version has no CHECK or it sets `disableCheck`.
    func check(_ invocation: Invocation, previous: JSONValue) throws(NetworkError) {
        guard list.supportsCheck else {
            throw NetworkError(.invalidArgument, "\(list.label): cniVersion \(list.cniVersion) has no CHECK (0.4.0 and later)")
        }
        guard !list.disableCheck else {
            throw NetworkError(.invalidArgument, "\(list.label): the list sets disableCheck")
        }
        for (index, plugin) in list.plugins.enumerated() {
            _ = try run(plugin, at: try executable(plugin, index), index: index, command: "CHECK", invocation, previous: previous)
        }
    }

    /// Removes the container from the network: DEL through the plugins in reverse order,
    /// with `previous` (the cached ADD result) as every plugin's `prevResult`; then drops
    /// the cache entry. Goes on past failures (the entry stays, so prune can retry).
    /// - Parameter plugins: how many of the list's first plugins to run DEL for (all by default).
    /// - Throws: the first plugin failure.
    func delete(_ invocation: Invocation, previous: JSONValue?, plugins count: Int? = nil) throws(NetworkError) {
        var first: NetworkError?
        for (index, plugin) in list.plugins.prefix(count ?? list.plugins.count).enumerated().reversed() {
            do throws(NetworkError) {
                _ = try run(plugin, at: try executable(plugin, index), index: index, command: "DEL", invocation, previous: previous)
            } catch {
                if first == nil { first = error }
            }
        }
        if let first { throw first }
        try store.remove(Self.cachePath(store, network: list.name, containerID: invocation.containerID,
                                        interfaceName: invocation.interfaceName))
    }

    // MARK: Plugins

    private func label(_ plugin: CNIConfigurationList.Plugin, _ index: Int) -> String {
        "\(list.label): plugin \"\(plugin.type)\" (\(index + 1) of \(list.plugins.count))"
    }

    /// The executable of a plugin type.
    private func executable(_ plugin: CNIConfigurationList.Plugin, _ index: Int) throws(NetworkError) -> String {
        for directory in pluginDirectories {
            let path = directory + "/" + plugin.type
            if access(path, X_OK) == 0 { return path }
        }
        throw NetworkError(.notFound, "\(label(plugin, index)): no executable \"\(plugin.type)\" in \(pluginDirectories.joined(separator: ":"))")
    }

    /// The configuration a plugin reads on stdin.
    func stdin(for plugin: CNIConfigurationList.Plugin, _ invocation: Invocation, previous: JSONValue?) -> Data {
        var configuration = plugin.configuration
        configuration["name"] = .string(list.name)
        configuration["cniVersion"] = .string(list.cniVersion)
        // Only the runtime arguments the plugin asked for (libcni's injectRuntimeConfig).
        var runtime: [String: JSONValue] = [:]
        for capability in plugin.capabilities {
            if let value = invocation.capabilityArguments[capability] { runtime[capability] = value }
        }
        if !runtime.isEmpty {
            configuration["runtimeConfig"] = .object(runtime)
        } else {
            configuration.removeValue(forKey: "runtimeConfig")
        }
        if let previous {
            configuration["prevResult"] = previous
        } else {
            configuration.removeValue(forKey: "prevResult")
        }
        return JSONValue.object(configuration).data
    }

    /// Runs one plugin; returns what it printed on success (nil when nothing).
    private func run(_ plugin: CNIConfigurationList.Plugin, at path: String, index: Int, command: String, _ invocation: Invocation,
                     previous: JSONValue?) throws(NetworkError) -> JSONValue? {
        // A DEL after the namespace is gone gets an empty CNI_NETNS: plugins then release
        // what they hold outside it (SPEC.md: DEL without CNI_NETNS cleans up what it can).
        let namespace = command == "DEL" && !NetworkNamespace.isMounted(invocation.namespacePath) ? "" : invocation.namespacePath
        let environment = [
            "CNI_COMMAND=\(command)",
            "CNI_CONTAINERID=\(invocation.containerID)",
            "CNI_NETNS=\(namespace)",
            "CNI_IFNAME=\(invocation.interfaceName)",
            "CNI_ARGS=\(invocation.arguments.map { "\($0.key)=\($0.value)" }.joined(separator: ";"))",
            "CNI_PATH=\(pluginDirectories.joined(separator: ":"))",
            // Plugins run iptables, ip6tables and their IPAM delegates by PATH.
            "PATH=\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")",
        ]
        let outcome: CNIPluginProcess.Outcome
        do throws(NetworkError) {
            outcome = try CNIPluginProcess.run(path, environment: environment, input: stdin(for: plugin, invocation, previous: previous))
        } catch {
            throw NetworkError(error.code, "\(label(plugin, index)) \(command): \(error.message)", errno: error.errno)
        }
        let output = JSONValue.parse(outcome.standardOutput)
        guard outcome.status == 0 else {
            throw NetworkError(.plugin, "\(label(plugin, index)) \(command) failed: \(Self.describeFailure(outcome, output))")
        }
        if outcome.standardOutput.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { return nil }
        guard let output else {
            throw NetworkError(.plugin, "\(label(plugin, index)) \(command) printed something that is not JSON: \(Self.excerpt(outcome.standardOutput))")
        }
        return output
    }

    /// A plugin's failure in one line: its CNI error object (`msg`, `details`, `code`,
    /// SPEC.md "Error" result), else its exit status and stderr.
    static func describeFailure(_ outcome: CNIPluginProcess.Outcome, _ output: JSONValue?) -> String {
        if let output, let message = output["msg"]?.string {
            var text = message
            if let details = output["details"]?.string, !details.isEmpty { text += ": " + details }
            if let code = output["code"]?.integer { text += " (CNI error code \(code)\(wellKnownCodes[code].map { ", " + $0 } ?? ""))" }
            return text
        }
        let stderr = excerpt(outcome.standardError)
        return "exit status \(outcome.status)" + (stderr.isEmpty ? "" : ": " + stderr)
    }

    /// SPEC.md "Error" well-known codes.
    static let wellKnownCodes: [Int64: String] = [
        1: "incompatible CNI version", 2: "unsupported field in network configuration", 3: "container unknown or does not exist",
        4: "invalid necessary environment variables", 5: "I/O failure", 6: "failed to decode content",
        7: "invalid network config", 11: "try again later",
    ]

    /// The last 500 characters of a plugin's output, on one line.
    static func excerpt(_ data: Data) -> String {
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return String(text.suffix(500)).replacingOccurrences(of: "\n", with: " | ")
    }

    private func saveCache(_ invocation: Invocation, result: JSONValue?) throws(NetworkError) {
        let directory = Self.cacheDirectory(store)
        guard mkdir(store.stateRoot + "/cni", 0o700) == 0 || errno == EEXIST, mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw NetworkError(.system, "create \(directory)", errno: errno)
        }
        let entry = CacheEntry(
            containerId: invocation.containerID, config: list.bytes, ifName: invocation.interfaceName, networkName: list.name,
            netns: invocation.namespacePath, cniArgs: invocation.arguments.isEmpty ? nil : invocation.arguments.map { [$0.key, $0.value] },
            capabilityArgs: invocation.capabilityArguments.isEmpty ? nil : invocation.capabilityArguments, result: result)
        try store.write(entry, at: Self.cachePath(store, network: list.name, containerID: invocation.containerID,
                                                  interfaceName: invocation.interfaceName))
    }
}

extension CNINetwork.Invocation {
    /// The invocation a cache entry recorded.
    init(_ entry: CNINetwork.CacheEntry) {
        self.init(containerID: entry.containerId, namespacePath: entry.netns, interfaceName: entry.ifName,
                  arguments: (entry.cniArgs ?? []).compactMap { $0.count == 2 ? (key: $0[0], value: $0[1]) : nil },
                  capabilityArguments: entry.capabilityArgs ?? [:])
    }
}

extension PortMapping {
    /// The `portMappings` runtime argument of one mapping (CONVENTIONS.md: hostPort,
    /// containerPort, protocol, hostIP).
    var cniValue: JSONValue {
        var object: [String: JSONValue] = [
            "hostPort": .integer(Int64(hostPort)), "containerPort": .integer(Int64(containerPort)),
            "protocol": .string(transport.rawValue),
        ]
        if let hostIP { object["hostIP"] = .string(hostIP.description) }
        return .object(object)
    }
}
