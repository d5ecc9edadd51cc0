extension Platform {
    /// The platforms this one can run, most preferred first, as containerd's
    /// `platforms.Only` orders them (`platformVector`):
    ///
    /// - `amd64/vN` runs `amd64/vN` … `amd64/v2`, then `amd64` (v1), then `386`;
    /// - `arm/vN` runs `arm/vN` down to `arm/v5`;
    /// - `arm64/v8.x` runs `arm64/v8.x` down to `arm64` (v8), then `arm/v8` … `arm/v5`;
    ///   `arm64/v9.x` also runs `arm64/v9.{x-1…0}` and `arm64/v8.{x+5…0}`.
    ///
    /// Every entry is ``normalized``.
    public var compatiblePlatforms: [Platform] {
        let platform = normalized
        var vector = [platform]
        func variant(_ arch: String, _ variant: String) -> Platform {
            Platform(
                os: platform.os, architecture: arch, variant: variant, osVersion: platform.osVersion,
                osFeatures: platform.osFeatures
            ).normalized
        }
        let currentVariant = platform.variant ?? ""
        switch platform.architecture {
        case "amd64":
            if let version = Int(currentVariant.dropFirst(currentVariant.hasPrefix("v") ? 1 : 0)), version > 1 {
                for v in stride(from: version - 1, through: 1, by: -1) {
                    vector.append(variant("amd64", "v\(v)"))
                }
            }
            vector.append(variant("386", ""))
        case "arm":
            if let version = Int(currentVariant.dropFirst(currentVariant.hasPrefix("v") ? 1 : 0)), version > 5 {
                for v in stride(from: version - 1, through: 5, by: -1) {
                    vector.append(variant("arm", "v\(v)"))
                }
            }
        case "arm64":
            var arm64Variant = currentVariant.isEmpty ? "v8" : currentVariant
            let pieces = arm64Variant.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let majorString = pieces[0].hasPrefix("v") ? pieces[0].dropFirst() : pieces[0]
            if var major = Int(majorString), major >= 8 {
                var minor = 0
                if arm64Variant.count == 4, pieces.count == 2, let m = Int(pieces[1]) {
                    minor = m
                }
                if major == 9 {
                    for m in stride(from: minor - 1, through: 0, by: -1) {
                        vector.append(variant("arm64", m == 0 ? "v9" : "v9.\(m)"))
                    }
                    minor += 5
                    major = 8
                    vector.append(variant("arm64", "v8.\(minor)"))
                }
                for m in stride(from: minor - 1, through: 0, by: -1) {
                    vector.append(variant("arm64", m == 0 ? "v\(major)" : "v\(major).\(m)"))
                }
            }
            if arm64Variant.hasPrefix("v8.") || arm64Variant.hasPrefix("v9.") {
                arm64Variant = "v8"
            }
            let arm = Platform(
                os: platform.os, architecture: "arm", variant: arm64Variant, osVersion: platform.osVersion,
                osFeatures: platform.osFeatures)
            vector.append(contentsOf: arm.compatiblePlatforms)
        default:
            break
        }
        return vector
    }

    /// Whether this platform (a host) can run an image built for `other`, allowing the
    /// fallbacks of ``compatiblePlatforms`` (an arm64 host runs arm/v7, amd64 runs 386).
    /// - Parameter other: an image's platform, normalised before comparing.
    /// - Returns: `true` if `other` can run here.
    public func matches(_ other: Platform) -> Bool {
        preferenceRank(of: other) != nil
    }

    /// Whether `other` is this very platform after normalisation (containerd
    /// `OnlyStrict`): same OS, architecture and variant, and `other`'s OS features are a
    /// subset of this platform's. The OS version is not compared.
    /// - Parameter other: an image's platform.
    /// - Returns: `true` on an exact match.
    public func matchesExactly(_ other: Platform) -> Bool {
        Self.strictMatch(normalized, other.normalized)
    }

    /// How much this platform prefers running `other`: `0` for an exact match, larger
    /// for fallbacks, `nil` if it cannot run it.
    /// - Parameter other: an image's platform.
    /// - Returns: the index of `other` in ``compatiblePlatforms``, or `nil`.
    public func preferenceRank(of other: Platform) -> Int? {
        let candidate = other.normalized
        return compatiblePlatforms.firstIndex { Self.strictMatch($0, candidate) }
    }

    /// Picks the entry this platform should run, as a pull does when selecting from an
    /// index: the most preferred compatible platform, the first such entry on a tie.
    /// - Parameter platforms: the candidates, e.g. the platforms of an index's manifests.
    /// - Returns: the index into `platforms`, or `nil` if none can run here.
    public func bestMatch(in platforms: [Platform]) -> Int? {
        var best: (index: Int, rank: Int)?
        for (index, platform) in platforms.enumerated() {
            guard let rank = preferenceRank(of: platform) else { continue }
            if let current = best, current.rank <= rank { continue }
            best = (index, rank)
        }
        return best?.index
    }

    /// Orders two candidates by this platform's preference; usable with `sort(by:)`.
    /// Platforms this one cannot run sort last.
    /// - Parameters:
    ///   - lhs: a candidate platform.
    ///   - rhs: another candidate platform.
    /// - Returns: `true` if `lhs` is strictly preferred to `rhs`.
    public func prefers(_ lhs: Platform, over rhs: Platform) -> Bool {
        switch (preferenceRank(of: lhs), preferenceRank(of: rhs)) {
        case (let l?, let r?): return l < r
        case (.some, nil): return true
        default: return false
        }
    }

    /// containerd's `matcher.Match` on two normalised platforms.
    private static func strictMatch(_ host: Platform, _ candidate: Platform) -> Bool {
        guard host.os == candidate.os, host.architecture == candidate.architecture,
            (host.variant ?? "") == (candidate.variant ?? "")
        else { return false }
        guard let wanted = candidate.osFeatures, !wanted.isEmpty else { return true }
        let available = Set(host.osFeatures ?? [])
        return wanted.allSatisfy(available.contains)
    }
}
