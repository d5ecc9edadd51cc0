import Foundation
import Testing

import OCIHashing
@testable import OCISpec

@Suite("Digest")
struct DigestTests {
    static let emptySHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let abcSHA256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    static let emptySHA512 =
        "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
    static let abcSHA512 =
        "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

    @Test("valid digests parse and print unchanged", arguments: [emptySHA256, abcSHA256, emptySHA512, abcSHA512])
    func valid(_ string: String) throws {
        let digest = try Digest(parsing: string)
        #expect(digest.description == string)
        #expect(digest.algorithm.name == String(string.prefix { $0 != ":" }))
        #expect(digest.encoded == String(string.drop { $0 != ":" }.dropFirst()))
    }

    @Test(
        "invalid digests are rejected naming the input",
        arguments: [
            ("", "missing ':'"),
            ("sha256", "missing ':'"),
            ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "missing ':'"),
            (":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty algorithm"),
            ("sha256:", "empty encoded"),
            ("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "lowercase hex"),
            ("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", "64 hex characters"),
            ("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555", "64 hex characters"),
            ("sha256:zzb0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "lowercase hex"),
            ("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "128 hex characters"),
            ("md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported algorithm"),
            ("sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b", "unsupported algorithm"),
            ("SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "algorithm must match"),
            ("sha256+:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "algorithm must match"),
            ("sha256:e3b0c442 8fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "encoded hash must match"),
        ])
    func invalid(_ string: String, _ reason: String) {
        let error = #expect(throws: OCISpecError.self) { try Digest(parsing: string) }
        #expect(error?.code == .invalidDigest)
        #expect(error?.message.contains("\"\(string)\"") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(reason) == true, "\(error?.message ?? "")")
    }

    @Test("known hash vectors")
    func vectors() {
        #expect(Digest.sha256(of: Data()).description == Self.emptySHA256)
        #expect(Digest.sha256(of: Array("abc".utf8)).description == Self.abcSHA256)
        #expect(Digest.sha512(of: Data()).description == Self.emptySHA512)
        #expect(Digest.sha512(of: Data("abc".utf8)).description == Self.abcSHA512)
    }

    @Test("incremental hashing equals one-shot hashing", arguments: [Digest.Algorithm.sha256, .sha512])
    func incremental(_ algorithm: Digest.Algorithm) {
        var generator = ImageTestRNG(seed: 42)
        let bytes = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var hasher = Digest.Hasher(algorithm: algorithm)
        var offset = 0
        var chunk = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            if chunk % 2 == 0 {
                bytes[offset..<end].withUnsafeBytes { hasher.update($0) }
            } else {
                hasher.update(bytes[offset..<end])
            }
            offset = end
            chunk = chunk * 3 + 1
        }
        #expect(hasher.finalize() == Digest.hash(bytes, algorithm: algorithm))
        #expect(hasher.finalize().algorithm == algorithm)
    }

    @Test("verify reports both digests on mismatch")
    func verify() throws {
        let digest = try Digest(parsing: Self.abcSHA256)
        try digest.verify(Data("abc".utf8))
        let error = #expect(throws: OCISpecError.self) { try digest.verify(Data("abd".utf8)) }
        #expect(error?.code == .digestMismatch)
        #expect(error?.message.contains(Self.abcSHA256) == true)
        #expect(error?.message.contains(Digest.sha256(of: Data("abd".utf8)).description) == true)
    }

    @Test("codes as a JSON string and names the field path on error")
    func codable() throws {
        struct Holder: Codable, Equatable { var digest: Digest }
        let holder = Holder(digest: Digest.sha256(of: Data()))
        let json = try OCIJSON.encode(holder)
        #expect(String(decoding: json, as: UTF8.self) == "{\"digest\":\"\(Self.emptySHA256)\"}")
        #expect(try OCIJSON.decode(Holder.self, from: json) == holder)
        let error = #expect(throws: OCISpecError.self) {
            try OCIJSON.decode(Holder.self, from: Data("{\"digest\":\"sha256:XYZ\"}".utf8))
        }
        #expect(error?.code == .invalidDigest)
        #expect(error?.message.hasPrefix("digest: invalid digest \"sha256:XYZ\"") == true, "\(error?.message ?? "")")
    }
}
