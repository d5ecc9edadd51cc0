/// How a process run to completion ended, and what it printed.
public struct ProcessOutput: Sendable, Hashable {
    /// How the process ended. A non-zero exit is a result, not an error.
    public var status: TerminationStatus
    /// Its standard output, up to the output limit.
    public var standardOutput: [UInt8]
    /// Its standard error, up to the output limit.
    public var standardError: [UInt8]
    /// Whether it was killed because it ran past its timeout.
    public var timedOut: Bool
    /// Whether output was dropped because it exceeded the output limit.
    public var truncated: Bool

    /// Creates a result.
    /// - Parameters:
    ///   - status: how the process ended.
    ///   - standardOutput: its standard output.
    ///   - standardError: its standard error.
    ///   - timedOut: whether it was killed at its timeout.
    ///   - truncated: whether output was dropped.
    public init(status: TerminationStatus, standardOutput: [UInt8], standardError: [UInt8], timedOut: Bool = false, truncated: Bool = false) {
        self.status = status
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.timedOut = timedOut
        self.truncated = truncated
    }

    /// Standard output decoded as UTF-8 (invalid bytes replaced).
    public var standardOutputText: String { String(decoding: standardOutput, as: UTF8.self) }
    /// Standard error decoded as UTF-8 (invalid bytes replaced).
    public var standardErrorText: String { String(decoding: standardError, as: UTF8.self) }
}

/// Reads a stream to its end, keeping at most `limit` bytes: past the limit it keeps
/// reading (so the writer never blocks on a full pipe) and drops the bytes.
func collect(_ stream: ByteStream?, limit: Int) async throws -> (bytes: [UInt8], truncated: Bool) {
    guard let stream else { return ([], false) }
    var kept: [UInt8] = []
    var truncated = false
    for try await chunk in stream {
        let room = limit - kept.count
        if chunk.count <= room {
            kept += chunk
        } else {
            kept += chunk.prefix(max(0, room))
            truncated = true
        }
    }
    return (kept, truncated)
}
