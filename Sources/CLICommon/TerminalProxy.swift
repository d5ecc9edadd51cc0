import Dispatch
import Glibc
import Sandbox

/// runc's foreground `--tty`: the container process gets a pty, and the CLI relays it to
/// its own stdin and stdout — raw mode on a real terminal, window size copied at the
/// start — until the process's side of the pty closes.
package final class TerminalProxy: @unchecked Sendable {
    private let master: Int32
    private var saved: termios?
    private let output = DispatchSemaphore(value: 0)

    /// Starts relaying between this process's stdio and `terminal`.
    package init(_ terminal: Terminal) {
        master = terminal.fileDescriptor
        if isatty(0) != 0 {
            var size = winsize()
            if ioctl(0, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 {
                try? terminal.resize(rows: size.ws_row, columns: size.ws_col)
            }
            var mode = termios()
            if tcgetattr(0, &mode) == 0 {
                saved = mode
                cfmakeraw(&mode)
                tcsetattr(0, TCSANOW, &mode)
            }
        }
        let master = self.master
        let done = output
        // Two blocking relays, each on a thread of its own for as long as it reads.
        DispatchQueue.global().async {
            // Process → our stdout, until the pty's other side is gone (EIO).
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                var offset = 0
                while offset < n {
                    let w = buffer[offset..<n].withUnsafeBytes { write(1, $0.baseAddress!, $0.count) }
                    if w <= 0 { break }
                    offset += w
                }
            }
            done.signal()
        }
        DispatchQueue.global().async {
            // Our stdin → the process; ends with our stdin (the process may outlive it).
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                _ = buffer.withUnsafeBytes { write(master, $0.baseAddress!, n) }
            }
        }
    }

    /// Waits (briefly) for the last output of an exited process, then restores the terminal.
    package func finish() {
        _ = output.wait(timeout: .now() + .seconds(2))
        if var saved { tcsetattr(0, TCSANOW, &saved) }
    }
}
