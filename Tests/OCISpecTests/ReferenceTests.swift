import Foundation
import Testing

@testable import OCISpec

/// Cases ported from github.com/distribution/reference (reference_test.go, normalize_test.go).
@Suite("Reference")
struct ReferenceTests {
    static let ffff = String(repeating: "f", count: 64)
    static let hex64 = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"

    // MARK: reference_test.go TestReferenceParse (Parse, without Docker Hub normalisation)

    struct ParseCase: Sendable, CustomTestStringConvertible {
        var input: String
        var name: String = ""
        var domain: String = ""
        var tag: String?
        var digest: String?
        var error: OCISpecError.Code?
        var testDescription: String { input.count > 60 ? String(input.prefix(60)) + "…" : input }
    }

    static let parseCases: [ParseCase] = [
        .init(input: "test_com", name: "test_com"),
        .init(input: "test.com:tag", name: "test.com", tag: "tag"),
        .init(input: "test.com:5000", name: "test.com", tag: "5000"),
        .init(input: "test.com/repo:tag", name: "test.com/repo", domain: "test.com", tag: "tag"),
        .init(input: "test:5000/repo", name: "test:5000/repo", domain: "test:5000"),
        .init(input: "test:5000/repo:tag", name: "test:5000/repo", domain: "test:5000", tag: "tag"),
        .init(
            input: "test:5000/repo@sha256:\(ffff)", name: "test:5000/repo", domain: "test:5000",
            digest: "sha256:\(ffff)"),
        .init(
            input: "test:5000/repo:tag@sha256:\(ffff)", name: "test:5000/repo", domain: "test:5000", tag: "tag",
            digest: "sha256:\(ffff)"),
        .init(input: "", error: .invalidReference),
        .init(input: ":justtag", error: .invalidReference),
        .init(input: "@sha256:\(ffff)", error: .invalidReference),
        .init(input: "repo@sha256:ffffffffffffffffffffffffffffffffff", error: .invalidDigest),
        .init(input: "validname@invaliddigest:\(ffff)", error: .invalidDigest),
        .init(input: "Uppercase:tag", error: .invalidReference),
        .init(input: "test:5000/Uppercase/lowercase:tag", error: .invalidReference),
        .init(input: "lowercase:Uppercase", name: "lowercase", tag: "Uppercase"),
        // The 255 limit applies to the path alone (reference_test.go since v0.6).
        .init(input: "domain/" + String(repeating: "a", count: 256) + ":tag", error: .invalidReference),
        .init(
            input: "example.com/" + String(repeating: "a", count: 255) + ":tag",
            name: "example.com/" + String(repeating: "a", count: 255), domain: "example.com", tag: "tag"),
        .init(
            input: String(repeating: "a/", count: 127) + "a:tag-puts-this-over-max",
            name: String(repeating: "a/", count: 127) + "a", domain: "a", tag: "tag-puts-this-over-max"),
        .init(input: "aa/asdf$$^/aa", error: .invalidReference),
        .init(input: "sub-dom1.foo.com/bar/baz/quux", name: "sub-dom1.foo.com/bar/baz/quux", domain: "sub-dom1.foo.com"),
        .init(
            input: "sub-dom1.foo.com/bar/baz/quux:some-long-tag", name: "sub-dom1.foo.com/bar/baz/quux",
            domain: "sub-dom1.foo.com", tag: "some-long-tag"),
        .init(
            input: "b.gcr.io/test.example.com/my-app:test.example.com", name: "b.gcr.io/test.example.com/my-app",
            domain: "b.gcr.io", tag: "test.example.com"),
        .init(
            input: "xn--n3h.com/myimage:xn--n3h.com", name: "xn--n3h.com/myimage", domain: "xn--n3h.com",
            tag: "xn--n3h.com"),
        .init(
            input: "xn--7o8h.com/myimage:xn--7o8h.com@sha512:\(ffff)\(ffff)", name: "xn--7o8h.com/myimage",
            domain: "xn--7o8h.com", tag: "xn--7o8h.com", digest: "sha512:\(ffff)\(ffff)"),
        .init(input: "foo_bar.com:8080", name: "foo_bar.com", tag: "8080"),
        .init(input: "foo/foo_bar.com:8080", name: "foo/foo_bar.com", domain: "foo", tag: "8080"),
        .init(input: "192.168.1.1", name: "192.168.1.1"),
        .init(input: "192.168.1.1:tag", name: "192.168.1.1", tag: "tag"),
        .init(input: "192.168.1.1:5000", name: "192.168.1.1", tag: "5000"),
        .init(input: "192.168.1.1/repo", name: "192.168.1.1/repo", domain: "192.168.1.1"),
        .init(input: "192.168.1.1:5000/repo", name: "192.168.1.1:5000/repo", domain: "192.168.1.1:5000"),
        .init(input: "192.168.1.1:5000/repo:5050", name: "192.168.1.1:5000/repo", domain: "192.168.1.1:5000", tag: "5050"),
        .init(input: "[2001:db8::1]", error: .invalidReference),
        .init(input: "[2001:db8::1]:5000", error: .invalidReference),
        .init(input: "[2001:db8::1]:tag", error: .invalidReference),
        .init(input: "[2001:db8::1]/repo", name: "[2001:db8::1]/repo", domain: "[2001:db8::1]"),
        .init(
            input: "[2001:db8:1:2:3:4:5:6]/repo:tag", name: "[2001:db8:1:2:3:4:5:6]/repo",
            domain: "[2001:db8:1:2:3:4:5:6]", tag: "tag"),
        .init(input: "[2001:db8::1]:5000/repo", name: "[2001:db8::1]:5000/repo", domain: "[2001:db8::1]:5000"),
        .init(
            input: "[2001:db8::1]:5000/repo:tag", name: "[2001:db8::1]:5000/repo", domain: "[2001:db8::1]:5000",
            tag: "tag"),
        .init(
            input: "[2001:db8::1]:5000/repo@sha256:\(ffff)", name: "[2001:db8::1]:5000/repo",
            domain: "[2001:db8::1]:5000", digest: "sha256:\(ffff)"),
        .init(
            input: "[2001:db8::1]:5000/repo:tag@sha256:\(ffff)", name: "[2001:db8::1]:5000/repo",
            domain: "[2001:db8::1]:5000", tag: "tag", digest: "sha256:\(ffff)"),
        .init(input: "[2001:db8::]:5000/repo", name: "[2001:db8::]:5000/repo", domain: "[2001:db8::]:5000"),
        .init(input: "[::1]:5000/repo", name: "[::1]:5000/repo", domain: "[::1]:5000"),
        .init(input: "[fe80::1%eth0]:5000/repo", error: .invalidReference),
        .init(input: "[fe80::1%@invalidzone]:5000/repo", error: .invalidReference),
    ]

    @Test("Parse grammar (reference_test.go)", arguments: parseCases)
    func parse(_ c: ParseCase) throws {
        if let code = c.error {
            let error = #expect(throws: OCISpecError.self) { try Reference.parseCanonical(c.input, reportingAs: c.input) }
            #expect(error?.code == code, "\(error?.message ?? "")")
            #expect(error?.message.contains("\"\(c.input)\"") == true)
            return
        }
        let ref = try Reference.parseCanonical(c.input, reportingAs: c.input)
        #expect(ref.description == c.input)
        #expect(ref.name == c.name)
        #expect(ref.domain == c.domain)
        #expect(ref.tag == c.tag)
        #expect(ref.digest?.description == c.digest)
    }

    // MARK: normalize_test.go TestValidateReferenceName / TestValidateRemoteName

    static let validNames = [
        "docker/docker", "library/debian", "debian", "docker.io/docker/docker", "docker.io/library/debian",
        "docker.io/debian", "index.docker.io/docker/docker", "index.docker.io/library/debian",
        "index.docker.io/debian", "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/library/debian",
        "127.0.0.1:5000/debian", "192.168.0.1", "192.168.0.1:80", "192.168.0.1:8/debian", "192.168.0.2:25000/debian",
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "[fc00::1]:5000/docker",
        "[fc00::1]:5000/docker/docker", "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "docker.io/\(hex64)", "Docker/docker", "DOCKER/docker",
        // TestValidateRemoteName
        "docker-rules/docker", "docker---rules/docker", "doc/docker", "d/docker", "jess/t", "dock__er/docker",
    ]

    static let invalidNames = [
        "https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker",
        "-docker.io/docker/docker", "docker///docker", "docker.io/docker/Docker", "docker.io/docker///docker",
        "[fc00::1]", "[fc00::1]:5000", "fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian", hex64,
        // TestValidateRemoteName
        "docker-/docker", "-docker-/docker", "____/____", "_docker/_docker", "dock..er/docker", "dock_.er/docker",
        "dock-.er/docker", "docker/",
        String(repeating: "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_", count: 4)
            + "/docker",
        // other invalid forms
        "", "busybox:", "busybox@", "busybox:-tag", "busybox:" + String(repeating: "t", count: 129),
        "busybox@sha256:abc", "UPPER", "a b", "busybox:tag:tag",
    ]

    @Test("valid names (normalize_test.go)", arguments: validNames)
    func validName(_ input: String) throws {
        _ = try Reference(parsing: input)
    }

    @Test("invalid names (normalize_test.go)", arguments: invalidNames)
    func invalidName(_ input: String) {
        let error = #expect(throws: OCISpecError.self) { try Reference(parsing: input) }
        #expect(error?.code == .invalidReference || error?.code == .invalidDigest)
        #expect(error?.message.contains("\"\(input)\"") == true, "\(error?.message ?? "")")
    }

    @Test("clear messages for the common mistakes")
    func messages() {
        func message(_ input: String) -> String {
            do {
                _ = try Reference(parsing: input)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(message("docker/Docker").contains("repository name must be lowercase"))
        #expect(message("Uppercase:tag").contains("repository name must be lowercase"))
        #expect(message(Self.hex64).contains("64-byte hexadecimal"))
        #expect(message(String(repeating: "a/", count: 128) + "a").contains("must not be more than 255"))
        #expect(message("aa/asdf$$^/aa").contains("invalid reference format"))
    }

    // MARK: normalize_test.go TestParseRepositoryInfo

    struct RepositoryInfo: Sendable, CustomTestStringConvertible {
        var path: String
        var familiar: String
        var full: String
        var ambiguous: String?
        var domain: String
        var testDescription: String { full }
    }

    static let repositoryInfos: [RepositoryInfo] = [
        .init(path: "fooo/bar", familiar: "fooo/bar", full: "docker.io/fooo/bar", ambiguous: "index.docker.io/fooo/bar", domain: "docker.io"),
        .init(path: "library/ubuntu", familiar: "ubuntu", full: "docker.io/library/ubuntu", ambiguous: "library/ubuntu", domain: "docker.io"),
        .init(path: "nonlibrary/ubuntu", familiar: "nonlibrary/ubuntu", full: "docker.io/nonlibrary/ubuntu", domain: "docker.io"),
        .init(path: "other/library", familiar: "other/library", full: "docker.io/other/library", domain: "docker.io"),
        .init(path: "private/moonbase", familiar: "127.0.0.1:8000/private/moonbase", full: "127.0.0.1:8000/private/moonbase", domain: "127.0.0.1:8000"),
        .init(path: "privatebase", familiar: "127.0.0.1:8000/privatebase", full: "127.0.0.1:8000/privatebase", domain: "127.0.0.1:8000"),
        .init(path: "private/moonbase", familiar: "example.com/private/moonbase", full: "example.com/private/moonbase", domain: "example.com"),
        .init(path: "privatebase", familiar: "example.com/privatebase", full: "example.com/privatebase", domain: "example.com"),
        .init(path: "private/moonbase", familiar: "example.com:8000/private/moonbase", full: "example.com:8000/private/moonbase", domain: "example.com:8000"),
        .init(path: "privatebasee", familiar: "example.com:8000/privatebasee", full: "example.com:8000/privatebasee", domain: "example.com:8000"),
        .init(path: "library/ubuntu-12.04-base", familiar: "ubuntu-12.04-base", full: "docker.io/library/ubuntu-12.04-base", ambiguous: "index.docker.io/library/ubuntu-12.04-base", domain: "docker.io"),
        .init(path: "library/foo", familiar: "foo", full: "docker.io/library/foo", ambiguous: "docker.io/foo", domain: "docker.io"),
        .init(path: "library/foo/bar", familiar: "library/foo/bar", full: "docker.io/library/foo/bar", domain: "docker.io"),
        .init(path: "store/foo/bar", familiar: "store/foo/bar", full: "docker.io/store/foo/bar", domain: "docker.io"),
        .init(path: "bar", familiar: "Foo/bar", full: "Foo/bar", domain: "Foo"),
        .init(path: "bar", familiar: "FOO/bar", full: "FOO/bar", domain: "FOO"),
        .init(path: "repo", familiar: "localhost/repo", full: "localhost/repo", domain: "localhost"),
        .init(path: "repo", familiar: "localhost:5000/repo", full: "localhost:5000/repo", domain: "localhost:5000"),
        .init(path: "repo", familiar: "[::1]:5000/repo", full: "[::1]:5000/repo", domain: "[::1]:5000"),
    ]

    @Test("normalisation (TestParseRepositoryInfo)", arguments: repositoryInfos)
    func repositoryInfo(_ info: RepositoryInfo) throws {
        for input in [info.familiar, info.full] + (info.ambiguous.map { [$0] } ?? []) {
            let ref = try Reference(parsing: input)
            #expect(ref.familiarName == info.familiar, "\(input)")
            #expect(ref.familiarDescription == info.familiar, "\(input)")
            #expect(ref.name == info.full, "\(input)")
            #expect(ref.description == info.full, "\(input)")
            #expect(ref.domain == info.domain, "\(input)")
            #expect(ref.path == info.path, "\(input)")
            #expect(ref.tag == nil && ref.digest == nil)
        }
    }

    @Test(
        "domain and path (TestNormalizedSplitHostname)",
        arguments: [
            ("test.com/foo", "test.com", "foo"), ("test_com/foo", "docker.io", "test_com/foo"),
            ("docker/migrator", "docker.io", "docker/migrator"), ("test.com:8080/foo", "test.com:8080", "foo"),
            ("test-com:8080/foo", "test-com:8080", "foo"), ("foo", "docker.io", "library/foo"),
            ("xn--n3h.com/foo", "xn--n3h.com", "foo"), ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
            ("docker.io/foo", "docker.io", "library/foo"), ("docker.io/library/foo", "docker.io", "library/foo"),
            ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
        ])
    func splitHostname(_ input: String, _ domain: String, _ path: String) throws {
        let ref = try Reference(parsing: input)
        #expect(ref.domain == domain)
        #expect(ref.path == path)
    }

    @Test(
        "tags and digests (TestParseAnyReference, TestParseReferenceWithTagAndDigest)",
        arguments: [
            ("redis", "docker.io/library/redis", "redis"),
            ("redis:latest", "docker.io/library/redis:latest", "redis:latest"),
            ("docker.io/library/redis:latest", "docker.io/library/redis:latest", "redis:latest"),
            (
                "redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
                "docker.io/library/redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
                "redis@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
            ),
            ("dmcgowan/myapp", "docker.io/dmcgowan/myapp", "dmcgowan/myapp"),
            ("dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest", "dmcgowan/myapp:latest"),
            ("docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest", "mcgowan/myapp:latest"),
            (
                "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
                "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
                "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"
            ),
            ("dbcc1", "docker.io/library/dbcc1", "dbcc1"),
            (
                "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
                "docker.io/library/busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
                "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
            ),
            ("localhost:5000/a/b:1.0", "localhost:5000/a/b:1.0", "localhost:5000/a/b:1.0"),
            ("index.docker.io/busybox:1", "docker.io/library/busybox:1", "busybox:1"),
        ])
    func tagsAndDigests(_ input: String, _ full: String, _ familiar: String) throws {
        let ref = try Reference(parsing: input)
        #expect(ref.description == full)
        #expect(ref.familiarDescription == familiar)
        #expect(try Reference(parsing: full) == ref)
    }

    @Test("tag and digest together keep both")
    func tagAndDigest() throws {
        let ref = try Reference(parsing: "busybox:1.36@sha256:\(Self.ffff)")
        #expect(ref.tag == "1.36")
        #expect(ref.digest?.description == "sha256:\(Self.ffff)")
        #expect(ref.name == "docker.io/library/busybox")
    }

    @Test("withDefaultTag adds latest only to name-only references")
    func defaultTag() throws {
        #expect(try Reference(parsing: "busybox").withDefaultTag().description == "docker.io/library/busybox:latest")
        #expect(try Reference(parsing: "busybox").withDefaultTag().familiarDescription == "busybox:latest")
        #expect(try Reference(parsing: "busybox:1").withDefaultTag().tag == "1")
        let digested = try Reference(parsing: "busybox@sha256:\(Self.ffff)").withDefaultTag()
        #expect(digested.tag == nil)
        #expect(digested.digest != nil)
    }

    @Test("building and editing references")
    func building() throws {
        let ref = try Reference(domain: "ghcr.io", path: "org/app", tag: "v1")
        #expect(ref.description == "ghcr.io/org/app:v1")
        #expect(try ref.withTag("v2").description == "ghcr.io/org/app:v2")
        #expect(throws: OCISpecError.self) { try ref.withTag("-bad") }
        #expect(throws: OCISpecError.self) { try Reference(domain: "ghcr.io", path: "Org/app") }
        #expect(ref.repository.description == "ghcr.io/org/app")
        #expect(try Reference(parsing: "busybox").registryHost == "registry-1.docker.io")
        #expect(ref.registryHost == "ghcr.io")
    }

    @Test("codes as a string, normalising on decode")
    func codable() throws {
        struct Holder: Codable, Equatable { var ref: Reference }
        let decoded = try OCIJSON.decode(Holder.self, from: Data(#"{"ref":"busybox:1"}"#.utf8))
        #expect(decoded.ref.description == "docker.io/library/busybox:1")
        #expect(String(decoding: try OCIJSON.encode(decoded), as: UTF8.self) == #"{"ref":"docker.io/library/busybox:1"}"#)
        let error = #expect(throws: OCISpecError.self) {
            try OCIJSON.decode(Holder.self, from: Data(#"{"ref":"Bad/Name:x:y"}"#.utf8))
        }
        #expect(error?.message.hasPrefix("ref: invalid reference") == true, "\(error?.message ?? "")")
    }
}
