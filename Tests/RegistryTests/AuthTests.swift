import Foundation
import ImageStore
import OCISpec
import Registry
import Testing
import TestSupport

@Suite("Authentication against a registry with htpasswd basic auth", .enabled(if: registryToolsAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/htpasswd")))
struct AuthTests {
    static let user = (username: "alice", password: "correct horse battery staple")

    @Test("explicit credentials push and pull; anonymous and wrong passwords are refused without leaking the secret")
    func explicitCredentials() async throws {
        try await withRegistryFixture(basicAuth: Self.user, credentials: { registry in
            CredentialStore(explicit: [registry.host: .basic(username: Self.user.username, password: Self.user.password)])
        }) { fixture in
            let target = try fixture.reference("private/busybox:1")
            try await fixture.client.push("busybox", from: fixture.source, to: target)
            let store = try fixture.newStore("authorized")
            let pulled = try await fixture.client.pull(target, into: store)
            #expect(pulled.image.manifest == fixture.busybox.manifest)

            try await RegistryClient.withClient { anonymous in
                let error = await registryError { _ = try await anonymous.resolve(target) }
                #expect(error?.code == .unauthorized)
                #expect(error?.message.contains(fixture.registry.host) == true)
            }
            let wrong = CredentialStore(explicit: [fixture.registry.host: .basic(username: "alice", password: "hunter2")])
            try await RegistryClient.withClient(credentials: wrong) { client in
                let error = await registryError { _ = try await client.resolve(target) }
                #expect(error?.code == .unauthorized)
                #expect(error.map { !"\($0)".contains("hunter2") } == true)
            }
        }
    }

    @Test("credentials from a docker config.json auths entry (base64 user:password)")
    func dockerConfigAuths() async throws {
        try await withRegistryFixture(basicAuth: Self.user) { fixture in
            let target = try fixture.reference("private/config:1")
            let auth = Data("\(Self.user.username):\(Self.user.password)".utf8).base64EncodedString()
            let path = "\(fixture.directory)/config.json"
            try Data(#"{"auths": {"http://\#(fixture.registry.host)/v1/": {"auth": "\#(auth)"}}}"#.utf8)
                .write(to: URL(fileURLWithPath: path))
            try await RegistryClient.withClient(credentials: CredentialStore(configFiles: [path])) { client in
                try await client.push("busybox", from: fixture.source, to: target)
                let store = try fixture.newStore("config")
                let pulled = try await client.pull(target, into: store)
                #expect(pulled.image.config == fixture.busybox.config)
            }
            // A malformed auth entry is a configuration error naming the file, not the content.
            try Data(#"{"auths": {"\#(fixture.registry.host)": {"auth": "%%%not-base64"}}}"#.utf8)
                .write(to: URL(fileURLWithPath: path))
            try await RegistryClient.withClient(credentials: CredentialStore(configFiles: [path])) { client in
                let error = await registryError { _ = try await client.resolve(target) }
                #expect(error?.code == .invalidConfiguration)
                #expect(error?.message.contains(path) == true)
                #expect(error?.message.contains("not-base64") == false)
            }
        }
    }

    @Test("credentials from a credential helper named in credHelpers")
    func credentialHelper() async throws {
        try await withRegistryFixture(basicAuth: Self.user) { fixture in
            let bin = "\(fixture.directory)/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            let helper = "\(bin)/docker-credential-caissontest"
            let asked = "\(fixture.directory)/asked"
            let script = """
                #!/bin/sh
                [ "$1" = get ] || exit 1
                read -r server
                printf '%s' "$server" > \(asked)
                if [ "$server" = "\(fixture.registry.host)" ]; then
                  printf '{"ServerURL":"%s","Username":"\(Self.user.username)","Secret":"\(Self.user.password)"}' "$server"
                else
                  echo "credentials not found in native keychain"; exit 1
                fi
                """
            try script.write(toFile: helper, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: helper)
            let config = "\(fixture.directory)/config.json"
            try Data(#"{"credHelpers": {"\#(fixture.registry.host)": "caissontest"}}"#.utf8).write(to: URL(fileURLWithPath: config))

            let credentials = CredentialStore(configFiles: [config], helperSearchPath: [bin])
            #expect(try await credentials.credential(for: fixture.registry.host) == .basic(username: Self.user.username, password: Self.user.password))
            #expect(try await credentials.credential(for: "elsewhere.example:5000") == nil)
            try await RegistryClient.withClient(credentials: credentials) { client in
                let target = try fixture.reference("private/helper:1")
                try await client.push("busybox", from: fixture.source, to: target)
                let store = try fixture.newStore("helper")
                try await client.pull(target, into: store)
                #expect(try store.image(named: target.description).manifest == fixture.busybox.manifest)
            }
            #expect(try String(contentsOfFile: asked, encoding: .utf8) == fixture.registry.host)
        }
    }
}
