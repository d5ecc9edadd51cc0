import ArgumentParser
import CLICommon
import Caisson
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Image commands: `pull`, `push`, `images`, `rmi`, `tag`, `login`, `logout`, with the
// Docker/Podman command lines people know. Results go to stdout, progress to stderr (a
// redrawn bar on a terminal, one line per event otherwise), errors to stderr as one line.

// MARK: - Shared options

/// Where the image store is: `--store`, else `$CAISSON_ROOT`, else /var/lib/caisson for
/// root and ~/.local/share/caisson for anyone else (``Engine/defaultStoreRoot``).
struct ImageStoreOptions: ParsableArguments {
    @Option(name: .customLong("store"),
            help: "Image store directory (default: $CAISSON_ROOT, else /var/lib/caisson; not root: ~/.local/share/caisson).")
    var store: String?

    /// The store root this invocation uses.
    var storeRoot: String {
        if let store, !store.isEmpty { return store }
        if let root = ProcessInfo.processInfo.environment["CAISSON_ROOT"], !root.isEmpty { return root }
        return Engine.defaultStoreRoot
    }

    /// Opens (creating if needed) the store.
    func open() throws -> ImageStore { try ImageStore(root: storeRoot) }
}

/// How registries are reached and where credentials are: `--authfile` (else
/// `$REGISTRY_AUTH_FILE`, containers auth.json, Docker's config.json) and `--cert-dir`
/// (else /etc/containers/certs.d and /etc/docker/certs.d).
struct RegistryAccessOptions: ParsableArguments {
    @Option(name: .customLong("authfile"), help: "Credentials file (default: $REGISTRY_AUTH_FILE, else ~/.docker/config.json).")
    var authfile: String?

    @Option(name: .customLong("cert-dir"), help: "Directory of per-registry certificates (HOST/*.crt CAs, HOST/*.cert + *.key client certificates).")
    var certDir: String?

    /// The credential sources: only the auth file when given, as Podman does.
    var credentials: CredentialStore {
        if let authfile { return CredentialStore(configFiles: [authfile]) }
        return .fromEnvironment()
    }

    /// The client settings.
    var configuration: RegistryConfiguration {
        RegistryConfiguration(
            certificateDirectories: certDir.map { [$0] } ?? RegistryConfiguration.standardCertificateDirectories)
    }

    /// The credentials file `login` and `logout` write: `--authfile`, else
    /// `$REGISTRY_AUTH_FILE`, else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    var writableAuthFile: String {
        if let authfile { return authfile }
        let environment = ProcessInfo.processInfo.environment
        if let file = environment["REGISTRY_AUTH_FILE"], !file.isEmpty { return file }
        if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty { return "\(directory)/config.json" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return "\(home)/.docker/config.json"
    }
}

/// A failure of an image command, printed as one line.
struct ImageCommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Helpers of the image commands (a namespace, so they cannot clash with other commands' helpers).
enum ImageCLI {
    /// Parses an image reference, naming it when it is malformed.
    static func parseReference(_ text: String) throws -> Reference {
        do {
            return try Reference(parsing: text)
        } catch {
            throw ImageCommandError("invalid image reference \"\(text)\": \(error)")
        }
    }

    /// The store names an argument denotes: its exact name, else its normalised reference
    /// (`busybox` → `docker.io/library/busybox:latest`), else every name whose image ID
    /// (config digest) or manifest digest starts with it (at least 4 hex digits, an optional
    /// `sha256:` prefix).
    static func lookUpNames(_ argument: String, in store: ImageStore) throws -> [(name: String, descriptor: Descriptor)] {
        let entries = try store.images()
        if let exact = entries.first(where: { $0.name == argument }) { return [exact] }
        if let reference = try? Reference(parsing: argument) {
            let qualified = reference.withDefaultTag().description
            if let entry = entries.first(where: { $0.name == qualified }) { return [entry] }
        }
        var prefix = argument.lowercased()
        if prefix.hasPrefix("sha256:") { prefix.removeFirst("sha256:".count) }
        guard prefix.count >= 4, prefix.allSatisfy(\.isHexDigit) else { return [] }
        return entries.filter { entry in
            if entry.descriptor.digest.encoded.hasPrefix(prefix) { return true }
            guard let image = try? store.image(descriptor: entry.descriptor) else { return false }
            return image.manifest.config.digest.encoded.hasPrefix(prefix)
        }
    }

    /// The one image an argument denotes (the first of its names if it is an ID prefix).
    static func lookUpName(_ argument: String, in store: ImageStore) throws -> (name: String, descriptor: Descriptor) {
        let found = try ImageCLI.lookUpNames(argument, in: store)
        guard let first = found.first else {
            throw ImageCommandError("no image \"\(argument)\" in \(store.root)")
        }
        // Several names of one image (an ID prefix) denote that image.
        guard found.allSatisfy({ $0.descriptor.digest == first.descriptor.digest }) else {
            throw ImageCommandError(
                "\"\(argument)\" matches \(found.count) images in \(store.root): \(found.map(\.name).joined(separator: ", "))")
        }
        return first
    }

    /// Parses `os/arch[/variant]` as `docker --platform` takes it.
    static func parsePlatform(_ text: String) throws -> Platform {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw ImageCommandError("invalid platform \"\(text)\": expected os/arch[/variant]")
        }
        return Platform(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil).normalized
    }

    /// Writes to stderr.
    static func printError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `12.3 MiB`.
    static func formatBytes(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// The first 12 hex digits of a digest, as Docker shows image IDs.
    static func shortID(_ digest: Digest) -> String { String(digest.encoded.prefix(12)) }
}

// MARK: - pull

/// Renders pull progress on stderr: one redrawn bar on a terminal, plain lines otherwise.
final class PullProgressPrinter: Sendable {
    private struct State {
        var blobs = Set<Digest>()
        var finished = Set<Digest>()
        var lastDraw: ContinuousClock.Instant?
        var drewBar = false
    }

    private let label: String
    private let terminal: Bool
    private let state = Mutex(State())

    init(label: String, terminal: Bool) {
        self.label = label
        self.terminal = terminal
    }

    func report(_ progress: PullProgress) {
        state.withLock { state in
            if let digest = progress.descriptor?.digest {
                state.blobs.insert(digest)
                if progress.event == .committed || progress.event == .alreadyPresent { state.finished.insert(digest) }
            }
            if terminal {
                let now = ContinuousClock.now
                if progress.event == .downloading, let last = state.lastDraw, now - last < .milliseconds(100) { return }
                state.lastDraw = now
                state.drewBar = true
                ImageCLI.printError("\r\u{1B}[K" + bar(progress, blobs: state.blobs.count, finished: state.finished.count))
                return
            }
            let blob = progress.descriptor.map { "blob \(ImageCLI.shortID($0.digest))" } ?? ""
            switch progress.event {
            case .resolved:
                ImageCLI.printError("\(label): resolved, \(ImageCLI.formatBytes(progress.totalBytes)) in config and layers\n")
            case .started(let resumedAt):
                let size = ImageCLI.formatBytes(progress.descriptor?.size ?? 0)
                ImageCLI.printError(resumedAt > 0
                    ? "\(blob): resuming at \(ImageCLI.formatBytes(resumedAt)) of \(size)\n" : "\(blob): downloading \(size)\n")
            case .alreadyPresent:
                ImageCLI.printError("\(blob): already present\n")
            case .committed:
                ImageCLI.printError("\(blob): done\n")
            case .downloading:
                break
            }
        }
    }

    /// Ends the bar's line.
    func finish() {
        state.withLock { if $0.drewBar { ImageCLI.printError("\n") } }
    }

    private func bar(_ progress: PullProgress, blobs: Int, finished: Int) -> String {
        let width = 30
        let fraction = progress.totalBytes > 0 ? min(1, Double(progress.completedBytes) / Double(progress.totalBytes)) : 0
        let filled = Int(fraction * Double(width))
        let arrow = filled < width ? ">" + String(repeating: " ", count: width - filled - 1) : ""
        let percent = Int(fraction * 100)
        return "\(label) [\(String(repeating: "=", count: filled))\(arrow)] \(percent)% "
            + "\(ImageCLI.formatBytes(progress.completedBytes))/\(ImageCLI.formatBytes(progress.totalBytes)) (\(finished)/\(blobs) blobs)"
    }
}

/// `caisson pull IMAGE`: downloads an image into the store.
struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull", abstract: "Pull an image from a registry into the image store.")
    @OptionGroup var storeOptions: ImageStoreOptions
    @OptionGroup var access: RegistryAccessOptions
    @Option(help: "Platform to pull from a multi-platform image (os/arch[/variant]); the host's by default.")
    var platform: String?
    @Flag(name: [.short, .customLong("quiet")], help: "Print no progress.")
    var quiet = false
    @Flag(name: .customLong("no-unpack"), help: "Only download; do not unpack the layers into snapshots as they arrive.")
    var noUnpack = false
    @Argument(help: "The image reference (busybox, 127.0.0.1:5000/app:1.0, …@sha256:…).")
    var image: String

    func run() async throws {
        do {
            let reference = try ImageCLI.parseReference(image).withDefaultTag()
            // Layers unpack while later ones download, so `run` finds the snapshots ready.
            let unpack = noUnpack ? nil : UnpackOptions()
            let platform = try self.platform.map(ImageCLI.parsePlatform) ?? Platform.current
            let store = try storeOptions.open()
            let printer = PullProgressPrinter(label: reference.description, terminal: isatty(2) == 1)
            let quiet = self.quiet
            let pulled: PulledImage
            do {
                pulled = try await RegistryClient.withClient(configuration: access.configuration, credentials: access.credentials) {
                    client in
                    try await client.pull(reference, into: store, platform: platform, unpack: unpack) { progress in
                        if !quiet { printer.report(progress) }
                    }
                }
                printer.finish()
            } catch {
                printer.finish()
                throw error
            }
            let name = pulled.image.name ?? reference.description
            print("Digest: \(pulled.reference.digest?.description ?? pulled.image.descriptor.digest.description)")
            print(pulled.downloadedBytes > 0 || pulled.reusedBlobs == 0
                ? "Status: Downloaded newer image for \(name)" : "Status: Image is up to date for \(name)")
            print(name)
        } catch { fail(error) }
    }
}

// MARK: - push

/// `caisson push IMAGE [DESTINATION]`: uploads an image of the store.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Push an image of the image store to a registry.")
    @OptionGroup var storeOptions: ImageStoreOptions
    @OptionGroup var access: RegistryAccessOptions
    @Flag(name: [.short, .customLong("quiet")], help: "Print no per-blob lines.")
    var quiet = false
    @Argument(help: "The image in the store (name, reference or ID prefix).")
    var image: String
    @Argument(help: "Where to push it; the image's name by default.")
    var destination: String?

    func run() async throws {
        do {
            let store = try storeOptions.open()
            let source = try ImageCLI.lookUpName(image, in: store)
            let target = try ImageCLI.parseReference(destination ?? source.name).withDefaultTag()
            let pushed = try await RegistryClient.withClient(configuration: access.configuration, credentials: access.credentials) {
                client in
                try await client.push(source.name, from: store, to: target)
            }
            if !quiet {
                for (digest, outcome) in pushed.blobs.sorted(by: { $0.key.description < $1.key.description }) {
                    let what: String
                    switch outcome {
                    case .existed: what = "already exists"
                    case .mounted: what = "mounted"
                    case .uploaded, .uploadedInChunks: what = "pushed"
                    }
                    ImageCLI.printError("blob \(ImageCLI.shortID(digest)): \(what)\n")
                }
            }
            print("Digest: \(pushed.descriptor.digest)")
            print(target.description)
        } catch { fail(error) }
    }
}

// MARK: - images

/// One row of `caisson images`.
struct ImageListRow: Encodable {
    var name: String
    var repository: String
    var tag: String
    /// The config digest (Docker's image ID).
    var id: String?
    /// The digest of the manifest or index the name points to.
    var digest: String
    var created: String?
    /// Compressed bytes of config and layers for the host platform.
    var size: Int64?
}

/// `caisson images`: lists the named images of the store.
struct ImagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "images", abstract: "List the images of the image store.")
    @OptionGroup var storeOptions: ImageStoreOptions
    @Option(help: "Output format: table or json.")
    var format: String = "table"
    @Flag(name: [.short, .customLong("quiet")], help: "Only show image IDs.")
    var quiet = false
    @Flag(name: .customLong("no-trunc"), help: "Show full image IDs.")
    var noTrunc = false

    func run() throws {
        do {
            guard format == "table" || format == "json" else {
                throw ImageCommandError("unknown --format \"\(format)\" (table or json)")
            }
            let store = try storeOptions.open()
            let rows = try store.images().map { entry -> ImageListRow in
                let image = try? store.image(descriptor: entry.descriptor)
                var repository = entry.name
                var tag = "<none>"
                if let reference = try? Reference(parsing: entry.name), reference.tag != nil || reference.digest != nil {
                    repository = reference.familiarName
                    tag = reference.tag ?? "<none>"
                }
                return ImageListRow(
                    name: entry.name, repository: repository, tag: tag, id: image?.manifest.config.digest.description,
                    digest: entry.descriptor.digest.description, created: image?.config.created,
                    size: image.map { $0.manifest.layers.reduce($0.manifest.config.size) { $0 + $1.size } })
            }
            if quiet {
                var seen = Set<String>()
                for row in rows {
                    let id = row.id.map { noTrunc ? $0 : String($0.dropFirst("sha256:".count).prefix(12)) } ?? "<unknown>"
                    if seen.insert(id).inserted { print(id) }
                }
                return
            }
            if format == "json" {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
                return
            }
            var table = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]]
            for row in rows {
                let id = row.id.map { noTrunc ? $0 : String($0.dropFirst("sha256:".count).prefix(12)) } ?? "<unknown>"
                table.append([row.repository, row.tag, id, Self.age(row.created), row.size.map(ImageCLI.formatBytes) ?? "N/A"])
            }
            let widths = (0..<5).map { column in table.map { $0[column].count }.max() ?? 0 }
            for line in table {
                print(line.enumerated().map { column, cell in
                    column == 4 ? cell : cell.padding(toLength: widths[column] + 3, withPad: " ", startingAt: 0)
                }.joined())
            }
        } catch { fail(error) }
    }

    /// `3 hours ago`, from an RFC 3339 time; `N/A` if absent or unparsable.
    static func age(_ created: String?) -> String {
        guard let created else { return "N/A" }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = parser.date(from: created) ?? ISO8601DateFormatter().date(from: created) else { return "N/A" }
        let seconds = Int(Date().timeIntervalSince(date))
        if seconds < 60 { return "Less than a minute ago" }
        for (unit, length) in [("year", 31_536_000), ("month", 2_592_000), ("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)]
        where seconds >= length {
            let count = seconds / length
            return "\(count) \(unit)\(count == 1 ? "" : "s") ago"
        }
        return "N/A"
    }
}

// MARK: - rmi

/// `caisson rmi IMAGE…`: removes names from the store and collects what no name,
/// container or other image still uses.
struct RmiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rmi", abstract: "Remove images from the image store.")
    @OptionGroup var storeOptions: ImageStoreOptions
    @Flag(name: [.short, .customLong("force")], help: "Remove every name of an image given by ID.")
    var force = false
    @Flag(name: .customLong("no-prune"), help: "Keep the blobs and snapshots no image uses any more.")
    var noPrune = false
    @Argument(help: "Images to remove (names, references or ID prefixes).")
    var images: [String]

    func run() async throws {
        do {
            guard !images.isEmpty else { throw ImageCommandError("rmi: no image given") }
            let store = try storeOptions.open()
            var failures: [String] = []
            for argument in images {
                do {
                    let names = try ImageCLI.lookUpNames(argument, in: store)
                    guard !names.isEmpty else { throw ImageCommandError("no image \"\(argument)\" in \(store.root)") }
                    guard names.count == 1 || force else {
                        throw ImageCommandError(
                            "\"\(argument)\" is the image of \(names.count) names (\(names.map(\.name).joined(separator: ", "))); use --force to remove them all")
                    }
                    for entry in names {
                        try store.untag(entry.name)
                        print("Untagged: \(entry.name)")
                    }
                } catch {
                    failures.append("\(error)")
                }
            }
            if !noPrune {
                let report = try await store.collectGarbage()
                if !report.blobs.isEmpty || !report.snapshots.isEmpty {
                    print("Deleted: \(report.blobs.count) blobs, \(report.snapshots.count) snapshots (\(ImageCLI.formatBytes(report.bytes)))")
                }
            }
            if !failures.isEmpty { throw ImageCommandError(failures.joined(separator: "; ")) }
        } catch { fail(error) }
    }
}

// MARK: - tag

/// `caisson tag SOURCE TARGET`: gives an image of the store another name.
struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give an image of the image store another name.")
    @OptionGroup var storeOptions: ImageStoreOptions
    @Argument(help: "The image (name, reference or ID prefix).")
    var source: String
    @Argument(help: "The new name, an image reference (127.0.0.1:5000/app:2).")
    var target: String

    func run() throws {
        do {
            let store = try storeOptions.open()
            let entry = try ImageCLI.lookUpName(source, in: store)
            let name = try ImageCLI.parseReference(target).withDefaultTag().description
            var descriptor = entry.descriptor
            descriptor.annotations?[ImageAnnotations.refName] = nil
            try store.tag(name, descriptor)
        } catch { fail(error) }
    }
}

// MARK: - login / logout

/// A registry argument of `login`/`logout`: the host to contact and the key of its
/// credentials-file entry (`https://index.docker.io/v1/` for Docker Hub, as Docker writes).
struct RegistryServer {
    let host: String
    let key: String

    init(_ argument: String) throws {
        var text = Substring(argument.trimmingCharacters(in: .whitespaces))
        for scheme in ["https://", "http://"] where text.lowercased().hasPrefix(scheme) { text = text.dropFirst(scheme.count) }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        let name = text.lowercased()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || ".-:[]_".contains($0) }) else {
            throw ImageCommandError("invalid registry \"\(argument)\": expected host[:port]")
        }
        switch name {
        case "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
            host = "registry-1.docker.io"
            key = "https://index.docker.io/v1/"
        default:
            host = String(text)
            key = String(text)
        }
    }

    /// Whether a credentials-file key names this registry (with or without scheme/path).
    func matches(_ existing: String) throws -> Bool {
        guard let other = try? RegistryServer(existing) else { return false }
        return other.host.lowercased() == host.lowercased()
    }
}

/// Reads and writes the credentials file, keeping every part of it this command does
/// not change (other registries, credHelpers, unrelated settings).
struct AuthFile {
    let path: String

    func read() throws -> [String: Any] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ImageCommandError("cannot read credentials file \(path): \(error.localizedDescription)")
        }
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [:] }
        // The parser's error is not quoted: it may echo file content (secrets).
        guard let object = try? JSONSerialization.jsonObject(with: data), let dictionary = object as? [String: Any] else {
            throw ImageCommandError("credentials file \(path) is not a JSON object")
        }
        return dictionary
    }

    /// Writes atomically, readable by the owner only (it holds secrets).
    func write(_ contents: [String: Any]) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            let data = try JSONSerialization.data(withJSONObject: contents, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            let temporary = "\(path).tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: temporary, contents: data + Data("\n".utf8), attributes: [.posixPermissions: 0o600])
            else { throw ImageCommandError("cannot write \(temporary)") }
            guard rename(temporary, path) == 0 else {
                let code = errno
                unlink(temporary)
                throw ImageCommandError("cannot replace \(path): \(String(cString: strerror(code)))")
            }
        } catch let error as ImageCommandError {
            throw error
        } catch {
            throw ImageCommandError("cannot write credentials file \(path): \(error.localizedDescription)")
        }
    }
}

extension ImageCLI {
    /// Reads one line from the terminal with echo off (for a password prompt).
    static func readSecretFromTerminal(prompt: String) -> String? {
        ImageCLI.printError(prompt)
        var original = termios()
        let isTerminal = tcgetattr(0, &original) == 0
        if isTerminal {
            var silent = original
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &silent)
        }
        defer {
            if isTerminal {
                tcsetattr(0, TCSAFLUSH, &original)
                ImageCLI.printError("\n")
            }
        }
        return readLine(strippingNewline: true)
    }
}

/// `caisson login REGISTRY`: checks credentials against a registry and stores them.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Log in to a registry: check the credentials and store them in the credentials file.")
    @OptionGroup var access: RegistryAccessOptions
    @Option(name: [.short, .customLong("username")], help: "User name.")
    var username: String?
    @Option(name: [.short, .customLong("password")], help: "Password (visible to other users of this machine; prefer --password-stdin).")
    var password: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.")
    var passwordStdin = false
    @Argument(help: "The registry (host[:port]; docker.io for Docker Hub).")
    var registry: String

    func run() async throws {
        do {
            let server = try RegistryServer(registry)
            let interactive = isatty(0) == 1
            guard !(passwordStdin && password != nil) else {
                throw ImageCommandError("login \(server.host): --password and --password-stdin are mutually exclusive")
            }
            var user = username
            if user == nil, interactive, !passwordStdin {
                ImageCLI.printError("Username: ")
                user = readLine(strippingNewline: true)
            }
            guard let user, !user.isEmpty else {
                throw ImageCommandError("login \(server.host): a user name is required (--username)")
            }
            var secret = password
            if passwordStdin {
                let data = FileHandle.standardInput.readDataToEndOfFile()
                var text = String(decoding: data, as: UTF8.self)
                while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
                secret = text
            } else if secret == nil, interactive {
                secret = ImageCLI.readSecretFromTerminal(prompt: "Password: ")
            }
            guard let secret, !secret.isEmpty else {
                throw ImageCommandError("login \(server.host): a password is required (--password-stdin or --password)")
            }
            let credentials = CredentialStore(explicit: [server.host: .basic(username: user, password: secret)])
            do {
                try await RegistryClient.withClient(configuration: access.configuration, credentials: credentials) { client in
                    try await client.checkCredentials(for: server.host)
                }
            } catch let error as RegistryError where error.code == .unauthorized || error.code == .denied {
                throw ImageCommandError("login to \(server.host) as \(user) failed: \(error.message)")
            }
            let file = AuthFile(path: access.writableAuthFile)
            var contents = try file.read()
            var auths = contents["auths"] as? [String: Any] ?? [:]
            for key in auths.keys where try server.matches(key) { auths[key] = nil }
            auths[server.key] = ["auth": Data("\(user):\(secret)".utf8).base64EncodedString()]
            contents["auths"] = auths
            try file.write(contents)
            print("Login Succeeded")
        } catch { fail(error) }
    }
}

/// `caisson logout REGISTRY`: removes stored credentials.
struct LogoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout", abstract: "Log out of a registry: remove its credentials from the credentials file.")
    @OptionGroup var access: RegistryAccessOptions
    @Flag(name: [.short, .customLong("all")], help: "Remove the credentials of every registry.")
    var all = false
    @Argument(help: "The registry (host[:port]; docker.io for Docker Hub).")
    var registry: String?

    func run() throws {
        do {
            let file = AuthFile(path: access.writableAuthFile)
            var contents = try file.read()
            var auths = contents["auths"] as? [String: Any] ?? [:]
            if all {
                guard registry == nil else { throw ImageCommandError("logout: --all takes no registry") }
                contents["auths"] = [String: Any]()
                try file.write(contents)
                print("Removed the credentials of every registry from \(file.path)")
                return
            }
            guard let registry else { throw ImageCommandError("logout: name a registry, or use --all") }
            let server = try RegistryServer(registry)
            let keys = try auths.keys.filter { try server.matches($0) }
            guard !keys.isEmpty else {
                throw ImageCommandError("not logged in to \(server.host) (no entry in \(file.path))")
            }
            for key in keys { auths[key] = nil }
            contents["auths"] = auths
            try file.write(contents)
            print("Removed login credentials for \(server.host)")
        } catch { fail(error) }
    }
}
