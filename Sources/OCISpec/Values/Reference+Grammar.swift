extension Reference {
    /// Hand-written matchers for the distribution/reference regular expressions
    /// (regexp.go), operating on UTF-8 without backtracking.
    enum Grammar {
        /// The parts of a matched `ReferenceRegexp`.
        struct Match {
            var domain: Substring
            var path: Substring
            var tag: Substring?
            var digest: Substring?
        }

        /// `referencePat`: `name [":" tag] ["@" digest]`, anchored. Returns `nil` when the
        /// string does not match; the digest is only checked against `digestPat` here.
        static func matchReference(_ s: Substring) -> Match? {
            var rest = s
            var digest: Substring?
            if let at = rest.firstIndex(of: "@") {
                let candidate = rest[rest.index(after: at)...]
                guard isDigestPattern(candidate) else { return nil }
                digest = candidate
                rest = rest[..<at]
            }
            var tag: Substring?
            if let colon = rest.lastIndex(of: ":") {
                let candidate = rest[rest.index(after: colon)...]
                if !candidate.contains("/") {
                    // A name's colons only occur in its domain, which a '/' always follows.
                    guard isTag(candidate) else { return nil }
                    tag = candidate
                    rest = rest[..<colon]
                }
            }
            guard let (domain, path) = matchName(rest) else { return nil }
            return Match(domain: domain, path: path, tag: tag, digest: digest)
        }

        /// `anchoredNameRegexp`: `[domain "/"] remote-name`, preferring a domain.
        static func matchName(_ s: Substring) -> (domain: Substring, path: Substring)? {
            if let slash = s.firstIndex(of: "/") {
                let domain = s[..<slash]
                let path = s[s.index(after: slash)...]
                if isDomainAndPort(domain) && isRemoteName(path) { return (domain, path) }
            }
            if isRemoteName(s) { return (s[s.startIndex..<s.startIndex], s) }
            return nil
        }

        /// `identifier`: exactly 64 lowercase hex characters.
        static func isIdentifier(_ s: Substring) -> Bool {
            s.utf8.count == 64 && s.utf8.allSatisfy { isDigit($0) || ($0 >= 0x61 && $0 <= 0x66) }
        }

        /// `tag`: `[\w][\w.-]{0,127}`.
        static func isTag(_ s: Substring) -> Bool {
            guard let first = s.utf8.first, isWord(first), s.utf8.count <= 128 else { return false }
            return s.utf8.allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
        }

        /// `remoteName`: path components separated by single slashes.
        static func isRemoteName(_ s: Substring) -> Bool {
            guard !s.isEmpty else { return false }
            return s.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(isPathComponent)
        }

        /// `pathComponent`: `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
        static func isPathComponent(_ s: Substring) -> Bool {
            let bytes = Array(s.utf8)
            guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last)
            else { return false }
            var i = 0
            while i < bytes.count {
                if isLowerAlnum(bytes[i]) {
                    i += 1
                    continue
                }
                var j = i
                while j < bytes.count && !isLowerAlnum(bytes[j]) { j += 1 }
                let separator = bytes[i..<j]
                let valid: Bool
                if separator.allSatisfy({ $0 == UInt8(ascii: "-") }) {
                    valid = true
                } else {
                    valid = separator.elementsEqual([UInt8(ascii: ".")]) || separator.elementsEqual([UInt8(ascii: "_")])
                        || separator.elementsEqual([UInt8(ascii: "_"), UInt8(ascii: "_")])
                }
                guard valid else { return false }
                i = j
            }
            return true
        }

        /// `domainAndPort`: a domain name, IPv4 address or bracketed IPv6 address, with an
        /// optional `:port`.
        static func isDomainAndPort(_ s: Substring) -> Bool {
            let port: Substring?
            if s.hasPrefix("[") {
                // `\[[a-fA-F0-9:]+\]`: compressed or uncompressed IPv6, no zone identifier.
                guard let close = s.firstIndex(of: "]") else { return false }
                let inner = s[s.index(after: s.startIndex)..<close]
                guard !inner.isEmpty, inner.utf8.allSatisfy({ isHex($0) || $0 == UInt8(ascii: ":") }) else {
                    return false
                }
                let after = s[s.index(after: close)...]
                guard after.isEmpty || after.hasPrefix(":") else { return false }
                port = after.isEmpty ? nil : after.dropFirst()
            } else {
                let colon = s.firstIndex(of: ":")
                guard isDomainName(s[..<(colon ?? s.endIndex)]) else { return false }
                port = colon.map { s[s.index(after: $0)...] }
            }
            if let port {
                guard !port.isEmpty, port.utf8.allSatisfy(isDigit) else { return false }
            }
            return true
        }

        /// `domainName`: dot-separated components of `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`.
        static func isDomainName(_ s: Substring) -> Bool {
            guard !s.isEmpty else { return false }
            return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { component in
                guard let first = component.utf8.first, let last = component.utf8.last,
                    isAlnum(first), isAlnum(last)
                else { return false }
                return component.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
            }
        }

        /// `digestPat`: `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`.
        static func isDigestPattern(_ s: Substring) -> Bool {
            guard let colon = s.firstIndex(of: ":") else { return false }
            let algorithm = s[..<colon]
            let encoded = s[s.index(after: colon)...]
            guard encoded.utf8.count >= 32, encoded.utf8.allSatisfy(isHex) else { return false }
            var expectLetter = true
            for byte in algorithm.utf8 {
                if expectLetter {
                    guard isAlpha(byte) else { return false }
                    expectLetter = false
                } else if isAlnum(byte) {
                    continue
                } else if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "+")
                    || byte == UInt8(ascii: ".")
                {
                    expectLetter = true
                } else {
                    return false
                }
            }
            return !expectLetter
        }

        private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        private static func isAlpha(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) }
        private static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isAlpha(b) }
        private static func isLowerAlnum(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x61 && b <= 0x7a) }
        private static func isHex(_ b: UInt8) -> Bool {
            isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
        }
        private static func isWord(_ b: UInt8) -> Bool { isAlnum(b) || b == UInt8(ascii: "_") }
    }
}
