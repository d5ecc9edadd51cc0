import Foundation
import OCISpec
import Testing

@Suite("Signal")
struct RuntimeSignalTests {
    @Test(
        "parses names, short names, any case, numbers and real-time offsets",
        arguments: [
            ("SIGTERM", 15), ("TERM", 15), ("term", 15), ("15", 15), ("SigTerm", 15), (" SIGKILL ", 9),
            ("SIGRTMIN+3", 37), ("RTMAX-1", 63), ("SIGRTMIN", 34), ("rtmax", 64), ("SIGRTMAX-30", 34),
            ("RTMIN+30", 64), ("SIGHUP", 1), ("SIGCHLD", 17), ("SIGCLD", 17), ("SIGIOT", 6), ("SIGPOLL", 29),
            ("SIGWINCH", 28), ("SIGSYS", 31), ("64", 64), ("1", 1), ("SIG9", 9),
        ] as [(String, Int32)]
    )
    func parses(text: String, number: Int32) {
        #expect(Signal(parsing: text)?.rawValue == number, "\(text)")
    }

    @Test(
        "rejects what is not a signal",
        arguments: [
            "", "SIG", "0", "65", "-15", "SIGFOO", "RTMIN-1", "RTMAX+1", "RTMIN+31", "RTMAX-31", "RTMIN+",
            "RTMIN+x", "SIGTERM2", "15.0", "TERM TERM", "SIGRTMIN+ 3",
        ]
    )
    func rejects(text: String) {
        #expect(Signal(parsing: text) == nil, "\(text)")
    }

    @Test("names are canonical and parse back to the same signal")
    func names() {
        #expect(Signal.term.name == "SIGTERM")
        #expect(Signal.kill.name == "SIGKILL")
        #expect(Signal.rtmin.name == "SIGRTMIN")
        #expect(Signal(rawValue: 37)?.name == "SIGRTMIN+3")
        #expect(Signal(rawValue: 63)?.name == "SIGRTMAX-1")
        #expect(Signal(rawValue: 49)?.name == "SIGRTMIN+15")
        #expect(Signal(rawValue: 50)?.name == "SIGRTMAX-14")
        #expect(Signal(rawValue: 0) == nil)
        #expect(Signal(rawValue: 65) == nil)
        for signal in Signal.allCases {
            #expect(Signal(parsing: signal.name) == signal, "\(signal.name)")
            #expect(Signal(parsing: String(signal.rawValue)) == signal)
        }
        #expect(Signal.allCases.count == 64)
        #expect(Signal.term.description == "SIGTERM")
    }

    @Test("Codable as its name; decodes any accepted form")
    func codable() throws {
        struct Holder: Codable, Equatable { var signal: Signal }
        let encoded = try OCIJSON.encode(Holder(signal: .term))
        #expect(String(decoding: encoded, as: UTF8.self) == #"{"signal":"SIGTERM"}"#)
        #expect(try OCIJSON.decode(Holder.self, from: Data(#"{"signal":"term"}"#.utf8)) == Holder(signal: .term))
        #expect(try OCIJSON.decode(Holder.self, from: Data(#"{"signal":"9"}"#.utf8)) == Holder(signal: .kill))
        #expect(try OCIJSON.decode(Holder.self, from: Data(#"{"signal":9}"#.utf8)) == Holder(signal: .kill))
        let rt = try #require(Signal(parsing: "RTMIN+3"))
        #expect(try OCIJSON.decode(Holder.self, from: OCIJSON.encode(Holder(signal: rt))) == Holder(signal: rt))
    }

    @Test("matches the host's numbering")
    func hostNumbering() {
        #expect(Signal.term.rawValue == SIGTERM)
        #expect(Signal.kill.rawValue == SIGKILL)
        #expect(Signal.usr1.rawValue == SIGUSR1)
        #expect(Signal.chld.rawValue == SIGCHLD)
        #expect(Signal.stop.rawValue == SIGSTOP)
        #expect(Signal.winch.rawValue == SIGWINCH)
    }
}
