import Foundation
import OCISpec
import TestSupport
import Testing

@Suite("Runtime spec round trips")
struct RuntimeSpecRoundTripTests {
    /// The documents real runtimes write, generated live (`make deps` installs them in CI).
    static let generators: [(tool: String, flags: [String])] = [
        ("runc", []), ("runc", ["--rootless"]), ("crun", []), ("crun", ["--rootless"]),
    ]

    @Test("decode → encode → decode is the identity on documents written by runc and crun",
          arguments: 0..<4)
    func liveToolOutput(index: Int) async throws {
        let (tool, flags) = Self.generators[index]
        let original = try await RuntimeFixtures.generatedSpec(tool, flags)
        let spec = try OCIJSON.decode(RuntimeSpec.self, from: original)
        let encoded = try OCIJSON.encode(spec)
        let again = try OCIJSON.decode(RuntimeSpec.self, from: encoded)
        #expect(again == spec, "\(tool) spec \(flags)")
        // Nothing the tool wrote was lost: same JSON object, key for key.
        #expect(try RuntimeFixtures.jsonObject(encoded) == RuntimeFixtures.jsonObject(original))
        // Our own encoding is deterministic.
        #expect(try OCIJSON.encode(again) == encoded)
        #expect(try OCIJSON.encode(again, pretty: true) == OCIJSON.encode(spec, pretty: true))
        #expect(spec.process?.args == ["sh"])
        #expect(spec.root?.path == "rootfs")
    }

    @Test("every field of the spec decodes under its spec key and re-encodes unchanged")
    func everyField() throws {
        let original = Data(RuntimeFixtures.everyField.utf8)
        let spec = try OCIJSON.decode(RuntimeSpec.self, from: original)
        let encoded = try OCIJSON.encode(spec)
        #expect(try RuntimeFixtures.jsonObject(encoded) == RuntimeFixtures.jsonObject(original))
        #expect(try OCIJSON.decode(RuntimeSpec.self, from: encoded) == spec)
        #expect(try OCIJSON.encode(OCIJSON.decode(RuntimeSpec.self, from: encoded)) == encoded)

        let process = try #require(spec.process)
        #expect(process.user.additionalGids == [5, 6, UInt32.max])
        #expect(process.rlimits?.first?.hard == UInt64.max)
        #expect(process.oomScoreAdj == -500)
        #expect(process.ioPriority?.class == .bestEffort)
        #expect(process.execCPUAffinity?.final == "1-3,7")
        #expect(process.consoleSize == .init(height: 25, width: 80))
        #expect(process.capabilities?.inheritable == [])

        let linux = try #require(spec.linux)
        #expect(linux.namespaces?.map(\.type) == [.pid, .network, .mount, .ipc, .uts, .user, .cgroup, .time])
        #expect(linux.namespaces?[1].path == "/var/run/netns/x")
        #expect(linux.timeOffsets?["monotonic"] == .init(secs: -86400, nanosecs: 500))
        #expect(linux.devices?[1] == .init(type: "p", path: "/dev/fifo"))
        #expect(linux.resources?.memory?.swap == -1)
        #expect(linux.resources?.cpu?.shares == 1024)
        #expect(linux.resources?.blockIO?.weightDevice?[1].weight == nil)
        #expect(linux.resources?.rdma?["mlx5_1"]?.hcaObjects == 10000)
        #expect(linux.seccomp?.defaultAction == .errno)
        #expect(linux.seccomp?.architectures?.last == "SCMP_ARCH_SOMETHING_NEW")
        #expect(linux.seccomp?.syscalls?[2].args?.first?.op == .maskedEqual)
        #expect(linux.seccomp?.syscalls?[2].args?.first?.valueTwo == 0)
        #expect(linux.seccomp?.syscalls?[3].action == .notify)
        #expect(linux.memoryPolicy?.mode == "MPOL_INTERLEAVE")
        #expect(linux.netDevices?["eth2"] == .init())
        #expect(linux.personality?.flags == [])
        #expect(spec.hooks?.poststop?.first?.timeout == 1)
        #expect(spec.mounts?[1].uidMappings?.first?.hostID == 100000)
    }

    @Test("absent optionals stay absent; defaults encode only what they set")
    func absentStaysAbsent() throws {
        let spec = try OCIJSON.decode(RuntimeSpec.self, from: Data(RuntimeFixtures.minimal.utf8))
        #expect(spec == RuntimeSpec(ociVersion: "1.2.0"))
        #expect(String(decoding: try OCIJSON.encode(spec), as: UTF8.self) == RuntimeFixtures.minimal)

        let withProcess = #"{"ociVersion":"1.0.0","process":{"cwd":"/","user":{"gid":0,"uid":0}}}"#
        let decoded = try OCIJSON.decode(RuntimeSpec.self, from: Data(withProcess.utf8))
        #expect(decoded.process?.terminal == nil)
        #expect(decoded.process?.args == nil)
        #expect(String(decoding: try OCIJSON.encode(decoded), as: UTF8.self) == withProcess)
    }

    @Test("null is read as absent, unknown keys and other platforms are ignored")
    func lenientInput() throws {
        let json = #"""
            {"ociVersion":"1.0.0","hostname":null,"windows":{"layerFolders":[]},"x-extra":1,
             "linux":{"namespaces":[{"type":"pid","path":null}],"seccomp":null}}
            """#
        let spec = try OCIJSON.decode(RuntimeSpec.self, from: Data(json.utf8))
        #expect(spec.hostname == nil)
        #expect(spec.linux?.namespaces == [.init(type: .pid)])
        #expect(spec.linux?.seccomp == nil)
    }

    @Test("state.json round trips, with typed and unknown statuses")
    func containerState() throws {
        let json = #"""
            {"ociVersion":"1.2.0","id":"box","status":"running","pid":4422,"bundle":"/containers/box",
             "annotations":{"a":"b"}}
            """#
        let state = try OCIJSON.decode(ContainerState.self, from: Data(json.utf8))
        #expect(state == ContainerState(
            ociVersion: "1.2.0", id: "box", status: .running, pid: 4422, bundle: "/containers/box",
            annotations: ["a": "b"]))
        let encoded = try OCIJSON.encode(state)
        #expect(try RuntimeFixtures.jsonObject(encoded) == RuntimeFixtures.jsonObject(Data(json.utf8)))

        let created = ContainerState(id: "x", status: .created, bundle: "/b")
        #expect(try OCIJSON.decode(ContainerState.self, from: OCIJSON.encode(created)) == created)
        let paused = try OCIJSON.decode(
            ContainerState.self, from: Data(#"{"ociVersion":"1.0.2","id":"x","status":"paused","bundle":"/b"}"#.utf8))
        #expect(paused.status == .paused)
        #expect(paused.pid == nil)
        for status in [ContainerState.Status.creating, .created, .running, .stopped] {
            #expect(try OCIJSON.decode(ContainerState.Status.self, from: OCIJSON.encode(status)) == status)
        }
    }

    @Test("features.json: runc's live output round trips and decodes typed")
    func runcFeatures() async throws {
        let data = try await withTemporaryDirectory(prefix: "caisson-rtfeatures") {
            try await RuntimeFixtures.run(["runc", "features"], in: $0)
        }
        let features = try OCIJSON.decode(RuntimeFeatures.self, from: data)
        let encoded = try OCIJSON.encode(features)
        #expect(try RuntimeFixtures.jsonObject(encoded) == RuntimeFixtures.jsonObject(data))
        #expect(try OCIJSON.decode(RuntimeFeatures.self, from: encoded) == features)
        #expect(features.hooks?.contains("createRuntime") == true)
        #expect(features.linux?.namespaces?.contains(.user) == true)
        #expect(features.linux?.seccomp?.actions?.contains(.notify) == true)
        #expect(features.linux?.seccomp?.operators?.contains(.maskedEqual) == true)
        #expect(features.linux?.seccomp?.archs?.contains(.x86_64) == true)
    }

    @Test("features.json: every field of features.md")
    func everyFeature() throws {
        let json = #"""
            {
              "ociVersionMin": "1.0.0", "ociVersionMax": "1.2.0",
              "hooks": ["prestart", "createRuntime"], "mountOptions": ["ro", "rbind", "idmap"],
              "linux": {
                "namespaces": ["cgroup", "time"], "capabilities": ["CAP_CHOWN"],
                "cgroup": {"v1": false, "v2": true, "systemd": true, "systemdUser": false, "rdma": true},
                "seccomp": {
                  "enabled": true, "actions": ["SCMP_ACT_LOG"], "operators": ["SCMP_CMP_NE"],
                  "archs": ["SCMP_ARCH_RISCV64"], "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC"],
                  "supportedFlags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]
                },
                "apparmor": {"enabled": true}, "selinux": {"enabled": false},
                "intelRdt": {"enabled": true, "schemata": true},
                "memoryPolicy": {"modes": ["MPOL_BIND"], "flags": ["MPOL_F_RELATIVE_NODES"]},
                "mountExtensions": {"idmap": {"enabled": true}},
                "netDevices": {"enabled": true}
              },
              "annotations": {"org.opencontainers.runc.version": "1.2.0"},
              "potentiallyUnsafeConfigAnnotations": ["bundle", "org.systemd.property."]
            }
            """#
        let features = try OCIJSON.decode(RuntimeFeatures.self, from: Data(json.utf8))
        let encoded = try OCIJSON.encode(features)
        #expect(try RuntimeFixtures.jsonObject(encoded) == RuntimeFixtures.jsonObject(Data(json.utf8)))
        #expect(features.linux?.mountExtensions?.idmap?.enabled == true)
        #expect(features.linux?.seccomp?.supportedFlags == [.specAllow])
        #expect(features.potentiallyUnsafeConfigAnnotations?.last == "org.systemd.property.")
    }
}
