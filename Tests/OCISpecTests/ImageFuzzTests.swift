import Foundation
import Testing

@testable import OCISpec

/// Random and mutated inputs never crash the image decoders and parsers: each either
/// decodes or throws an ``OCISpecError``.
@Suite("Image fuzzing")
struct ImageFuzzTests {
    static let iterations = 3000

    /// Runs every image decoder on `data`, requiring success or an `OCISpecError`.
    static func decodeAll(_ data: Data) {
        func check(_ body: () throws -> Void) {
            do {
                try body()
            } catch is OCISpecError {
            } catch {
                Issue.record("unexpected error type \(type(of: error)): \(error)")
            }
        }
        check { _ = try ManifestDocument.decode(data, mediaType: nil) }
        check { _ = try ManifestDocument.decode(data, mediaType: .imageManifest) }
        check { _ = try OCIJSON.decode(ImageIndex.self, from: data) }
        check { _ = try OCIJSON.decode(ImageManifest.self, from: data) }
        check { _ = try OCIJSON.decode(ImageConfiguration.self, from: data) }
        check { _ = try OCIJSON.decode(ImageLayout.self, from: data) }
        check { _ = try OCIJSON.decode(Descriptor.self, from: data) }
        check {
            // Whatever decodes must encode and decode again to an equal value.
            let manifest = try OCIJSON.decode(ImageManifest.self, from: data)
            let again = try OCIJSON.decode(ImageManifest.self, from: OCIJSON.encode(manifest))
            #expect(again == manifest)
        }
    }

    static func mutate(_ bytes: [UInt8], using rng: inout ImageTestRNG) -> [UInt8] {
        var bytes = bytes
        let interesting = Array(#"{}[]":,0-19eE.+\ntruefalsenull/sha256:"#.utf8)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes[i] = interesting.randomElement(using: &rng) ?? 0
            case 2: bytes.removeSubrange(i..<min(bytes.count, i + Int.random(in: 1...16, using: &rng)))
            case 3: bytes.insert(interesting.randomElement(using: &rng) ?? 0, at: i)
            case 4: bytes = Array(bytes.prefix(i))
            default:
                let j = Int.random(in: 0..<bytes.count, using: &rng)
                bytes.swapAt(i, j)
            }
        }
        return bytes
    }

    @Test("random bytes")
    func randomBytes() {
        var rng = ImageTestRNG(seed: 0xC0FFEE)
        for _ in 0..<Self.iterations / 3 {
            let count = Int.random(in: 0..<64, using: &rng)
            Self.decodeAll(Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        }
    }

    @Test("mutated and truncated real documents")
    func mutatedDocuments() {
        var rng = ImageTestRNG(seed: 7)
        let documents = ImageSamples.all.map { Array($0.utf8) }
        for document in documents {
            Self.decodeAll(Data(document))
            for cut in stride(from: 0, to: document.count, by: max(1, document.count / 40)) {
                Self.decodeAll(Data(document.prefix(cut)))
            }
        }
        for n in 0..<Self.iterations {
            Self.decodeAll(Data(Self.mutate(documents[n % documents.count], using: &rng)))
        }
    }

    @Test("random strings to the value parsers")
    func parsers() {
        var rng = ImageTestRNG(seed: 99)
        let alphabet = Array("abcAZ09:/@._-[]%()+ *\u{0}é🐳".unicodeScalars)
        let seeds = [
            "docker.io/library/busybox:latest@sha256:\(String(repeating: "f", count: 64))", "[::1]:5000/a/b:c",
            "linux/arm64/v8", "windows(10.0+win32k)/amd64", "sha256:\(String(repeating: "0", count: 64))",
            "application/vnd.oci.image.manifest.v1+json",
        ]
        for n in 0..<Self.iterations {
            var scalars = Array(seeds[n % seeds.count].unicodeScalars)
            for _ in 0..<Int.random(in: 1...5, using: &rng) {
                let i = Int.random(in: 0...scalars.count, using: &rng)
                if Bool.random(using: &rng), i < scalars.count {
                    scalars.remove(at: i)
                } else if let scalar = alphabet.randomElement(using: &rng) {
                    scalars.insert(scalar, at: i)
                }
            }
            var input = ""
            input.unicodeScalars.append(contentsOf: scalars)
            if let ref = try? Reference(parsing: input) {
                // A parsed reference re-parses to itself.
                #expect((try? Reference(parsing: ref.description)) == ref, "\(input)")
            }
            if let platform = try? Platform(parsing: input) {
                #expect(platform == platform.normalized)
            }
            if let digest = try? Digest(parsing: input) {
                #expect(digest.description == input)
            }
            _ = try? MediaType(parsing: input)
        }
    }
}
