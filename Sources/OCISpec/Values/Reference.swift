// Reference grammar and normalisation of github.com/distribution/reference
// (reference.go, normalize.go, regexp.go):
//
//   reference        := name [ ":" tag ] [ "@" digest ]
//   name             := [domain '/'] remote-name
//   domain           := host [':' port-number]
//   host             := domain-name | IPv4address | \[ IPv6address \]
//   domain-name      := domain-component ['.' domain-component]*
//   domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//   port-number      := /[0-9]+/
//   path-component   := alpha-numeric [separator alpha-numeric]*
//   remote-name      := path-component ['/' path-component]*
//   alpha-numeric    := /[a-z0-9]+/
//   separator        := /[_.]|__|[-]+/
//   tag              := /[\w][\w.-]{0,127}/

/// An image reference, `docker.io/library/busybox:1.36@sha256:…`, parsed and normalised
/// exactly as `distribution/reference.ParseNormalizedNamed` does.
///
/// - A single-component name on Docker Hub gets `library/` (`busybox` →
///   `docker.io/library/busybox`); `index.docker.io` becomes `docker.io`.
/// - The first path component is a domain when it is `localhost`, contains `.` or `:`
///   (`example.com`, `host:5000`, `[::1]:5000`) or has an uppercase letter.
/// - A tag and a digest may both be present; neither is added implicitly
///   (use ``withDefaultTag()``).
/// - Repository paths are lowercase and at most 255 characters; a bare 64-hex string is
///   rejected because it is ambiguous with an image ID.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    /// Docker Hub's canonical domain, used when a reference names no domain.
    public static let defaultDomain = "docker.io"
    /// The tag ``withDefaultTag()`` adds.
    public static let defaultTag = "latest"
    /// The maximum length of the repository path.
    public static let maximumPathLength = 255

    static let legacyDefaultDomain = "index.docker.io"
    static let officialRepositoryPrefix = "library/"

    /// The registry domain, with port if any: `docker.io`, `localhost:5000`, `[::1]:5000`.
    ///
    /// Empty only in the corner case distribution/reference also allows, where the first
    /// component looks like a domain but is not a valid host (`foo_bar.com/x`).
    public let domain: String
    /// The repository path inside the registry: `library/busybox`.
    public let path: String
    /// The tag, if one was given.
    public let tag: String?
    /// The digest, if one was given.
    public let digest: Digest?

    /// Parses and normalises a reference the way `docker pull` understands it.
    /// - Parameter string: a familiar or fully qualified reference (`busybox`,
    ///   `ghcr.io/org/app:1.0`, `localhost:5000/x@sha256:…`).
    /// - Throws: ``OCISpecError`` with code `invalidReference` (or `invalidDigest` for a
    ///   malformed digest part) whose message names the input.
    public init(parsing string: String) throws {
        if Grammar.isIdentifier(string[...]) {
            throw Self.error(string, "cannot specify 64-byte hexadecimal strings (ambiguous with an image ID)")
        }
        let (domain, remainder) = Self.splitDockerDomain(string)
        let remote = remainder.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        if remote.lowercased() != remote {
            throw Self.error(string, "repository name must be lowercase (\"\(remote)\")")
        }
        self = try Self.parseCanonical(domain + "/" + remainder, reportingAs: string)
    }

    /// Creates a reference from already-split parts, validating each.
    /// - Parameters:
    ///   - domain: the registry domain (`docker.io`).
    ///   - path: the repository path (`library/busybox`).
    ///   - tag: an optional tag.
    ///   - digest: an optional digest.
    /// - Throws: ``OCISpecError`` with code `invalidReference` if a part is invalid.
    public init(domain: String, path: String, tag: String? = nil, digest: Digest? = nil) throws {
        let shown = Self.format(domain: domain, path: path, tag: tag, digest: digest)
        guard domain.isEmpty || Grammar.isDomainAndPort(domain[...]) else {
            throw Self.error(shown, "invalid domain \"\(domain)\"")
        }
        guard Grammar.isRemoteName(path[...]) else {
            throw Self.error(shown, path.lowercased() != path && Grammar.isRemoteName(path.lowercased()[...])
                ? "repository name must be lowercase" : "invalid repository path \"\(path)\"")
        }
        guard path.utf8.count <= Self.maximumPathLength else {
            throw Self.error(shown, "repository name must not be more than \(Self.maximumPathLength) characters")
        }
        if let tag, !Grammar.isTag(tag[...]) {
            throw Self.error(shown, "invalid tag \"\(tag)\"")
        }
        self.init(validatedDomain: domain, path: path, tag: tag, digest: digest)
    }

    private init(validatedDomain domain: String, path: String, tag: String?, digest: Digest?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    /// The repository name with its domain: `docker.io/library/busybox`.
    public var name: String { domain.isEmpty ? path : "\(domain)/\(path)" }

    /// The name as the Docker CLI shows it: `busybox`, `org/app`, `ghcr.io/org/app`.
    public var familiarName: String {
        guard domain == Self.defaultDomain else { return name }
        if path.hasPrefix(Self.officialRepositoryPrefix) {
            let rest = path.dropFirst(Self.officialRepositoryPrefix.count)
            if !rest.contains("/") { return String(rest) }
        }
        return path
    }

    /// The reference as the Docker CLI shows it: `busybox:latest`, `org/app@sha256:…`.
    public var familiarDescription: String {
        Self.format(name: familiarName, tag: tag, digest: digest)
    }

    /// The fully qualified reference: `docker.io/library/busybox:latest`.
    public var description: String { Self.format(name: name, tag: tag, digest: digest) }

    /// The host to contact for this reference's domain: `registry-1.docker.io` for Docker
    /// Hub, the domain itself otherwise.
    public var registryHost: String {
        domain == Self.defaultDomain ? "registry-1.docker.io" : domain
    }

    /// This reference with tag `latest` when it has neither a tag nor a digest.
    /// - Returns: the reference, tagged if it was name-only.
    public func withDefaultTag() -> Reference {
        guard tag == nil, digest == nil else { return self }
        return Reference(validatedDomain: domain, path: path, tag: Self.defaultTag, digest: nil)
    }

    /// This reference with a different tag, keeping its digest.
    /// - Parameter tag: the new tag; must match `[\w][\w.-]{0,127}`.
    /// - Returns: the retagged reference.
    /// - Throws: ``OCISpecError`` with code `invalidReference` for an invalid tag.
    public func withTag(_ tag: String) throws -> Reference {
        guard Grammar.isTag(tag[...]) else {
            throw Self.error("\(name):\(tag)", "invalid tag \"\(tag)\"")
        }
        return Reference(validatedDomain: domain, path: path, tag: tag, digest: digest)
    }

    /// This reference with a digest, keeping its tag.
    /// - Parameter digest: the content digest.
    /// - Returns: the digested reference.
    public func withDigest(_ digest: Digest?) -> Reference {
        Reference(validatedDomain: domain, path: path, tag: tag, digest: digest)
    }

    /// The repository alone, without tag or digest.
    public var repository: Reference {
        Reference(validatedDomain: domain, path: path, tag: nil, digest: nil)
    }

    // MARK: - Parsing (distribution/reference Parse and splitDockerDomain)

    /// `splitDockerDomain` of normalize.go.
    static func splitDockerDomain(_ name: String) -> (domain: String, remainder: String) {
        guard let slash = name.firstIndex(of: "/") else {
            return (defaultDomain, officialRepositoryPrefix + name)
        }
        let maybeDomain = String(name[..<slash])
        let maybeRemainder = String(name[name.index(after: slash)...])
        var domain: String
        var remainder: String
        if maybeDomain == "localhost" {
            (domain, remainder) = (maybeDomain, maybeRemainder)
        } else if maybeDomain == legacyDefaultDomain {
            (domain, remainder) = (defaultDomain, maybeRemainder)
        } else if maybeDomain.contains(".") || maybeDomain.contains(":") {
            (domain, remainder) = (maybeDomain, maybeRemainder)
        } else if maybeDomain.lowercased() != maybeDomain {
            (domain, remainder) = (maybeDomain, maybeRemainder)
        } else {
            (domain, remainder) = (defaultDomain, name)
        }
        if domain == defaultDomain && !remainder.contains("/") {
            remainder = officialRepositoryPrefix + remainder
        }
        return (domain, remainder)
    }

    /// `Parse` of reference.go: the grammar, without Docker Hub normalisation.
    static func parseCanonical(_ string: String, reportingAs input: String) throws -> Reference {
        guard !string.isEmpty else {
            throw error(input, "repository name must have at least one component")
        }
        guard let match = Grammar.matchReference(string[...]) else {
            let lower = string.lowercased()
            if lower != string, Grammar.matchReference(lower[...]) != nil {
                throw error(input, "repository name must be lowercase")
            }
            throw error(input, "invalid reference format")
        }
        guard match.path.utf8.count <= maximumPathLength else {
            throw error(input, "repository name must not be more than \(maximumPathLength) characters")
        }
        var digest: Digest?
        if let digestString = match.digest {
            do {
                digest = try Digest(parsing: String(digestString))
            } catch let underlying as OCISpecError {
                throw OCISpecError(.invalidDigest, "invalid reference \"\(input)\": \(underlying.message)")
            }
        }
        return Reference(
            validatedDomain: String(match.domain), path: String(match.path),
            tag: match.tag.map(String.init), digest: digest)
    }

    static func error(_ input: String, _ reason: String) -> OCISpecError {
        OCISpecError(.invalidReference, "invalid reference \"\(input)\": \(reason)")
    }

    private static func format(domain: String, path: String, tag: String?, digest: Digest?) -> String {
        format(name: domain.isEmpty ? path : "\(domain)/\(path)", tag: tag, digest: digest)
    }

    private static func format(name: String, tag: String?, digest: Digest?) -> String {
        var out = name
        if let tag { out += ":" + tag }
        if let digest { out += "@" + digest.description }
        return out
    }
}

extension Reference: Codable {
    /// Decodes a reference string, normalising it as ``init(parsing:)`` does.
    /// - Throws: a `DecodingError` carrying the ``OCISpecError``.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            self = try Reference(parsing: string)
        } catch let error as OCISpecError {
            throw DecodingError.ociDataCorrupted(in: container, error)
        }
    }

    /// Encodes the fully qualified string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
