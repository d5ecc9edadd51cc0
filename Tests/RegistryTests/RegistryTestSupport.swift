import Foundation
import ImageStore
import OCISpec
import Registry
import Testing
import TestSupport

/// One registry test's world: a registry server on loopback, a client, a source store
/// holding a busybox image named `busybox`, and a temporary directory for more stores.
struct RegistryFixture {
    let registry: LocalRegistry
    let client: RegistryClient
    let directory: String
    let source: ImageStore
    let busybox: StoredImage
    /// The token server the registry delegates to, in token-auth fixtures.
    let tokenServer: LocalTokenServer?

    /// `127.0.0.1:PORT/<repository>[:tag]`.
    func reference(_ repositoryAndTag: String) throws -> Reference {
        try Reference(parsing: "\(registry.host)/\(repositoryAndTag)")
    }

    /// A new empty store under the fixture's directory.
    func newStore(_ name: String) throws -> ImageStore {
        try ImageStore(root: "\(directory)/\(name)")
    }
}

/// Starts a registry (with basic auth, or token auth backed by a ``LocalTokenServer``
/// granting push to `tokenUser`, if asked), builds busybox into a source store and
/// runs `body`; the server is stopped and every directory removed afterwards, even on failure.
/// With `tls`, the registry serves HTTPS with those files; the fixture's client then
/// cannot reach it (loopback is plain HTTP unless configured): tests make their own.
func withRegistryFixture(
    basicAuth: (username: String, password: String)? = nil,
    tokenUser: (username: String, password: String)? = nil,
    tokenLifetime: Int = 300,
    tls: (certificate: String, key: String)? = nil,
    configuration: RegistryConfiguration = RegistryConfiguration(retry: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(50))),
    credentials: (LocalRegistry) throws -> CredentialStore = { _ in .anonymous },
    _ body: (RegistryFixture) async throws -> Void
) async throws {
    try await withTemporaryDirectory(prefix: "caisson-registry-test") { directory in
        let tokenServer = try tokenUser.map { try LocalTokenServer(directory: directory, user: $0, tokenLifetime: tokenLifetime) }
        defer { tokenServer?.stop() }
        try await withLocalRegistry(basicAuth: basicAuth, tokenServer: tokenServer, tls: tls) { registry in
            let source = try ImageStore(root: "\(directory)/source")
            let rootfs = try BusyboxImage.make(in: "\(directory)/bb-rootfs")
            let busybox = try await source.build(from: rootfs.rootfs, name: "busybox", config: BusyboxImage.config)
            let store = try credentials(registry)
            try await RegistryClient.withClient(configuration: configuration, credentials: store) { client in
                try await body(RegistryFixture(
                    registry: registry, client: client, directory: directory, source: source, busybox: busybox,
                    tokenServer: tokenServer))
            }
        }
    }
}

/// Runs `body` and returns the ``RegistryError`` it throws; records an issue if it
/// throws nothing or something else.
func registryError(_ body: () async throws -> Void) async -> RegistryError? {
    do {
        try await body()
        Issue.record("expected a RegistryError, nothing was thrown")
        return nil
    } catch let error as RegistryError {
        return error
    } catch {
        Issue.record("expected a RegistryError, got \(type(of: error)): \(error)")
        return nil
    }
}

/// Whether the test machine has what the registry tests need.
let registryToolsAvailable = LocalRegistry.isAvailable && BusyboxImage.isAvailable

/// Runs a command and returns its status and standard output.
func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
