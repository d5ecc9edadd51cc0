import OCISpec

/// How a container's process ended. A non-zero exit is a result, not an error.
public enum TerminationStatus: Hashable, Sendable, CustomStringConvertible {
    /// The process called exit with this code.
    case exited(Int32)
    /// The process was terminated by this signal.
    case signaled(Signal)
    /// The process is gone but its status was collected elsewhere (another process
    /// created it, or the host ignores SIGCHLD).
    case unknown

    /// The shell's view of the status: the code, or 128 + the signal number.
    public var shellCode: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal.rawValue
        case .unknown: return 255
        }
    }

    /// Whether the process exited with code 0.
    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exited with \(code)"
        case .signaled(let signal): return "killed by \(signal.name)"
        case .unknown: return "exited (status unknown)"
        }
    }
}
