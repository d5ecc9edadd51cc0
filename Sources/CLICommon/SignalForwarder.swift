import Dispatch
import Glibc
import OCISpec

/// Passes the signals a foreground `exec` receives on to its process, as runc's signal
/// proxy does (SIGCHLD, SIGPIPE and the stop signals stay with us).
package final class SignalForwarder {
    private let sources: [any DispatchSourceSignal]
    private static let forwarded: [Int32] = [
        SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT,
    ]

    package init(_ deliver: @escaping @Sendable (Signal) -> Void) {
        let queue = DispatchQueue(label: "caisson.exec.signals")
        sources = Self.forwarded.compactMap { number in
            guard let value = Signal(rawValue: number) else { return nil }
            signal(number, SIG_IGN)  // the dispatch source sees it; the default action does not run
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { deliver(value) }
            source.resume()
            return source
        }
    }

    package func stop() {
        for source in sources { source.cancel() }
    }
}
