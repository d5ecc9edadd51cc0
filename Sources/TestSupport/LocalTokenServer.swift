import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A small token server implementing the distribution token auth spec
/// (docker/distribution docs/spec/auth/token.md) on 127.0.0.1, for registry tests:
/// `GET /token?service=…&scope=…` with optional basic credentials answers
/// `{"token": JWT, "expires_in": LIFETIME}` (300 s unless asked otherwise), an RS256 JWT whose `x5c` header carries a
/// self-signed certificate that the registry trusts (`rootcertbundle`). Signing uses
/// the `openssl` command.
///
/// Anonymous requests get `pull` only; requests with the configured user and password
/// get every action they ask for; a wrong password gets 401.
public final class LocalTokenServer: Sendable {
    /// The issuer written into tokens (`auth.token.issuer` of the registry).
    public static let issuer = "caisson-test-issuer"
    /// The service name (`auth.token.service` of the registry).
    public static let service = "caisson-test-registry"

    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The certificate (PEM) the registry must trust.
    public let certificatePath: String
    /// The user and password that get push access.
    public let user: (username: String, password: String)
    /// How long issued tokens live, in seconds (`expires_in` and the JWT's `exp`).
    public let tokenLifetime: Int
    private let directory: String
    private let keyPath: String
    private let certificateDER: String
    private let listener: Int32
    private let state = Mutex(State())

    private struct State {
        var requests: [String] = []
        var stopped = false
    }

    /// The realm URL to put in the registry configuration.
    public var realm: String { "http://127.0.0.1:\(port)/token" }

    /// The scopes of each token request served so far, in order (one string per request,
    /// scopes joined by spaces, `anonymous ` or `USER ` first).
    public var requests: [String] { state.withLock { $0.requests } }

    /// Creates the key and certificate in `directory` and starts serving.
    /// - Parameters:
    ///   - directory: where to keep the key and certificate (an existing directory).
    ///   - user: the user and password that get push access.
    ///   - tokenLifetime: seconds a token lives (short ones test expiry and renewal).
    /// - Throws: if `openssl` fails or the socket cannot be bound.
    public init(directory: String, user: (username: String, password: String), tokenLifetime: Int = 300) throws {
        self.directory = directory
        self.user = user
        self.tokenLifetime = tokenLifetime
        keyPath = "\(directory)/token.key"
        certificatePath = "\(directory)/token.crt"
        try Self.openssl([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certificatePath, "-days", "2",
            "-subj", "/CN=caisson-test-token-issuer",
        ])
        let pem = try String(contentsOfFile: certificatePath, encoding: .utf8)
        certificateDER = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in serve() }.start()
    }

    /// Stops accepting connections and waits for the serving thread to notice.
    public func stop() {
        guard state.withLock({ let was = $0.stopped; $0.stopped = true; return !was }) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while !state.withLock({ $0.stopped }) {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ connection: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.contains(Data("\r\n\r\n".utf8)), request.count < 65536 {
            let n = read(connection, &buffer, buffer.count)
            if n <= 0 { return }
            request.append(contentsOf: buffer[0..<n])
        }
        let head = String(decoding: request, as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let target = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        var authorization: String?
        for line in lines.dropFirst() where line.lowercased().hasPrefix("authorization:") {
            authorization = line.dropFirst("authorization:".count).trimmingCharacters(in: .whitespaces)
        }
        let components = URLComponents(string: target)
        let scopes = (components?.queryItems ?? []).filter { $0.name == "scope" }.compactMap(\.value)
            .flatMap { $0.split(separator: " ").map(String.init) }
        var subject = "anonymous"
        if let authorization {
            let expected = "Basic " + Data("\(user.username):\(user.password)".utf8).base64EncodedString()
            guard authorization == expected else {
                respond(connection, status: "401 Unauthorized", body: #"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#)
                return
            }
            subject = user.username
        }
        state.withLock { $0.requests.append(([subject] + scopes).joined(separator: " ")) }
        var access: [[String: Any]] = []
        for scope in scopes {
            let parts = scope.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 3 else { continue }
            let name = parts[1..<(parts.count - 1)].joined(separator: ":")
            var actions = parts[parts.count - 1].split(separator: ",").map(String.init)
            if subject == "anonymous" { actions = actions.filter { $0 == "pull" } }
            access.append(["type": parts[0], "name": name, "actions": actions])
        }
        do {
            let token = try makeToken(subject: subject, access: access)
            respond(connection, status: "200 OK", body: #"{"token":"\#(token)","expires_in":\#(tokenLifetime)}"#)
        } catch {
            respond(connection, status: "500 Internal Server Error", body: #"{"errors":[{"code":"UNKNOWN","message":"signing failed"}]}"#)
        }
    }

    private func respond(_ connection: Int32, status: String, body: String) {
        let response = "HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let bytes = Array(response.utf8)
        let total = bytes.count
        var offset = 0
        while offset < total {
            let n = bytes.withUnsafeBytes { write(connection, $0.baseAddress! + offset, total - offset) }
            if n <= 0 { return }
            offset += n
        }
    }

    private func makeToken(subject: String, access: [[String: Any]]) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        let header: [String: Any] = ["typ": "JWT", "alg": "RS256", "x5c": [certificateDER]]
        let claims: [String: Any] = [
            "iss": Self.issuer, "sub": subject, "aud": Self.service, "exp": now + tokenLifetime, "nbf": now - 10, "iat": now,
            "jti": UUID().uuidString, "access": access,
        ]
        let signingInput = Self.base64URL(try JSONSerialization.data(withJSONObject: header))
            + "." + Self.base64URL(try JSONSerialization.data(withJSONObject: claims))
        let inputPath = "\(directory)/jwt-\(UUID().uuidString)"
        try Data(signingInput.utf8).write(to: URL(fileURLWithPath: inputPath))
        defer { try? FileManager.default.removeItem(atPath: inputPath) }
        let signature = try Self.openssl(["dgst", "-sha256", "-binary", "-sign", keyPath, inputPath])
        return signingInput + "." + Self.base64URL(signature)
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @discardableResult
    private static func openssl(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.first ?? "") failed"])
        }
        return data
    }
}
