import _CSandbox
import Foundation
import OCISpec
import Sandbox
import TestSupport
import Testing

@Suite("Stdio: fds, stdin, terminal", .serialized, .timeLimit(.minutes(2)))
struct StdioTests {
    @Test("extra fds arrive as 3, 4, …; file descriptors as stdout")
    func extraFiles() async throws {
        try await withSandbox { env in
            var pair: [Int32] = [-1, -1]
            try #require(pipe(&pair) == 0)
            let outputPath = env.directory + "/out.txt"
            let file = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            try #require(file >= 0)
            let bundle = try env.bundle("fds", ["/bin/sh", "-c", "echo to-three >&3; echo to-file"])
            let container = try await env.runtime.create(
                id: "fds", bundle: bundle.path,
                options: .init(stdio: Stdio(input: .null, output: .fileDescriptor(file), error: .inherit, extraFiles: [pair[1]])))
            close(pair[1])
            close(file)
            try await container.start()
            #expect(try await container.wait() == .exited(0))
            try await container.delete()
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = read(pair[0], &buffer, buffer.count)
            close(pair[0])
            #expect(String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "to-three\n")
            #expect(try String(contentsOfFile: outputPath, encoding: .utf8) == "to-file\n")
        }
    }

    @Test("stdin through a pipe writer")
    func standardInput() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("cat", ["/bin/sh", "-c", "wc -c"])
            let container = try await env.runtime.create(id: "cat", bundle: bundle.path, options: .init(stdio: .allPipes))
            try await container.start()
            let stdin = try #require(container.io.standardInput)
            try stdin.write("twelve bytes")
            stdin.close()
            let out = try await container.io.standardOutput!.readAll()
            #expect(try await container.wait() == .exited(0))
            #expect(String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "12")
            try await container.delete()
        }
    }

    @Test("terminal: resize reaches the container; the master goes over a console socket")
    func terminal() async throws {
        try await withSandbox { env in
            let bundle = try env.bundle("tty", ["/bin/sh", "-c", "stty size; read line; stty size"]) { spec in
                spec.process?.terminal = true
                spec.process?.consoleSize = .init(height: 24, width: 80)
            }
            let container = try await env.runtime.create(id: "tty", bundle: bundle.path)
            let terminal = try #require(container.io.terminal)

            // runc's --console-socket protocol: a listener receives the master.
            let socketPath = env.directory + "/console.sock"
            let listener = try UnixListener(path: socketPath)
            defer { listener.close() }
            let receiving = Task.detached { try listener.acceptFD() }
            try terminal.send(toConsoleSocket: socketPath)
            let (received, name) = try await receiving.value
            #expect(name == "/dev/ptmx")
            // The received fd is the same pty master: write through it.
            try await container.start()
            fcntl(terminal.fileDescriptor, F_SETFL, O_NONBLOCK)
            var output: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            // Wait for the first size report before resizing.
            for _ in 0..<500 where !String(decoding: output, as: UTF8.self).contains("24 80") {
                let n = read(terminal.fileDescriptor, &buffer, buffer.count)
                if n > 0 { output += buffer[0..<n] } else { try await Task.sleep(for: .milliseconds(5)) }
            }
            try terminal.resize(rows: 40, columns: 120)
            let line = Array("go\n".utf8)
            #expect(write(received, line, line.count) == line.count)
            close(received)
            #expect(try await container.wait() == .exited(0))
            while true {
                let n = read(terminal.fileDescriptor, &buffer, buffer.count)
                if n <= 0 { break }
                output += buffer[0..<n]
            }
            let lines = String(decoding: output, as: UTF8.self).replacingOccurrences(of: "\r", with: "")
                .split(separator: "\n").map(String.init)
            #expect(lines == ["24 80", "go", "40 120"], "\(lines)")
            try await container.delete()
        }
    }
}
