// Spec: runtime.md#kill
/// A POSIX signal, numbered as on Linux (x86, arm, arm64, riscv, s390, ppc).
///
/// Parses the forms `kill(1)`, runc and Docker's `StopSignal` accept: `SIGTERM`, `TERM`,
/// `term`, `15`, `SIGRTMIN+3`, `RTMAX-1`. Encodes as its name (`"SIGTERM"`); decodes any
/// form ``init(parsing:)`` accepts.
public struct Signal: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The signal number.
    public let rawValue: Int32

    /// Wraps a signal number.
    /// - Parameter rawValue: a number in `1...64`.
    /// - Returns: `nil` outside `1...64`.
    public init?(rawValue: Int32) {
        guard Signal.validRange.contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(unchecked rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Parses a signal name or number.
    ///
    /// Case-insensitive; the `SIG` prefix is optional; real-time signals are written
    /// `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n`; numbers are decimal.
    /// - Parameter text: e.g. `"SIGTERM"`, `"term"`, `"15"`, `"SIGRTMIN+3"`.
    /// - Returns: `nil` if the text names no signal.
    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty, trimmed.utf8.count <= 32 else { return nil }
        if let number = Int32(trimmed) {
            self.init(rawValue: number)
            return
        }
        var name = trimmed.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let number = Signal.numbersByName[name] {
            self.init(unchecked: number)
            return
        }
        if let number = Signal.parseRealtime(name) {
            self.init(unchecked: number)
            return
        }
        if let number = Int32(name), let signal = Signal(rawValue: number) {
            self = signal
            return
        }
        return nil
    }

    /// The canonical name: `SIGTERM`, `SIGRTMIN+3`, `SIGRTMAX-1`.
    public var name: String {
        if let name = Signal.namesByNumber[rawValue] { return "SIG" + name }
        if rawValue >= Signal.rtmin.rawValue {
            let fromMin = rawValue - Signal.rtmin.rawValue
            let fromMax = Signal.rtmax.rawValue - rawValue
            if fromMin == 0 { return "SIGRTMIN" }
            if fromMax == 0 { return "SIGRTMAX" }
            return fromMin <= fromMax ? "SIGRTMIN+\(fromMin)" : "SIGRTMAX-\(fromMax)"
        }
        return "SIG\(rawValue)"
    }

    /// The name, as ``name``.
    public var description: String { name }

    /// Decodes a name or number string (any form ``init(parsing:)`` accepts) or a number.
    /// - Parameter decoder: the decoder.
    /// - Throws: `DecodingError.dataCorrupted` naming the field when no signal matches.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int32.self) {
            guard let signal = Signal(rawValue: number) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown signal \(number)")
            }
            self = signal
            return
        }
        let text = try container.decode(String.self)
        guard let signal = Signal(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown signal \"\(text)\"")
        }
        self = signal
    }

    /// Encodes the signal as its ``name``.
    /// - Parameter encoder: the encoder.
    /// - Throws: what the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    /// Every signal number accepted: 1 to 64 (32 and 33 are reserved by glibc but exist).
    public static let validRange: ClosedRange<Int32> = 1...64

    /// Every valid signal, in numeric order.
    public static var allCases: [Signal] { validRange.map(Signal.init(unchecked:)) }

    /// SIGHUP (1).
    public static let hup = Signal(unchecked: 1)
    /// SIGINT (2).
    public static let int = Signal(unchecked: 2)
    /// SIGQUIT (3).
    public static let quit = Signal(unchecked: 3)
    /// SIGILL (4).
    public static let ill = Signal(unchecked: 4)
    /// SIGTRAP (5).
    public static let trap = Signal(unchecked: 5)
    /// SIGABRT (6).
    public static let abrt = Signal(unchecked: 6)
    /// SIGBUS (7).
    public static let bus = Signal(unchecked: 7)
    /// SIGFPE (8).
    public static let fpe = Signal(unchecked: 8)
    /// SIGKILL (9).
    public static let kill = Signal(unchecked: 9)
    /// SIGUSR1 (10).
    public static let usr1 = Signal(unchecked: 10)
    /// SIGSEGV (11).
    public static let segv = Signal(unchecked: 11)
    /// SIGUSR2 (12).
    public static let usr2 = Signal(unchecked: 12)
    /// SIGPIPE (13).
    public static let pipe = Signal(unchecked: 13)
    /// SIGALRM (14).
    public static let alrm = Signal(unchecked: 14)
    /// SIGTERM (15).
    public static let term = Signal(unchecked: 15)
    /// SIGSTKFLT (16).
    public static let stkflt = Signal(unchecked: 16)
    /// SIGCHLD (17).
    public static let chld = Signal(unchecked: 17)
    /// SIGCONT (18).
    public static let cont = Signal(unchecked: 18)
    /// SIGSTOP (19).
    public static let stop = Signal(unchecked: 19)
    /// SIGTSTP (20).
    public static let tstp = Signal(unchecked: 20)
    /// SIGTTIN (21).
    public static let ttin = Signal(unchecked: 21)
    /// SIGTTOU (22).
    public static let ttou = Signal(unchecked: 22)
    /// SIGURG (23).
    public static let urg = Signal(unchecked: 23)
    /// SIGXCPU (24).
    public static let xcpu = Signal(unchecked: 24)
    /// SIGXFSZ (25).
    public static let xfsz = Signal(unchecked: 25)
    /// SIGVTALRM (26).
    public static let vtalrm = Signal(unchecked: 26)
    /// SIGPROF (27).
    public static let prof = Signal(unchecked: 27)
    /// SIGWINCH (28).
    public static let winch = Signal(unchecked: 28)
    /// SIGIO (29), also SIGPOLL.
    public static let io = Signal(unchecked: 29)
    /// SIGPWR (30).
    public static let pwr = Signal(unchecked: 30)
    /// SIGSYS (31).
    public static let sys = Signal(unchecked: 31)
    /// SIGRTMIN (34), the first real-time signal available to applications (glibc).
    public static let rtmin = Signal(unchecked: 34)
    /// SIGRTMAX (64).
    public static let rtmax = Signal(unchecked: 64)

    private static let namesByNumber: [Int32: String] = [
        1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE",
        9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM",
        16: "STKFLT", 17: "CHLD", 18: "CONT", 19: "STOP", 20: "TSTP", 21: "TTIN", 22: "TTOU",
        23: "URG", 24: "XCPU", 25: "XFSZ", 26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO",
        30: "PWR", 31: "SYS",
    ]

    private static let numbersByName: [String: Int32] = {
        var table: [String: Int32] = [:]
        for (number, name) in namesByNumber { table[name] = number }
        table["IOT"] = 6
        table["CLD"] = 17
        table["POLL"] = 29
        table["UNUSED"] = 31
        return table
    }()

    /// `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n`, within the real-time range.
    private static func parseRealtime(_ name: String) -> Int32? {
        let base: Int32
        let sign: Int32
        let rest: Substring
        if name.hasPrefix("RTMIN") {
            base = rtmin.rawValue
            sign = 1
            rest = name.dropFirst(5)
        } else if name.hasPrefix("RTMAX") {
            base = rtmax.rawValue
            sign = -1
            rest = name.dropFirst(5)
        } else {
            return nil
        }
        if rest.isEmpty { return base }
        guard let op = rest.first, op == (sign > 0 ? "+" : "-") else { return nil }
        let digits = rest.dropFirst()
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let offset = Int32(digits), offset <= rtmax.rawValue - rtmin.rawValue
        else { return nil }
        return base + sign * offset
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
