import Glibc

/// Runs a program found on PATH with stdin from /dev/null and collects its standard output
/// (Foundation's Process is not in FoundationEssentials, which is all the runtime binary links).
package enum Subprocess {
    package struct LaunchError: Error, CustomStringConvertible {
        package let program: String
        package let errno: Int32
        package var description: String { "\(program): cannot run: \(String(cString: strerror(errno)))" }
    }

    /// - Returns: the exit status (128 + signal if killed) and everything written to stdout.
    package static func output(_ argv: [String]) throws -> (status: Int32, output: [UInt8]) {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw LaunchError(program: argv[0], errno: errno) }
        // Close-on-exec in this process (other threads may spawn); the child gets fd 1 by dup2.
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArgs { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ)
        close(pipeFDs[1])
        guard spawned == 0 else {
            close(pipeFDs[0])
            throw LaunchError(program: argv[0], errno: spawned)
        }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        close(pipeFDs[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), data)
    }
}

/// Reads a whole file named on the command line.
/// - Throws: an error that names the file and says why (`/x/process.json: No such file or directory`).
package func readCommandLineFile(_ path: String) throws -> [UInt8] {
    struct ReadError: Error, CustomStringConvertible {
        let description: String
    }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw ReadError(description: "\(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw ReadError(description: "\(path): \(String(cString: strerror(errno)))") }
        if n == 0 { return data }
        data += buffer[0..<n]
    }
}
