#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Platform {
    /// Parses a platform specifier as containerd's `platforms.Parse` does, returning the
    /// ``normalized`` form.
    ///
    /// Accepted forms: `<os>`, `<arch>`, `<os>/<arch>`, `<os>/<arch>/<variant>`, where
    /// `<os>` may carry options `windows(10.0.17763+win32k)` (an OS version, then
    /// `+`-separated features, percent-encoded). A lone OS gets the host architecture; a
    /// lone known architecture gets the host OS.
    ///
    /// Because the result is normalised, `linux/arm64/v8` parses as `linux/arm64` and
    /// `linux/arm` as `linux/arm/v7`; matching treats them the same either way.
    /// - Parameter specifier: e.g. `linux/arm64/v8`, `linux/amd64`, `arm64`, `linux`.
    /// - Throws: ``OCISpecError`` with code `invalidPlatform` naming the specifier.
    public init(parsing specifier: String) throws {
        func fail(_ reason: String) -> OCISpecError {
            OCISpecError(.invalidPlatform, "invalid platform \"\(specifier)\": \(reason)")
        }
        guard !specifier.isEmpty else { throw fail("empty specifier") }
        guard !specifier.contains("*") else { throw fail("wildcards are not supported") }
        let parts = specifier.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count <= 3 else {
            throw fail("expected <os>[/<arch>[/<variant>]]")
        }
        guard let options = Self.parseOSComponent(parts[0]) else {
            throw fail("\"\(parts[0])\" is not a valid OS component (expected <os>[(<version>[+<feature>]*)])")
        }
        for part in parts.dropFirst() {
            guard !part.isEmpty, part.utf8.allSatisfy(Self.isSpecifierCharacter) else {
                throw fail("\"\(part)\" is not a valid component (expected [A-Za-z0-9_.-]+)")
            }
        }
        guard let osVersion = Self.decodeOSOption(options.version) else {
            throw fail("invalid percent-encoding in OS version \"\(options.version)\"")
        }
        var features: [String]?
        if !options.features.isEmpty {
            features = []
            for raw in options.features {
                guard let feature = Self.decodeOSOption(raw) else {
                    throw fail("invalid percent-encoding in OS feature \"\(raw)\"")
                }
                features?.append(feature)
            }
        }
        let os = Self.normalizeOS(options.os)
        var result: Platform
        switch parts.count {
        case 1:
            if Self.knownOperatingSystems.contains(os) {
                let host = Platform.current
                result = Platform(os: os, architecture: host.architecture, variant: host.variant)
            } else {
                let (arch, variant) = Self.normalizeArchitecture(String(parts[0]), variant: "")
                guard Self.knownArchitectures.contains(arch) else {
                    throw fail("unknown operating system or architecture")
                }
                result = Platform(os: Platform.current.os, architecture: arch, variant: variant)
            }
        case 2:
            let (arch, variant) = Self.normalizeArchitecture(String(parts[1]), variant: "")
            result = Platform(os: os, architecture: arch, variant: variant)
        default:
            let (arch, variant) = Self.normalizeArchitecture(String(parts[1]), variant: String(parts[2]))
            result = Platform(os: os, architecture: arch, variant: variant)
        }
        result.osVersion = osVersion.isEmpty ? nil : osVersion
        result.osFeatures = features
        self = result.normalized
    }

    /// `os`, `(version`, `+feature…)` of the first specifier component.
    private static func parseOSComponent(_ part: Substring) -> (os: String, version: String, features: [String])? {
        // ^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$
        let osEnd = part.firstIndex(of: "(") ?? part.endIndex
        let os = part[..<osEnd]
        guard !os.isEmpty, os.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else { return nil }
        guard osEnd != part.endIndex else { return (String(os), "", []) }
        guard part.hasSuffix(")") else { return nil }
        let inner = part[part.index(after: osEnd)..<part.index(before: part.endIndex)]
        let pieces = inner.split(separator: "+", omittingEmptySubsequences: false)
        let isOption: (Substring) -> Bool = { piece in
            piece.utf8.allSatisfy {
                isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "%")
                    || $0 == UInt8(ascii: "-")
            }
        }
        guard let version = pieces.first, isOption(version) else { return nil }
        let features = pieces.dropFirst()
        guard features.allSatisfy({ !$0.isEmpty && isOption($0) }) else { return nil }
        return (String(os), String(version), features.map(String.init))
    }

    /// Percent-decodes an OS option (`%XX` escapes of UTF-8 bytes).
    /// - Returns: nil for a malformed escape or bytes that are not UTF-8.
    private static func decodeOSOption(_ value: String) -> String? {
        guard value.contains("%") else { return value }
        func hexValue(_ b: UInt8) -> UInt8? {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        let bytes = Array(value.utf8)
        var decoded: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    return nil
                }
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        return String(validating: decoded, as: UTF8.self)
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
    }

    private static func isSpecifierCharacter(_ b: UInt8) -> Bool {
        isAlnum(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
    }
}
