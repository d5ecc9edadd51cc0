import Foundation

// Protocol: docker/docker-credential-helpers client/client.go (`get`: server URL on stdin,
// JSON {ServerURL, Username, Secret} on stdout; Username "<token>" means an identity token).
/// Runs `docker-credential-NAME get` for one registry host.
struct CredentialHelper: Sendable {
    /// The helper's name, the part after `docker-credential-`.
    let name: String
    /// Directories searched for the executable; `PATH` when nil.
    let searchPath: [String]?

    private struct Reply: Decodable {
        var Username: String?
        var Secret: String?
    }

    /// The executable's absolute path, or `nil` if it is not found.
    func executable() -> String? {
        let directories = searchPath
            ?? (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        for directory in directories where !directory.isEmpty {
            let candidate = "\(directory)/docker-credential-\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Asks the helper for a host's credential.
    /// - Returns: the credential, or `nil` if the helper has none for the host.
    /// - Throws: ``RegistryError`` `invalidConfiguration` if the helper is missing, fails
    ///   or answers something that is not its JSON format (the answer is not quoted).
    func get(host: String) async throws -> RegistryCredential? {
        let name = self.name
        guard let path = executable() else {
            throw RegistryError(.invalidConfiguration, "credential helper docker-credential-\(name) not found for \(host)")
        }
        let (status, output, errorOutput) = try await BlockingWork.run { () throws -> (Int32, Data, Data) in
            // stdin and stderr are files, not pipes: a helper that exits without reading
            // cannot raise SIGPIPE here, and a chatty stderr cannot fill a pipe and block.
            let scratch = FileManager.default.temporaryDirectory
                .appendingPathComponent("caisson-credential-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: false)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let inputURL = scratch.appendingPathComponent("stdin")
            let errorURL = scratch.appendingPathComponent("stderr")
            try Data(host.utf8).write(to: inputURL)
            _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
            let input = try FileHandle(forReadingFrom: inputURL)
            let errors = try FileHandle(forWritingTo: errorURL)
            defer {
                try? input.close()
                try? errors.close()
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = ["get"]
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let out = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let err = (try? Data(contentsOf: errorURL)) ?? Data()
            return (process.terminationStatus, out, err)
        }
        if status != 0 {
            let text = String(decoding: output + errorOutput, as: UTF8.self)
            if text.localizedCaseInsensitiveContains("credentials not found") { return nil }
            throw RegistryError(
                .invalidConfiguration, "credential helper docker-credential-\(name) failed for \(host) with status \(status)")
        }
        guard let reply = try? JSONDecoder().decode(Reply.self, from: output) else {
            throw RegistryError(
                .invalidConfiguration, "credential helper docker-credential-\(name) answered no JSON credential for \(host)")
        }
        guard let secret = reply.Secret, !secret.isEmpty else { return nil }
        if reply.Username == "<token>" { return .identityToken(secret) }
        return .basic(username: reply.Username ?? "", password: secret)
    }
}
