import Foundation

/// A throwaway certificate authority and a server certificate it signed for 127.0.0.1
/// and localhost, made with the `openssl` command, for TLS tests of the registry client
/// (``LocalRegistry`` serves HTTPS with them). Valid for two days; P-256 keys.
public struct TestCertificates: Sendable {
    /// The CA certificate (PEM) a client must trust.
    public let caCertificate: String
    /// The server certificate (PEM), signed by the CA.
    public let serverCertificate: String
    /// The server's private key (PEM).
    public let serverKey: String

    /// The server certificate and key, as ``LocalRegistry/start(basicAuth:tokenServer:tls:)`` takes them.
    public var serverFiles: (certificate: String, key: String) { (serverCertificate, serverKey) }

    /// Whether `openssl` is installed.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") }

    /// Makes a CA and a server certificate in `directory`.
    /// - Parameters:
    ///   - directory: an existing directory; the files are `ca.crt`, `ca.key`,
    ///     `server.crt`, `server.key` (and openssl's scratch files).
    ///   - commonName: the CA's common name.
    /// - Returns: the file paths.
    /// - Throws: if an `openssl` command fails (its stderr is in the error).
    public static func make(in directory: String, commonName: String = "caisson-test-ca") throws -> TestCertificates {
        let ca = "\(directory)/ca.crt", caKey = "\(directory)/ca.key"
        let server = "\(directory)/server.crt", serverKey = "\(directory)/server.key"
        let request = "\(directory)/server.csr", extensions = "\(directory)/server.ext"
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", caKey,
            "-out", ca, "-days", "2", "-subj", "/CN=\(commonName)",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", serverKey,
            "-out", request, "-subj", "/CN=127.0.0.1",
        ])
        try """
            subjectAltName=IP:127.0.0.1,DNS:localhost
            basicConstraints=CA:FALSE
            keyUsage=critical,digitalSignature,keyEncipherment
            extendedKeyUsage=serverAuth

            """.write(toFile: extensions, atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", request, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", server, "-days", "2",
            "-extfile", extensions,
        ])
        return TestCertificates(caCertificate: ca, serverCertificate: server, serverKey: serverKey)
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [
                NSLocalizedDescriptionKey:
                    "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(String(decoding: message, as: UTF8.self))",
            ])
        }
    }
}
