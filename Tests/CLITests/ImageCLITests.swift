import Foundation
import OCISpec
import Testing
import TestSupport

/// Whether the image CLI tests can run: a registry server, and umoci/skopeo to make and
/// upload the busybox image the CLI then pulls.
let imageToolsAvailable = LocalRegistry.isAvailable && BusyboxImageFixture.isAvailable

/// Builds the busybox fixture and uploads it with skopeo (an independent client) to
/// `registry/repository`.
func seed(_ registry: LocalRegistry, _ repository: String, in directory: String, credentials: String? = nil) throws {
    let fixture = try BusyboxImageFixture.build(in: "\(directory)/fixture-\(UUID().uuidString.prefix(8))")
    var arguments = ["copy", "--quiet", "--dest-tls-verify=false"]
    if let credentials { arguments += ["--dest-creds", credentials] }
    arguments += ["oci:\(fixture.skopeoLayout):\(BusyboxImageFixture.tag)", "docker://\(registry.host)/\(repository)"]
    let result = try runTool("/usr/bin/skopeo", arguments)
    guard result.status == 0 else { throw CLIError("skopeo \(arguments.joined(separator: " ")): \(result.output)") }
}

/// The manifest digest skopeo sees for an image in a registry.
private func remoteDigest(_ reference: String, credentials: String? = nil) throws -> String {
    var arguments = ["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]
    if let credentials { arguments += ["--creds", credentials] }
    let result = try runTool("/usr/bin/skopeo", arguments + ["docker://\(reference)"])
    guard result.status == 0 else { throw CLIError("skopeo inspect \(reference): \(result.output)") }
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
}


/// Runs the CLI with a chosen environment (the credentials-file variables), which
/// `CaissonCLI` cannot: it passes the test process's own.
private func runWithEnvironment(_ cli: CaissonCLI, _ arguments: [String], environment: [String: String]) throws -> CLIResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: cli.binary)
    process.arguments = arguments
    var base = ProcessInfo.processInfo.environment
    for name in ["REGISTRY_AUTH_FILE", "DOCKER_CONFIG", "XDG_RUNTIME_DIR", "HOME", "CAISSON_ROOT"] { base[name] = nil }
    process.environment = base.merging(environment) { _, new in new }
    let output = Pipe(), errors = Pipe()
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CLIResult(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
}

/// The rows of `caisson images --format json`.
private func imageRows(_ cli: CaissonCLI, store: String) async throws -> [[String: Any]] {
    let listed = try await cli.ok(["images", "--store", store, "--format", "json"])
    let object = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8))
    return try #require(object as? [[String: Any]], "images --format json: \(listed.stdout)")
}

@Suite("caisson CLI: image commands against a local registry", .serialized, .enabled(if: imageToolsAvailable))
struct ImageCLITests {
    @Test("pull, images (table, json, -q), tag, push to another repository, rmi; errors name the reference")
    func pullTagPushRemove() async throws {
        try await withCLI { cli in
            try await withLocalRegistry { registry in
                try seed(registry, "cli/busybox:1", in: cli.directory)
                let store = cli.directory + "/store"
                let auth = ["--authfile", cli.directory + "/no-auth.json"]
                let source = "\(registry.host)/cli/busybox:1"
                let upstream = try remoteDigest(source)

                let pulled = try await cli.ok(["pull", "--store", store] + auth + [source])
                let lines = pulled.stdout.split(separator: "\n").map(String.init)
                #expect(lines == ["Digest: \(upstream)", "Status: Downloaded newer image for \(source)", source], "\(pulled)")
                // Not a terminal: one plain line per event on stderr, no bar.
                #expect(pulled.stderr.contains("\(source): resolved"), "\(pulled)")
                #expect(pulled.stderr.contains(": done"), "\(pulled)")
                #expect(!pulled.stderr.contains("\r"), "\(pulled)")
                // Layers were unpacked while they downloaded: the snapshots are there.
                let snapshots = (try? FileManager.default.contentsOfDirectory(atPath: store + "/snapshots")) ?? []
                #expect(!snapshots.isEmpty, "no snapshot after pull: \(snapshots)")
                let downloadOnly = cli.directory + "/store-download-only"
                try await cli.ok(["pull", "--store", downloadOnly, "--quiet", "--no-unpack"] + auth + [source])
                #expect(((try? FileManager.default.contentsOfDirectory(atPath: downloadOnly + "/snapshots")) ?? []).isEmpty,
                        "pull --no-unpack unpacked")
                let again = try await cli.ok(["pull", "--store", store, "--quiet"] + auth + [source])
                #expect(again.stdout.contains("Status: Image is up to date for \(source)"), "\(again)")
                #expect(again.stderr.isEmpty, "\(again)")

                // The store is an OCI layout skopeo reads: same manifest as the registry's.
                let layout = try runTool("/usr/bin/skopeo", ["inspect", "--format", "{{.Digest}}", "oci:\(store):\(source)"])
                #expect(layout.output.trimmingCharacters(in: .whitespacesAndNewlines) == upstream, "\(layout.output)")

                let table = try await cli.ok(["images", "--store", store])
                let rows = table.stdout.split(separator: "\n").map(String.init)
                #expect(rows.count == 2, "\(table)")
                #expect(rows.first?.hasPrefix("REPOSITORY") == true && rows.first?.contains("IMAGE ID") == true, "\(table)")
                let fields = rows.last?.split(separator: " ", omittingEmptySubsequences: true).map(String.init) ?? []
                #expect(fields.first == "\(registry.host)/cli/busybox" && fields.dropFirst().first == "1", "\(table)")

                let json = try await imageRows(cli, store: store)
                #expect(json.count == 1)
                let id = try #require(json.first?["id"] as? String)
                #expect(id.hasPrefix("sha256:") && id.count == 71)
                #expect(json.first?["name"] as? String == source)
                #expect(json.first?["digest"] as? String == upstream)
                #expect((json.first?["size"] as? Int ?? 0) > 100_000)
                let quiet = try await cli.ok(["images", "--store", store, "-q"])
                #expect(quiet.stdout == String(id.dropFirst(7).prefix(12)) + "\n", "\(quiet)")

                // tag: a second name for the same image; `busybox`-style short names are qualified.
                let copy = "\(registry.host)/cli/copy:2"
                try await cli.ok(["tag", "--store", store, source, copy])
                try await cli.ok(["tag", "--store", store, String(id.dropFirst(7).prefix(8)), "local/name"])
                let tagged = try await imageRows(cli, store: store)
                #expect(Set(tagged.compactMap { $0["name"] as? String }) == [source, copy, "docker.io/local/name:latest"])
                #expect(Set(tagged.compactMap { $0["id"] as? String }) == [id])

                // push to another repository (its name) and to an explicit destination.
                let pushed = try await cli.ok(["push", "--store", store] + auth + [copy])
                #expect(pushed.stdout == "Digest: \(upstream)\n\(copy)\n", "\(pushed)")
                #expect(try remoteDigest(copy) == upstream)
                let elsewhere = "\(registry.host)/other/place:3"
                try await cli.ok(["push", "--store", store] + auth + ["local/name", elsewhere])
                #expect(try remoteDigest(elsewhere) == upstream)

                // rmi by ID refuses several names without --force; by name removes one name.
                let ambiguous = try await cli.run(["rmi", "--store", store, String(id.dropFirst(7).prefix(12))])
                #expect(ambiguous.status == 1 && ambiguous.stderr.contains("--force"), "\(ambiguous)")
                let removed = try await cli.ok(["rmi", "--store", store, copy])
                #expect(removed.stdout.contains("Untagged: \(copy)"), "\(removed)")
                #expect(!removed.stdout.contains("Deleted:"), "blobs still used by the other names: \(removed)")
                let all = try await cli.ok(["rmi", "--store", store, "--force", String(id.dropFirst(7).prefix(12))])
                #expect(all.stdout.contains("Untagged: \(source)") && all.stdout.contains("Deleted: "), "\(all)")
                #expect(try await imageRows(cli, store: store).isEmpty)
                let blobs = try FileManager.default.contentsOfDirectory(atPath: "\(store)/blobs/sha256")
                #expect(blobs.isEmpty, "blobs left after rmi: \(blobs)")

                // Errors name what is at fault.
                let absent = "\(registry.host)/cli/absent:1"
                let missing = try await cli.run(["pull", "--store", store] + auth + [absent])
                #expect(missing.status == 1 && missing.stderr.contains(absent) && missing.stderr.contains("404"), "\(missing)")
                let invalid = try await cli.run(["pull", "--store", store, "Not//A:Reference"])
                #expect(invalid.status == 1 && invalid.stderr.contains("Not//A:Reference"), "\(invalid)")
                let noImage = try await cli.run(["rmi", "--store", store, "nothere"])
                #expect(noImage.status == 1 && noImage.stderr.contains("\"nothere\""), "\(noImage)")
                let noSource = try await cli.run(["tag", "--store", store, "ghost", "x:1"])
                #expect(noSource.status == 1 && noSource.stderr.contains("\"ghost\""), "\(noSource)")
                let badFormat = try await cli.run(["images", "--store", store, "--format", "yaml"])
                #expect(badFormat.status == 1 && badFormat.stderr.contains("yaml"), "\(badFormat)")
            }
        }
    }

    @Test("login checks and stores credentials, pull/push use them, logout removes them; secrets never printed")
    func loginLogout() async throws {
        let user = (username: "alice", password: "s3cret-Pa55word")
        try await withCLI { cli in
            try await withLocalRegistry(basicAuth: user) { registry in
                try seed(registry, "private/busybox:1", in: cli.directory, credentials: "\(user.username):\(user.password)")
                let store = cli.directory + "/store"
                let authfile = cli.directory + "/auth/auth.json"
                let source = "\(registry.host)/private/busybox:1"
                var outputs: [CLIResult] = []

                let anonymous = try await cli.run(["pull", "--store", store, "--authfile", authfile, source])
                outputs.append(anonymous)
                #expect(anonymous.status == 1 && anonymous.stderr.contains(registry.host), "\(anonymous)")

                // A wrong password: refused, nothing written.
                let wrongPassword = cli.directory + "/wrong"
                try "hunter2-wrong\n".write(toFile: wrongPassword, atomically: true, encoding: .utf8)
                let refused = try await cli.spawn(
                    ["login", "--authfile", authfile, "-u", user.username, "--password-stdin", registry.host], stdin: wrongPassword
                ).wait()
                outputs.append(refused)
                #expect(refused.status == 1 && refused.stderr.contains(user.username) && refused.stderr.contains(registry.host), "\(refused)")
                #expect(!refused.stderr.contains("hunter2"), "\(refused)")
                #expect(!FileManager.default.fileExists(atPath: authfile))

                // The right password from stdin.
                let password = cli.directory + "/password"
                try "\(user.password)\n".write(toFile: password, atomically: true, encoding: .utf8)
                let login = try await cli.spawn(
                    ["login", "--authfile", authfile, "--username", user.username, "--password-stdin", "http://\(registry.host)/"],
                    stdin: password
                ).wait()
                outputs.append(login)
                #expect(login.status == 0 && login.stdout == "Login Succeeded\n", "\(login)")
                let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: authfile))) as? [String: Any]
                let auths = written?["auths"] as? [String: Any]
                let entry = auths?[registry.host] as? [String: Any]
                #expect(entry?["auth"] as? String == Data("\(user.username):\(user.password)".utf8).base64EncodedString())
                let mode = try FileManager.default.attributesOfItem(atPath: authfile)[.posixPermissions] as? Int
                #expect(mode == 0o600)

                // Logging in again (with -p) replaces the entry and keeps unrelated ones.
                var withOther = try #require(written)
                var otherAuths = auths ?? [:]
                otherAuths["other.example"] = ["auth": Data("bob:x".utf8).base64EncodedString()]
                withOther["auths"] = otherAuths
                withOther["credHelpers"] = ["unrelated.example": "none"]
                try JSONSerialization.data(withJSONObject: withOther).write(to: URL(fileURLWithPath: authfile))
                let again = try await cli.run(["login", "--authfile", authfile, "-u", user.username, "-p", user.password, registry.host])
                outputs.append(again)
                #expect(again.status == 0, "\(again)")

                let pulled = try await cli.run(["pull", "--store", store, "--authfile", authfile, source])
                outputs.append(pulled)
                #expect(pulled.status == 0, "\(pulled)")
                let target = "\(registry.host)/private/copy:1"
                let pushed = try await cli.run(["push", "--store", store, "--authfile", authfile, source, target])
                outputs.append(pushed)
                #expect(pushed.status == 0, "\(pushed)")
                #expect(try remoteDigest(target, credentials: "\(user.username):\(user.password)") == remoteDigest(source, credentials: "\(user.username):\(user.password)"))

                let logout = try await cli.run(["logout", "--authfile", authfile, registry.host])
                outputs.append(logout)
                #expect(logout.status == 0 && logout.stdout.contains(registry.host), "\(logout)")
                let after = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: authfile))) as? [String: Any]
                let remaining = after?["auths"] as? [String: Any]
                #expect(remaining?[registry.host] == nil)
                #expect(remaining?["other.example"] != nil)
                #expect((after?["credHelpers"] as? [String: String])?["unrelated.example"] == "none")

                let loggedOut = try await cli.run(["pull", "--store", cli.directory + "/store2", "--authfile", authfile, source])
                outputs.append(loggedOut)
                #expect(loggedOut.status == 1, "\(loggedOut)")
                let twice = try await cli.run(["logout", "--authfile", authfile, registry.host])
                outputs.append(twice)
                #expect(twice.status == 1 && twice.stderr.contains("not logged in to \(registry.host)"), "\(twice)")

                // Without --authfile: $REGISTRY_AUTH_FILE, else ~/.docker/config.json; the
                // store from $CAISSON_ROOT.
                let home = cli.directory + "/home"
                let envFile = cli.directory + "/env-auth.json"
                let environment = ["REGISTRY_AUTH_FILE": envFile, "HOME": home, "CAISSON_ROOT": cli.directory + "/env-store"]
                let envLogin = try runWithEnvironment(cli, ["login", "-u", user.username, "-p", user.password, registry.host], environment: environment)
                outputs.append(envLogin)
                #expect(envLogin.status == 0, "\(envLogin)")
                #expect(FileManager.default.fileExists(atPath: envFile))
                #expect(!FileManager.default.fileExists(atPath: home + "/.docker/config.json"))
                let envPull = try runWithEnvironment(cli, ["pull", "-q", source], environment: environment)
                outputs.append(envPull)
                #expect(envPull.status == 0, "\(envPull)")
                #expect(FileManager.default.fileExists(atPath: cli.directory + "/env-store/index.json"))
                let envLogout = try runWithEnvironment(cli, ["logout", registry.host], environment: environment)
                outputs.append(envLogout)
                #expect(envLogout.status == 0, "\(envLogout)")
                let homeLogin = try runWithEnvironment(
                    cli, ["login", "-u", user.username, "-p", user.password, registry.host], environment: ["HOME": home])
                outputs.append(homeLogin)
                #expect(homeLogin.status == 0, "\(homeLogin)")
                let docker = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: home + "/.docker/config.json"))) as? [String: Any]
                #expect((docker?["auths"] as? [String: Any])?[registry.host] != nil)

                for output in outputs {
                    #expect(!output.stdout.contains(user.password) && !output.stderr.contains(user.password), "secret printed: \(output)")
                }
            }
        }
    }
}
