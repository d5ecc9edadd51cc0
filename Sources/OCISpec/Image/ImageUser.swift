// Docker semantics of the image config `User` field (moby/sys user.GetExecUser).
/// The `User` of an image config, split into its user and group parts, each numeric or
/// a name: `1000`, `1000:1000`, `app`, `app:staff`, `1000:staff`, `app:50`.
///
/// Numeric parts can go straight into a runtime spec; names must be resolved against the
/// image's `/etc/passwd` and `/etc/group`, which ``resolve(passwd:group:)`` does given
/// those files' contents (reading them is the caller's job).
public struct ImageUser: Hashable, Sendable, CustomStringConvertible {
    /// A user or group: a numeric ID or a name.
    public enum ID: Hashable, Sendable, CustomStringConvertible {
        /// A numeric ID.
        case numeric(UInt32)
        /// A name to look up.
        case name(String)

        /// The numeric ID, if this is one.
        public var number: UInt32? {
            if case .numeric(let id) = self { return id }
            return nil
        }

        /// The ID or name as written.
        public var description: String {
            switch self {
            case .numeric(let id): return String(id)
            case .name(let name): return name
            }
        }

        init(_ text: Substring) {
            if let id = UInt32(text) {
                self = .numeric(id)
            } else {
                self = .name(String(text))
            }
        }
    }

    /// The user part.
    public var user: ID
    /// The group part, if one was given.
    public var group: ID?

    /// Root, as an empty `User` means: uid 0, with the primary group (0 unless the
    /// image's `/etc/passwd` says otherwise) and supplementary groups of uid 0.
    public static let root = ImageUser(user: .numeric(0))

    /// Creates a user from its parts.
    /// - Parameters:
    ///   - user: the user.
    ///   - group: the group, if any.
    public init(user: ID, group: ID? = nil) {
        self.user = user
        self.group = group
    }

    /// Parses an image config `User` value; an empty string means root.
    /// - Parameter string: `user[:group]`.
    /// - Throws: ``OCISpecError`` with code `invalidDocument` naming the value if a part is
    ///   empty (`:1000`, `1000:`) or there is more than one `:`.
    public init(parsing string: String) throws {
        guard !string.isEmpty else {
            self = .root
            return
        }
        let parts = string.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }) else {
            throw OCISpecError(.invalidDocument, "invalid image user \"\(string)\": expected user[:group]")
        }
        self.user = ID(parts[0])
        self.group = parts.count == 2 ? ID(parts[1]) : nil
    }

    /// `user[:group]`.
    public var description: String {
        group.map { "\(user):\($0)" } ?? user.description
    }

    /// Whether both parts are numeric and given, so no lookup in the image is needed.
    /// A numeric user without a group is not fully numeric: Docker takes its primary
    /// group from `/etc/passwd`.
    public var isNumeric: Bool {
        user.number != nil && group?.number != nil
    }

    /// Whether any part is a name that must be looked up in the image.
    public var hasNames: Bool {
        user.number == nil || (group != nil && group?.number == nil)
    }

    /// The result of resolving a user against the image's account files.
    public struct Resolved: Hashable, Sendable {
        /// The user ID.
        public var uid: UInt32
        /// The primary group ID.
        public var gid: UInt32
        /// Supplementary groups (from `/etc/group` membership when no group was given).
        public var additionalGids: [UInt32]
        /// The home directory from `/etc/passwd`, if the user has an entry.
        public var home: String?
    }

    /// Resolves names and the primary and supplementary groups as Docker does.
    ///
    /// A numeric user without a passwd entry gets gid 0; a named user or group that is not
    /// found is an error. Supplementary groups are the `/etc/group` entries listing the
    /// user's name, only when no group was given.
    /// - Parameters:
    ///   - passwd: the contents of the image's `/etc/passwd` (empty if absent).
    ///   - groupFile: the contents of the image's `/etc/group` (empty if absent).
    /// - Returns: the numeric identity.
    /// - Throws: ``OCISpecError`` with code `invalidDocument` naming a user or group that
    ///   the files do not contain.
    public func resolve(passwd: String, group groupFile: String) throws -> Resolved {
        let users = Self.entries(passwd, fields: 7)
        let groups = Self.entries(groupFile, fields: 4)
        var resolved = Resolved(uid: 0, gid: 0, additionalGids: [], home: nil)
        var userName: String?
        switch user {
        case .numeric(let uid):
            resolved.uid = uid
            if let entry = users.first(where: { UInt32($0[2]) == uid }) {
                userName = entry[0]
                resolved.gid = UInt32(entry[3]) ?? 0
                resolved.home = entry[5]
            }
        case .name(let name):
            guard let entry = users.first(where: { $0[0] == name }), let uid = UInt32(entry[2]) else {
                throw OCISpecError(.invalidDocument, "image user \"\(self)\": no user \"\(name)\" in /etc/passwd")
            }
            userName = name
            resolved.uid = uid
            resolved.gid = UInt32(entry[3]) ?? 0
            resolved.home = entry[5]
        }
        switch self.group {
        case .numeric(let gid)?:
            resolved.gid = gid
        case .name(let name)?:
            guard let entry = groups.first(where: { $0[0] == name }), let gid = UInt32(entry[2]) else {
                throw OCISpecError(.invalidDocument, "image user \"\(self)\": no group \"\(name)\" in /etc/group")
            }
            resolved.gid = gid
        case nil:
            if let userName {
                for entry in groups where entry[3].split(separator: ",").contains(where: { $0 == userName }) {
                    if let gid = UInt32(entry[2]), !resolved.additionalGids.contains(gid) {
                        resolved.additionalGids.append(gid)
                    }
                }
            }
        }
        return resolved
    }

    /// Splits `name:x:…` lines into exactly `fields` fields, skipping comments and
    /// malformed lines.
    private static func entries(_ text: String, fields: Int) -> [[String]] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let trimmed = line.trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
            var parts = trimmed.split(separator: ":", maxSplits: fields - 1, omittingEmptySubsequences: false)
                .map(String.init)
            guard parts.count >= 3 else { return nil }
            while parts.count < fields { parts.append("") }
            return parts
        }
    }
}
