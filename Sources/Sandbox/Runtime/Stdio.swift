import Glibc
import Synchronization
import _CSandbox
import SystemPackage

/// Where a container process's standard streams go.
public struct Stdio: Sendable {
    /// A source for standard input.
    public enum Input: Sendable {
        /// The host process's own stdin.
        case inherit
        /// /dev/null.
        case null
        /// A descriptor the caller owns (duplicated into the container; the caller may close its copy).
        case fileDescriptor(Int32)
        /// A pipe; write to it with ``ContainerIO/standardInput``.
        case pipe
    }

    /// A destination for standard output or error.
    public enum Output: Sendable {
        /// The host process's own stdout/stderr.
        case inherit
        /// /dev/null.
        case null
        /// A descriptor the caller owns.
        case fileDescriptor(Int32)
        /// A pipe; read it with ``ContainerIO/standardOutput`` / ``ContainerIO/standardError``.
        case pipe
    }

    /// Standard input (default: /dev/null).
    public var input: Input
    /// Standard output (default: inherited).
    public var output: Output
    /// Standard error (default: inherited).
    public var error: Output
    /// Descriptors passed as fd 3, 4, … in order (the caller keeps its copies).
    public var extraFiles: [Int32]

    /// Creates a stdio configuration.
    /// - Parameters:
    ///   - input: standard input.
    ///   - output: standard output.
    ///   - error: standard error.
    ///   - extraFiles: descriptors passed as fd 3, 4, …
    public init(input: Input = .null, output: Output = .inherit, error: Output = .inherit, extraFiles: [Int32] = []) {
        self.input = input
        self.output = output
        self.error = error
        self.extraFiles = extraFiles
    }

    /// All three streams inherited from the host process.
    public static let inherit = Stdio(input: .inherit, output: .inherit, error: .inherit)
    /// Input from /dev/null, output and error captured in pipes.
    public static let pipes = Stdio(input: .null, output: .pipe, error: .pipe)
    /// All three streams piped.
    public static let allPipes = Stdio(input: .pipe, output: .pipe, error: .pipe)

    /// The child's fds 0...2 and the parent's ends of any pipes.
    struct Prepared {
        var childFDs: [Int32]       // fds to hand to the child, closed by the parent after spawn
        var ownedChildFDs: [Int32]  // those of childFDs the parent opened itself
        var io: ContainerIO
    }

    func prepare() throws(SandboxError) -> Prepared {
        var childFDs: [Int32] = []
        var owned: [Int32] = []
        var parentEnds: [Int32?] = [nil, nil, nil]
        do {
            for stream in 0..<3 {
                let choice: (inherit: Bool, null: Bool, fd: Int32?, pipe: Bool)
                if stream == 0 {
                    switch input {
                    case .inherit: choice = (true, false, nil, false)
                    case .null: choice = (false, true, nil, false)
                    case .fileDescriptor(let fd): choice = (false, false, fd, false)
                    case .pipe: choice = (false, false, nil, true)
                    }
                } else {
                    switch stream == 1 ? output : error {
                    case .inherit: choice = (true, false, nil, false)
                    case .null: choice = (false, true, nil, false)
                    case .fileDescriptor(let fd): choice = (false, false, fd, false)
                    case .pipe: choice = (false, false, nil, true)
                    }
                }
                if choice.inherit {
                    childFDs.append(Int32(stream))
                } else if let fd = choice.fd {
                    childFDs.append(fd)
                } else if choice.null {
                    let fd = try retryingEINTR { open("/dev/null", (stream == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC) }
                    owned.append(fd)
                    childFDs.append(fd)
                } else {
                    var pair: [Int32] = [-1, -1]
                    try negErrno(csb_pipe(&pair))
                    let (childEnd, parentEnd) = stream == 0 ? (pair[0], pair[1]) : (pair[1], pair[0])
                    owned.append(childEnd)
                    childFDs.append(childEnd)
                    parentEnds[stream] = parentEnd
                    _ = fcntl(parentEnd, F_SETFL, O_NONBLOCK)
                }
            }
        } catch {
            for fd in owned { close(fd) }
            for case let fd? in parentEnds { close(fd) }
            throw SandboxError(.system, "stdio: creating pipes", errno: error)
        }
        let io = ContainerIO(
            standardInput: parentEnds[0].map(PipeWriter.init(fd:)),
            standardOutput: parentEnds[1].map(ByteStream.init(fd:)),
            standardError: parentEnds[2].map(ByteStream.init(fd:)),
            terminal: nil)
        return Prepared(childFDs: childFDs, ownedChildFDs: owned, io: io)
    }
}

/// The host's ends of a container process's streams.
public struct ContainerIO: Sendable {
    /// Writes to the process's stdin, when it is a pipe.
    public var standardInput: PipeWriter?
    /// The process's stdout, when it is a pipe.
    public var standardOutput: ByteStream?
    /// The process's stderr, when it is a pipe.
    public var standardError: ByteStream?
    /// The pseudo-terminal, when `process.terminal` is set.
    public var terminal: Terminal?
}

/// Bytes read from a pipe, as an async sequence of chunks. Iterate it once.
public final class ByteStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let fd: Int32

    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    /// An iterator over the chunks, ending at end of file.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ByteStream
        public mutating func next() async throws -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(stream.fd, $0.baseAddress, $0.count) }
                if n > 0 { return Array(buffer[0..<n]) }
                if n == 0 { return nil }
                let error = Glibc.errno
                if error == EINTR { continue }
                guard error == EAGAIN else { throw Errno(rawValue: error) }
                try await Reactor.shared.waitReadable(stream.fd)
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: self) }

    /// Reads everything until end of file.
    /// - Returns: all bytes.
    /// - Throws: `Errno` if reading fails.
    public func readAll() async throws -> [UInt8] {
        var all: [UInt8] = []
        for try await chunk in self { all.append(contentsOf: chunk) }
        return all
    }
}

/// The writing end of a container process's stdin pipe.
public final class PipeWriter: Sendable {
    private let descriptor: Int32
    private let closed = Synchronization.Atomic<Bool>(false)

    init(fd: Int32) {
        descriptor = fd
        // Blocking writes: a full pipe waits for the container to read.
        _ = fcntl(fd, F_SETFL, 0)
    }

    deinit { if !closed.load(ordering: .relaxed) { Glibc.close(descriptor) } }

    /// Writes all of `bytes`.
    /// - Throws: `Errno` (EPIPE once the container closed its stdin).
    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw Errno(rawValue: Glibc.errno)
            }
            offset += n
        }
    }

    /// Writes a string as UTF-8.
    public func write(_ string: String) throws { try write(Array(string.utf8)) }

    /// Closes stdin: the container reads end of file.
    public func close() {
        if closed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            Glibc.close(descriptor)
        }
    }
}

/// A container's pseudo-terminal (its master side).
public final class Terminal: Sendable {
    /// The pty master fd (owned by this object).
    public let fileDescriptor: Int32

    init(fd: Int32) { fileDescriptor = fd }
    deinit { close(fileDescriptor) }

    /// Hands the pty master to another process over a unix socket, as runc's
    /// `--console-socket` protocol does: one message carrying the fd (SCM_RIGHTS) with the
    /// name "/dev/ptmx" as data. This object keeps its own copy open.
    /// - Parameter path: the listening unix socket (e.g. from containerd or podman).
    /// - Throws: ``SandboxError`` naming the socket if it cannot be reached.
    public func send(toConsoleSocket path: String) throws {
        let name = Array("/dev/ptmx".utf8)
        let r = name.withUnsafeBytes { csb_send_fd_to_path(path, $0.baseAddress!, $0.count, fileDescriptor) }
        if r < 0 {
            throw SandboxError(.system, "console socket \(path): sending the pty master", errno: Errno(rawValue: -r))
        }
    }

    /// Changes the terminal's window size (the container gets SIGWINCH).
    /// - Throws: `Errno` if the ioctl fails.
    public func resize(rows: UInt16, columns: UInt16) throws {
        let r = csb_set_winsize(fileDescriptor, rows, columns)
        if r < 0 { throw Errno(rawValue: -r) }
    }
}
