import Foundation
import Testing

@testable import OCISpec

@Suite("Image config to runtime spec")
struct ImageRuntimeSpecTests {
    static func image(_ config: ImageConfiguration.Config?) -> ImageConfiguration {
        ImageConfiguration(
            platform: Platform(os: "linux", architecture: "amd64"), config: config, rootfs: .init(diffIDs: []))
    }

    @Test("entrypoint + cmd, and overrides")
    func args() throws {
        let image = Self.image(.init(entrypoint: ["/entry", "-x"], cmd: ["serve", "--port", "80"]))
        #expect(try RuntimeSpec.forImage(image).process?.args == ["/entry", "-x", "serve", "--port", "80"])
        #expect(try RuntimeSpec.forImage(image, overrideArgs: ["shell"]).process?.args == ["/entry", "-x", "shell"])
        #expect(try RuntimeSpec.forImage(image, overrideArgs: []).process?.args == ["/entry", "-x"])
        #expect(try RuntimeSpec.forImage(image, overrideEntrypoint: ["/bin/sh"]).process?.args == ["/bin/sh"])
        #expect(
            try RuntimeSpec.forImage(image, overrideArgs: ["-c", "id"], overrideEntrypoint: ["/bin/sh"]).process?.args
                == ["/bin/sh", "-c", "id"])
        #expect(try RuntimeSpec.forImage(Self.image(.init(cmd: ["/bin/sh"]))).process?.args == ["/bin/sh"])
        let error = #expect(throws: OCISpecError.self) { try RuntimeSpec.forImage(Self.image(nil)) }
        #expect(error?.message.contains("no command specified") == true)
    }

    @Test("environment merge and default PATH")
    func env() throws {
        let image = Self.image(.init(env: ["PATH=/opt/bin:/bin", "A=1", "B=2"], cmd: ["x"]))
        let env = try RuntimeSpec.forImage(image, extraEnv: ["B=3", "C=4"]).process?.env
        #expect(env == ["PATH=/opt/bin:/bin", "A=1", "B=3", "C=4"])

        let noPath = Self.image(.init(env: ["A=1"], cmd: ["x"]))
        let base = RuntimeSpec(process: .init(env: ["TERM=xterm"]))
        #expect(try RuntimeSpec.forImage(noPath, base: base).process?.env == [RuntimeSpec.defaultPath, "TERM=xterm", "A=1"])
        #expect(try RuntimeSpec.forImage(noPath).process?.env == [RuntimeSpec.defaultPath, "A=1"])
    }

    @Test("working directory")
    func cwd() throws {
        #expect(try RuntimeSpec.forImage(Self.image(.init(cmd: ["x"]))).process?.cwd == "/")
        #expect(try RuntimeSpec.forImage(Self.image(.init(cmd: ["x"], workingDir: ""))).process?.cwd == "/")
        #expect(try RuntimeSpec.forImage(Self.image(.init(cmd: ["x"], workingDir: "/srv/app"))).process?.cwd == "/srv/app")
        #expect(try RuntimeSpec.forImage(Self.image(.init(cmd: ["x"], workingDir: "app"))).process?.cwd == "/app")
    }

    @Test(
        "user: numeric IDs go in directly, names stay unresolved",
        arguments: [
            ("", 0, 0, nil), ("0", 0, 0, nil), ("1000", 1000, 0, nil), ("1000:1001", 1000, 1001, nil),
            ("app", 0, 0, "app"), ("app:staff", 0, 0, "app:staff"), ("1000:staff", 1000, 0, "1000:staff"),
            ("app:50", 0, 50, "app:50"),
        ] as [(String, UInt32, UInt32, String?)])
    func user(_ value: String, _ uid: UInt32, _ gid: UInt32, _ username: String?) throws {
        let spec = try RuntimeSpec.forImage(Self.image(.init(user: value, cmd: ["x"])))
        #expect(spec.process?.user.uid == uid)
        #expect(spec.process?.user.gid == gid)
        #expect(spec.process?.user.username == username)
    }

    @Test("malformed user is an error", arguments: [":1000", "1000:", "a:b:c"])
    func badUser(_ value: String) {
        let error = #expect(throws: OCISpecError.self) { try RuntimeSpec.forImage(Self.image(.init(user: value, cmd: ["x"]))) }
        #expect(error?.message.contains("\"\(value)\"") == true)
    }

    @Test("stop signal and volumes become annotations; labels do not")
    func annotations() throws {
        let image = Self.image(
            .init(cmd: ["x"], volumes: ["/var/log", "/data"], labels: ["a": "b"], stopSignal: "SIGQUIT"))
        var base = RuntimeSpec.secureDefault(args: [])
        base.annotations = ["keep": "me"]
        let spec = try RuntimeSpec.forImage(image, base: base)
        #expect(spec.annotations == [
            "keep": "me", "org.opencontainers.image.stopSignal": "SIGQUIT", RuntimeSpec.imageVolumesAnnotation: "/data,/var/log",
        ])
        #expect(try RuntimeSpec.forImage(Self.image(.init(cmd: ["x"]))).annotations == nil)
    }

    @Test("the secure default base is kept and the result encodes")
    func keepsBase() throws {
        let image = try OCIJSON.decode(ImageConfiguration.self, from: Data(ImageSamples.ociConfig.utf8))
        let base = RuntimeSpec.secureDefault(args: [])
        let spec = try RuntimeSpec.forImage(image)
        #expect(spec.linux == base.linux)
        #expect(spec.mounts == base.mounts)
        #expect(spec.root == base.root)
        #expect(spec.process?.capabilities == base.process?.capabilities)
        #expect(spec.process?.noNewPrivileges == true)
        #expect(spec.process?.args == ["/bin/my-app-binary", "--foreground", "--config", "/etc/my-app.d/default.cfg"])
        #expect(spec.process?.cwd == "/home/alice")
        #expect(spec.process?.user.username == "alice")
        let json = try OCIJSON.encode(spec)
        #expect(try OCIJSON.decode(RuntimeSpec.self, from: json) == spec)
    }

    // MARK: ImageUser

    static let passwd = """
        root:x:0:0:root:/root:/bin/sh
        # comment
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        app:x:1000:1000:App:/home/app:/bin/sh
        broken line
        """
    static let group = """
        root:x:0:
        wheel:x:10:root,app
        staff:x:50:app
        app:x:1000:
        """

    @Test(
        "resolving against /etc/passwd and /etc/group",
        arguments: [
            ("", 0, 0, [10], "/root"), ("app", 1000, 1000, [10, 50], "/home/app"), ("1000", 1000, 1000, [10, 50], "/home/app"),
            ("app:staff", 1000, 50, [], "/home/app"), ("app:7", 1000, 7, [], "/home/app"), ("4242", 4242, 0, [], nil),
            ("4242:staff", 4242, 50, [], nil), ("daemon", 1, 1, [], "/usr/sbin"),
        ] as [(String, UInt32, UInt32, [UInt32], String?)])
    func resolve(_ value: String, _ uid: UInt32, _ gid: UInt32, _ groups: [UInt32], _ home: String?) throws {
        let resolved = try ImageUser(parsing: value).resolve(passwd: Self.passwd, group: Self.group)
        #expect(resolved.uid == uid)
        #expect(resolved.gid == gid)
        #expect(resolved.additionalGids == groups)
        #expect(resolved.home == home)
    }

    @Test("unknown names are errors")
    func unknownNames() {
        #expect(throws: OCISpecError.self) { try ImageUser(parsing: "nobody").resolve(passwd: Self.passwd, group: Self.group) }
        #expect(throws: OCISpecError.self) { try ImageUser(parsing: "app:nogroup").resolve(passwd: Self.passwd, group: Self.group) }
        #expect(throws: OCISpecError.self) { try ImageUser(parsing: "app").resolve(passwd: "", group: "") }
    }

    @Test("parsing")
    func parsing() throws {
        #expect(try ImageUser(parsing: "") == .root)
        #expect(try ImageUser(parsing: "1000:staff") == ImageUser(user: .numeric(1000), group: .name("staff")))
        #expect(try ImageUser(parsing: "1000:1000").isNumeric)
        #expect(try !ImageUser(parsing: "1000").isNumeric)
        #expect(try !ImageUser(parsing: "1000").hasNames)
        #expect(try ImageUser(parsing: "app:1").hasNames)
        #expect(try ImageUser(parsing: "app:1").description == "app:1")
    }
}
