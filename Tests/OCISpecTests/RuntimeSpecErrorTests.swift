import Foundation
import OCISpec
import Testing

@Suite("Runtime spec decoding errors name the field")
struct RuntimeSpecErrorTests {
    static let cases: [(json: String, message: String)] = [
        (
            #"{"ociVersion":"1.2.0","linux":{"resources":{"memory":{"limit":"x"}}}}"#,
            "linux.resources.memory.limit: expected integer"
        ),
        (
            #"{"ociVersion":"1.2.0","process":{"user":{"uid":0,"gid":0}}}"#,
            "process.cwd: required field is missing"
        ),
        (
            #"{"process":{"cwd":"/","user":{"uid":0,"gid":0}}}"#,
            "ociVersion: required field is missing"
        ),
        (
            #"{"ociVersion":"1.2.0","process":{"cwd":"/"}}"#,
            "process.user: required field is missing"
        ),
        (
            #"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":"root","gid":0}}}"#,
            "process.user.uid: expected integer"
        ),
        (
            #"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"args":["sh",1]}}"#,
            "process.args[1]: expected string"
        ),
        (
            #"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"terminal":"yes"}}"#,
            "process.terminal: expected boolean"
        ),
        (
            #"{"ociVersion":"1.2.0","mounts":[{"destination":"/proc"},{"type":"tmpfs"}]}"#,
            "mounts[1].destination: required field is missing"
        ),
        (
            #"{"ociVersion":"1.2.0","linux":{"namespaces":[{"type":"pid"},{"path":"/x"}]}}"#,
            "linux.namespaces[1].type: required field is missing"
        ),
        (
            #"{"ociVersion":"1.2.0","linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"]}]}}}"#,
            "linux.seccomp.syscalls[0].action: required field is missing"
        ),
        (
            #"{"ociVersion":"1.2.0","linux":{"seccomp":{"defaultAction":7}}}"#,
            "linux.seccomp.defaultAction: expected string"
        ),
        (
            #"{"ociVersion":"1.2.0","linux":{"resources":{"pids":{}}}}"#,
            "linux.resources.pids.limit: required field is missing"
        ),
        (
            #"{"ociVersion":"1.2.0","hooks":{"poststop":[{"path":"/bin/true","timeout":"5"}]}}"#,
            "hooks.poststop[0].timeout: expected integer"
        ),
        (
            #"{"ociVersion":"1.2.0","linux":{"timeOffsets":{"monotonic":{"secs":"x"}}}}"#,
            "linux.timeOffsets.monotonic.secs: expected integer"
        ),
        (
            #"{"ociVersion":"1.2.0","annotations":{"a":1}}"#,
            "annotations.a: expected string"
        ),
        (
            #"{"ociVersion":"1.2.0","linux":"x"}"#,
            "linux: expected object"
        ),
    ]

    @Test("wrong types and missing required fields", arguments: 0..<cases.count)
    func fieldPath(index: Int) throws {
        let (json, message) = Self.cases[index]
        let error = try #require(throws: OCISpecError.self) {
            try OCIJSON.decode(RuntimeSpec.self, from: Data(json.utf8))
        }
        #expect(error.code == .invalidDocument)
        #expect(error.message == message)
    }

    @Test("a signal that does not parse names its field")
    func badSignal() throws {
        struct Holder: Codable { var stopSignal: Signal }
        let error = try #require(throws: OCISpecError.self) {
            try OCIJSON.decode(Holder.self, from: Data(#"{"stopSignal":"SIGNOPE"}"#.utf8))
        }
        #expect(error.message == #"stopSignal: unknown signal "SIGNOPE""#)
        let number = try #require(throws: OCISpecError.self) {
            try OCIJSON.decode(Holder.self, from: Data(#"{"stopSignal":99}"#.utf8))
        }
        #expect(number.message == "stopSignal: unknown signal 99")
    }

    @Test("state.json and features.json errors name the field")
    func otherDocuments() throws {
        let state = try #require(throws: OCISpecError.self) {
            try OCIJSON.decode(ContainerState.self, from: Data(#"{"ociVersion":"1","id":"x","status":"running"}"#.utf8))
        }
        #expect(state.message == "bundle: required field is missing")
        let pid = try #require(throws: OCISpecError.self) {
            try OCIJSON.decode(
                ContainerState.self, from: Data(#"{"ociVersion":"1","id":"x","status":"running","bundle":"/","pid":"1"}"#.utf8))
        }
        #expect(pid.message == "pid: expected integer")
        let features = try #require(throws: OCISpecError.self) {
            try OCIJSON.decode(RuntimeFeatures.self, from: Data(#"{"linux":{"cgroup":{"v2":"yes"}}}"#.utf8))
        }
        #expect(features.message == "linux.cgroup.v2: expected boolean")
    }

    /// Foundation's JSONDecoder reports a number that does not fit its integer type
    /// (negative for unsigned, too large, fractional) without a coding path; OCIJSON finds
    /// the field itself.
    @Test(
        "numbers out of range for their field are rejected, naming the field",
        arguments: [
            (#"{"ociVersion":"1.2.0","linux":{"resources":{"cpu":{"shares":-1}}}}"#, "linux.resources.cpu.shares"),
            (#"{"ociVersion":"1.2.0","linux":{"uidMappings":[{"containerID":0,"hostID":4294967296,"size":1}]}}"#, "linux.uidMappings[0].hostID"),
            (#"{"ociVersion":"1.2.0","process":{"cwd":"/","user":{"uid":0,"gid":0},"oomScoreAdj":1.5}}"#, "process.oomScoreAdj"),
            (#"{"ociVersion":"1.2.0","linux":{"resources":{"blockIO":{"weight":65536}}}}"#, "linux.resources.blockIO.weight"),
        ]
    )
    func outOfRange(json: String, field: String) throws {
        let error = try #require(throws: OCISpecError.self) {
            try OCIJSON.decode(RuntimeSpec.self, from: Data(json.utf8))
        }
        #expect(error.code == .invalidDocument)
        #expect(error.message.hasPrefix(field + ": "), "\(error.message)")
        #expect(error.message.contains("out of range"))
    }

    @Test("not JSON at all")
    func notJSON() throws {
        let error = try #require(throws: OCISpecError.self) {
            try OCIJSON.decode(RuntimeSpec.self, from: Data("{\"ociVersion\":".utf8))
        }
        #expect(error.code == .invalidDocument)
    }
}
