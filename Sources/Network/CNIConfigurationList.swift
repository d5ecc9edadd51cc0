import Foundation
import Glibc

/// A CNI network configuration list: a `.conflist` file (or a single-plugin `.conf`,
/// taken as a list of one, as libcni does).
///
/// Spec: CNI SPEC.md, "Section 1: Network configuration format" (`cniVersion`, `name`,
/// `disableCheck`, `plugins`, each plugin object with `type`, `capabilities` and fields
/// of its own, passed to it unchanged).
public struct CNIConfigurationList: Hashable, Sendable {
    /// One plugin of the list.
    public struct Plugin: Hashable, Sendable {
        /// The plugin's `type`: the name of its executable.
        public var type: String
        /// The capabilities the plugin declares (`portMappings`, …): which runtime
        /// arguments it gets in `runtimeConfig`.
        public var capabilities: Set<String>
        /// The plugin object as written in the list.
        var configuration: [String: JSONValue]
    }

    /// The network's name (unique per host; CNI plugins key their state on it).
    public var name: String
    /// The CNI spec version the list is written for (and results come back in).
    public var cniVersion: String
    /// When true the runtime must not run CHECK.
    public var disableCheck: Bool
    /// The plugins, in ADD order.
    public var plugins: [Plugin]
    /// The file the list came from, for messages (nil: given as bytes).
    public var source: String?
    /// The list as read: cached with each result, so DEL and CHECK run what ADD ran.
    public let bytes: Data

    /// The spec versions whose result format this runtime reads (0.1 and 0.2 results
    /// have another shape, and the Debian plugins speak 1.0).
    public static let supportedVersions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

    /// Parses a configuration list (or a single plugin configuration).
    /// - Parameters:
    ///   - data: the JSON text.
    ///   - source: the file it came from, named in errors.
    /// - Throws: ``NetworkError/Code/invalidArgument`` naming the file and the field at fault.
    public init(data: Data, source: String? = nil) throws(NetworkError) {
        let what = "CNI configuration \(source ?? "(given as bytes)")"
        guard let root = JSONValue.parse(data)?.object else {
            throw NetworkError(.invalidArgument, "\(what): not a JSON object")
        }
        guard let name = root["name"]?.string else {
            throw NetworkError(.invalidArgument, "\(what): \"name\" is missing or not a string")
        }
        try Self.checkName(name, what: what)
        guard let version = root["cniVersion"]?.string else {
            throw NetworkError(.invalidArgument, "\(what): \"cniVersion\" is missing or not a string")
        }
        guard Self.supportedVersions.contains(version) else {
            throw NetworkError(.invalidArgument,
                               "\(what): cniVersion \(version) is not supported (use one of \(Self.supportedVersions.joined(separator: ", ")))")
        }
        var objects: [[String: JSONValue]]
        if let list = root["plugins"] {
            guard let array = list.array, !array.isEmpty else {
                throw NetworkError(.invalidArgument, "\(what): \"plugins\" must be a non-empty array")
            }
            objects = []
            for (index, element) in array.enumerated() {
                guard let object = element.object else {
                    throw NetworkError(.invalidArgument, "\(what): plugins[\(index)] is not an object")
                }
                objects.append(object)
            }
        } else if root["type"] != nil {
            // A single .conf: its own fields are the plugin's.
            objects = [root]
        } else {
            throw NetworkError(.invalidArgument, "\(what): neither \"plugins\" (a list) nor \"type\" (a single plugin)")
        }
        var plugins: [Plugin] = []
        for (index, object) in objects.enumerated() {
            guard let type = object["type"]?.string, !type.isEmpty, !type.contains("/"), type != ".", type != ".." else {
                throw NetworkError(.invalidArgument, "\(what): plugins[\(index)] has no valid \"type\" (a plugin executable's name)")
            }
            var capabilities = Set<String>()
            if let declared = object["capabilities"] {
                guard let map = declared.object else {
                    throw NetworkError(.invalidArgument, "\(what): plugins[\(index)] (\(type)): \"capabilities\" is not an object")
                }
                capabilities = Set(map.filter { $0.value.bool == true }.keys)
            }
            plugins.append(Plugin(type: type, capabilities: capabilities, configuration: object))
        }
        if let disable = root["disableCheck"], disable.bool == nil {
            throw NetworkError(.invalidArgument, "\(what): \"disableCheck\" is not a boolean")
        }
        self.name = name
        self.cniVersion = version
        self.disableCheck = root["disableCheck"]?.bool ?? false
        self.plugins = plugins
        self.source = source
        self.bytes = data
    }

    /// Reads a configuration list from a file.
    /// - Parameter path: the `.conflist` (or `.conf`, `.json`) file.
    /// - Throws: ``NetworkError`` `notFound` if unreadable, `invalidArgument` if malformed.
    public static func load(path: String) throws(NetworkError) -> CNIConfigurationList {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetworkError(.notFound, "CNI configuration \(path): cannot be opened", errno: errno) }
        close(fd)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NetworkError(.notFound, "CNI configuration \(path): cannot be read")
        }
        return try CNIConfigurationList(data: data, source: path)
    }

    /// Finds the list named `name` in a directory: the first of its `.conflist`, `.conf`
    /// and `.json` files (by file name) whose `name` matches, as libcni's LoadConfList does.
    /// - Parameters:
    ///   - name: the network's name.
    ///   - directory: the configuration directory (`/etc/cni/net.d`).
    /// - Throws: ``NetworkError`` `notFound` naming the directory, `invalidArgument` when
    ///   the matching file is malformed.
    public static func find(named name: String, in directory: String) throws(NetworkError) -> CNIConfigurationList {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".conflist") || $0.hasSuffix(".conf") || $0.hasSuffix(".json") }.sorted()
        for file in files {
            let path = directory + "/" + file
            // Files of other networks that do not parse are not this lookup's business;
            // the one named `name` must parse.
            guard let data = FileManager.default.contents(atPath: path),
                  JSONValue.parse(data)?["name"]?.string == name else { continue }
            return try CNIConfigurationList(data: data, source: path)
        }
        throw NetworkError(.notFound, "CNI network \"\(name)\": no configuration with that name in \(directory)")
    }

    /// CNI network names: an alphanumeric first character, then alphanumerics, `_`, `.`, `-`.
    static func checkName(_ name: String, what: String) throws(NetworkError) {
        func alphanumeric(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) }
        let bytes = Array(name.utf8)
        guard let first = bytes.first, alphanumeric(first), bytes.count <= 128,
              bytes.allSatisfy({ alphanumeric($0) || $0 == 0x5f || $0 == 0x2e || $0 == 0x2d }) else {
            throw NetworkError(.invalidArgument,
                               "\(what): network name \"\(name)\" must start with a letter or digit, then letters, digits, '_', '.' or '-'")
        }
    }

    /// Whether the list's version has CHECK (0.4.0 and later).
    var supportsCheck: Bool { !cniVersion.hasPrefix("0.3.") }

    /// "CNI network "x" (conflist /etc/cni/net.d/x.conflist)": how messages name the list.
    var label: String {
        "CNI network \"\(name)\"" + (source.map { " (conflist \($0))" } ?? "")
    }
}
