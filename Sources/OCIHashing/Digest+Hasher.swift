import struct Crypto.SHA256
import struct Crypto.SHA512
import OCISpec
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Digest {
    /// An incremental hasher that produces a ``Digest``; feed it bytes as they stream by.
    ///
    /// ```swift
    /// var hasher = Digest.Hasher(algorithm: .sha256)
    /// hasher.update(chunk)
    /// let digest = hasher.finalize()
    /// ```
    public struct Hasher {
        private enum State {
            case sha256(SHA256)
            case sha512(SHA512)
        }

        private var state: State

        /// The algorithm this hasher computes.
        public let algorithm: Algorithm

        /// Creates a hasher.
        /// - Parameter algorithm: the digest algorithm; `sha256` unless told otherwise.
        public init(algorithm: Algorithm = .sha256) {
            self.algorithm = algorithm
            self.state = algorithm == .sha512 ? .sha512(SHA512()) : .sha256(SHA256())
        }

        /// Adds raw bytes to the hash.
        /// - Parameter bytes: the next bytes of the content.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            switch state {
            case .sha256(var h):
                h.update(bufferPointer: bytes)
                state = .sha256(h)
            case .sha512(var h):
                h.update(bufferPointer: bytes)
                state = .sha512(h)
            }
        }

        /// Adds bytes to the hash.
        /// - Parameter data: the next bytes of the content.
        public mutating func update(_ data: some DataProtocol) {
            switch state {
            case .sha256(var h):
                h.update(data: data)
                state = .sha256(h)
            case .sha512(var h):
                h.update(data: data)
                state = .sha512(h)
            }
        }

        /// Returns the digest of everything added so far. The hasher may keep being updated.
        /// - Returns: the content's digest.
        public func finalize() -> Digest {
            switch state {
            case .sha256(let h): return Digest(uncheckedAlgorithm: .sha256, encoded: Self.hex(h.finalize()))
            case .sha512(let h): return Digest(uncheckedAlgorithm: .sha512, encoded: Self.hex(h.finalize()))
            }
        }

        private static let hexDigits = Array("0123456789abcdef".utf8)

        private static func hex(_ bytes: some Sequence<UInt8>) -> String {
            var out: [UInt8] = []
            out.reserveCapacity(128)
            for byte in bytes {
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The SHA-256 digest of some bytes.
    /// - Parameter data: the content.
    /// - Returns: `sha256:<hex>`.
    public static func sha256(of data: some DataProtocol) -> Digest {
        hash(data, algorithm: .sha256)
    }

    /// The SHA-512 digest of some bytes.
    /// - Parameter data: the content.
    /// - Returns: `sha512:<hex>`.
    public static func sha512(of data: some DataProtocol) -> Digest {
        hash(data, algorithm: .sha512)
    }

    /// The digest of some bytes with the given algorithm.
    /// - Parameters:
    ///   - data: the content.
    ///   - algorithm: the digest algorithm.
    /// - Returns: the content's digest.
    public static func hash(_ data: some DataProtocol, algorithm: Algorithm) -> Digest {
        var hasher = Hasher(algorithm: algorithm)
        hasher.update(data)
        return hasher.finalize()
    }

    /// Checks that some bytes hash to this digest, using this digest's algorithm.
    /// - Parameter data: the content that claims this digest.
    /// - Throws: ``OCISpecError`` with code `digestMismatch` naming the expected and the
    ///   actual digest.
    public func verify(_ data: some DataProtocol) throws {
        let actual = Digest.hash(data, algorithm: algorithm)
        guard actual == self else {
            throw OCISpecError(.digestMismatch, "digest mismatch: expected \(self), content hashes to \(actual)")
        }
    }
}
