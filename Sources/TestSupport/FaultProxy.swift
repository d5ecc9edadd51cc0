import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A misbehaving HTTP/1.1 proxy on 127.0.0.1 in front of a real server, for fault tests
/// of the registry client: it answers with an error status some number of times,
/// truncates response bodies, or redirects blob downloads to another origin
/// (`localhost:PORT` instead of `127.0.0.1:PORT`), and records every request it sees.
/// One request per connection (`Connection: close`); one thread per connection.
public final class FaultProxy: Sendable {
    /// A misbehaviour, applied to requests whose path contains `pathContains`.
    public enum Fault: Sendable {
        /// Answer `status` (with `Retry-After` if given) instead of forwarding, `times` times.
        case status(Int, retryAfter: Int?, times: Int, pathContains: String)
        /// Answer `status` with this body, `Content-Type` and extra header lines
        /// (`Name: value`) instead of forwarding, `times` times.
        case respond(Int, contentType: String, body: String, headers: [String] = [], times: Int, pathContains: String)
        /// Forward, but close the connection after `bytes` bytes of the body, `times` times.
        case truncate(afterBytes: Int, times: Int, pathContains: String)
        /// Answer GETs with a 307 to the same URL at `localhost:PORT` (another origin). The
        /// redirected request is forwarded with `authorization` (like a presigned URL).
        case redirectToOtherOrigin(pathContains: String, authorization: String?)
    }

    /// One request as the proxy saw it.
    public struct SeenRequest: Sendable, Hashable {
        /// The method.
        public var method: String
        /// The request target (path and query).
        public var path: String
        /// The Host header.
        public var host: String
        /// Whether an Authorization header was sent.
        public var hadAuthorization: Bool
        /// The Range header, if any.
        public var range: String?
    }

    private struct State {
        var faults: [(fault: Fault, remaining: Int)] = []
        var seen: [SeenRequest] = []
        var stopped = false
    }

    /// The proxy's port on 127.0.0.1.
    public let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let state = Mutex(State())

    /// `127.0.0.1:PORT`, the registry domain to use in references.
    public var host: String { "127.0.0.1:\(port)" }

    /// The requests seen so far.
    public var requests: [SeenRequest] { state.withLock { $0.seen } }

    /// Starts a proxy forwarding to `127.0.0.1:upstreamPort`.
    /// - Parameter upstreamPort: the real server's port.
    /// - Throws: if the socket cannot be bound.
    public init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    /// Adds a fault; faults are tried in the order added.
    /// - Parameter fault: the misbehaviour.
    public func inject(_ fault: Fault) {
        let times: Int
        switch fault {
        case .status(_, _, let count, _), .truncate(_, let count, _), .respond(_, _, _, _, let count, _): times = count
        case .redirectToOtherOrigin: times = Int.max
        }
        state.withLock { $0.faults.append((fault, times)) }
    }

    /// Removes every fault and forgets the requests seen.
    public func reset() {
        state.withLock {
            $0.faults = []
            $0.seen = []
        }
    }

    /// Stops accepting connections.
    public func stop() {
        guard state.withLock({ let was = $0.stopped; $0.stopped = true; return !was }) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !state.withLock({ $0.stopped }) {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            Thread { [self] in
                handle(connection)
                close(connection)
            }.start()
        }
    }

    private func handle(_ client: Int32) {
        Self.setTimeout(client)
        guard var (head, body) = Self.readRequest(client) else { return }
        let lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.first?.split(separator: " ").map(String.init) ?? []
        guard requestLine.count >= 2 else { return }
        let method = requestLine[0], path = requestLine[1]
        func header(_ name: String) -> String? {
            lines.dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
        }
        let host = header("Host") ?? ""
        state.withLock {
            $0.seen.append(SeenRequest(
                method: method, path: path, host: host, hadAuthorization: header("Authorization") != nil, range: header("Range")))
        }
        var truncateAfter: Int?
        var injectAuthorization: String?
        let fault: Fault? = state.withLock { state in
            for index in state.faults.indices where state.faults[index].remaining > 0 {
                let fault = state.faults[index].fault
                let pattern: String
                switch fault {
                case .status(_, _, _, let contains), .truncate(_, _, let contains), .respond(_, _, _, _, _, let contains):
                    pattern = contains
                case .redirectToOtherOrigin(let contains, _): pattern = contains
                }
                guard path.contains(pattern) else { continue }
                if case .redirectToOtherOrigin = fault, method != "GET" { continue }
                state.faults[index].remaining -= 1
                return fault
            }
            return nil
        }
        switch fault {
        case .status(let status, let retryAfter, _, _):
            let extra = retryAfter.map { "Retry-After: \($0)\r\n" } ?? ""
            let payload = #"{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}"#
            Self.writeAll(client, Data("HTTP/1.1 \(status) Injected\r\n\(extra)Content-Type: application/json\r\nContent-Length: \(payload.utf8.count)\r\nConnection: close\r\n\r\n\(payload)".utf8))
            return
        case .respond(let status, let contentType, let payload, let headers, _, _):
            let extra = headers.map { $0 + "\r\n" }.joined()
            Self.writeAll(client, Data("HTTP/1.1 \(status) Injected\r\n\(extra)Content-Type: \(contentType)\r\nContent-Length: \(payload.utf8.count)\r\nConnection: close\r\n\r\n\(payload)".utf8))
            return
        case .redirectToOtherOrigin(_, let authorization):
            if host.hasPrefix("localhost:") {
                injectAuthorization = authorization
            } else {
                Self.writeAll(client, Data("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://localhost:\(port)\(path)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
                return
            }
        case .truncate(let bytes, _, _):
            truncateAfter = bytes
        case nil:
            break
        }
        // Forward with Connection: close, then relay the response (maybe truncated).
        var forwarded = lines.filter { !$0.isEmpty && !$0.lowercased().hasPrefix("connection:") }
        if let injectAuthorization {
            forwarded.removeAll { $0.lowercased().hasPrefix("authorization:") }
            forwarded.append("Authorization: \(injectAuthorization)")
        }
        head = forwarded.joined(separator: "\r\n") + "\r\nConnection: close\r\n\r\n"
        guard let upstream = Self.connect(port: upstreamPort) else { return }
        defer { close(upstream) }
        Self.setTimeout(upstream)
        guard Self.writeAll(upstream, Data(head.utf8) + body) else { return }
        body = Data()
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(upstream, &buffer, buffer.count)
            if n <= 0 { break }
            response.append(contentsOf: buffer[0..<n])
        }
        if let truncateAfter, let end = response.range(of: Data("\r\n\r\n".utf8)) {
            let cut = min(response.count, end.upperBound + truncateAfter)
            Self.writeAll(client, response.prefix(cut))
            return
        }
        Self.writeAll(client, response)
    }

    private static func readRequest(_ fd: Int32) -> (String, Data)? {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headEnd: Range<Data.Index>?
        while headEnd == nil {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return nil }
            data.append(contentsOf: buffer[0..<n])
            headEnd = data.range(of: Data("\r\n\r\n".utf8))
            if data.count > 1 << 20 { return nil }
        }
        let head = String(decoding: data[..<headEnd!.lowerBound], as: UTF8.self)
        var body = Data(data[headEnd!.upperBound...])
        let length = head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        while body.count < length {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return nil }
            body.append(contentsOf: buffer[0..<n])
        }
        return (head, body)
    }

    @discardableResult
    private static func writeAll(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    private static func connect(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        if !connected {
            close(fd)
            return nil
        }
        return fd
    }

    private static func setTimeout(_ fd: Int32) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
}
