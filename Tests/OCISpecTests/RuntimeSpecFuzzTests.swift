import Foundation
import OCISpec
import Testing

/// SplitMix64: small, seeded, reproducible.
struct RuntimeFuzzRNG: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Runtime spec decoder never crashes")
struct RuntimeSpecFuzzTests {
    static let seed: UInt64 = 0xCA15_5011

    /// Decodes as every runtime document type: each either decodes or throws OCISpecError.
    func decodeAll(_ data: Data, onlySpec: Bool = false) -> Bool {
        func attempt<T: Decodable>(_ type: T.Type) -> Bool {
            do {
                _ = try OCIJSON.decode(type, from: data)
                return true
            } catch is OCISpecError {
                return true
            } catch {
                Issue.record("\(T.self): non-OCISpecError \(error) for \(String(decoding: data, as: UTF8.self))")
                return false
            }
        }
        if onlySpec { return attempt(RuntimeSpec.self) }
        return attempt(RuntimeSpec.self) && attempt(ContainerState.self) && attempt(RuntimeFeatures.self)
    }

    @Test("random bytes")
    func randomBytes() {
        var rng = RuntimeFuzzRNG(seed: Self.seed)
        for _ in 0..<500 {
            let count = Int.random(in: 0..<256, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            guard decodeAll(Data(bytes)) else { return }
        }
    }

    @Test("mutated and truncated real documents")
    func mutatedDocuments() async throws {
        let sources: [Data] = [
            try await RuntimeFixtures.generatedSpec("runc"),
            try await RuntimeFixtures.generatedSpec("crun", ["--rootless"]),
            Data(RuntimeFixtures.everyField.utf8),
            try OCIJSON.encode(RuntimeSpec.secureDefault(args: ["/bin/true"])),
        ]
        // Bytes that keep the document JSON-ish, so mutations reach the typed decoders.
        let interesting = Array("{}[]\":,0123456789-.eE truefalsnul\\xyz".utf8) + [0, 0xFF, 0xC3]
        var rng = RuntimeFuzzRNG(seed: Self.seed ^ 1)
        var decodedSome = 0
        for iteration in 0..<2000 {
            var bytes = [UInt8](sources[iteration % sources.count])
            let mutations = Int.random(in: 1...4, using: &rng)
            for _ in 0..<mutations where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[at] = interesting.randomElement(using: &rng) ?? 0
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(interesting.randomElement(using: &rng) ?? 0, at: at)
                case 3: bytes.removeSubrange(at...)
                default:
                    // Duplicate a slice: produces repeated keys, nested structures, ...
                    let end = min(bytes.count, at + Int.random(in: 1...64, using: &rng))
                    bytes.insert(contentsOf: bytes[at..<end], at: Int.random(in: 0...bytes.count, using: &rng))
                }
            }
            let data = Data(bytes)
            if (try? OCIJSON.decode(RuntimeSpec.self, from: data)) != nil { decodedSome += 1 }
            guard decodeAll(data) else { return }
        }
        // The mutations are mild enough that some documents still decode.
        #expect(decodedSome > 0)
    }

    @Test("type confusion at every field of a full document")
    func typeConfusion() throws {
        // Replace each scalar of the full document with a value of every other JSON type.
        let original = try #require(
            JSONSerialization.jsonObject(with: Data(RuntimeFixtures.everyField.utf8)) as? [String: Any])
        let replacements: [Any] = ["s", -1, true, NSNull(), [String: Any]()]
        var paths: [[String]] = []
        func collect(_ value: Any, _ path: [String]) {
            if let dict = value as? [String: Any] {
                for (key, child) in dict { collect(child, path + [key]) }
            } else if let array = value as? [Any] {
                for (index, child) in array.enumerated() { collect(child, path + ["#\(index)"]) }
            }
            paths.append(path)
        }
        collect(original, [])
        func replacing(_ value: Any, _ path: ArraySlice<String>, with new: Any) -> Any {
            guard let head = path.first else { return new }
            if head.hasPrefix("#"), var array = value as? [Any], let index = Int(head.dropFirst()) {
                array[index] = replacing(array[index], path.dropFirst(), with: new)
                return array
            }
            if var dict = value as? [String: Any], let child = dict[head] {
                dict[head] = replacing(child, path.dropFirst(), with: new)
                return dict
            }
            return value
        }
        for path in paths where !path.isEmpty {
            for replacement in replacements {
                let mutated = replacing(original, path[...], with: replacement)
                let data = try JSONSerialization.data(withJSONObject: mutated)
                guard decodeAll(data, onlySpec: true) else { return }
            }
        }
    }

    @Test("signal parsing of random strings")
    func signalStrings() {
        var rng = RuntimeFuzzRNG(seed: Self.seed ^ 2)
        let alphabet = Array("SIGRTMINAX+-0123456789 termkil".unicodeScalars)
        for _ in 0..<3000 {
            let length = Int.random(in: 0..<24, using: &rng)
            let text = String(String.UnicodeScalarView((0..<length).compactMap { _ in alphabet.randomElement(using: &rng) }))
            if let signal = Signal(parsing: text) {
                #expect(Signal.validRange.contains(signal.rawValue))
                #expect(Signal(parsing: signal.name) == signal)
            }
        }
        #expect(Signal(parsing: "RTMIN+2147483647") == nil)
        #expect(Signal(parsing: "SIGRTMAX-99999999999") == nil)
    }
}
