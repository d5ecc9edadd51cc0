import Foundation
import Testing
import TestSupport

/// Real clients of an OCI runtime driving the built `caisson`: podman and containerd
/// (Debian's), each through a script under scripts/integration/ that checks every step
/// and cleans up. The scripts run under `tini -s` so that conmon and the containerd shims
/// are reaped when they exit (this machine's PID 1 does not reap orphans).
@Suite("caisson under podman and containerd", .serialized,
       .enabled(if: geteuid() == 0, "runs containers: needs root"), .timeLimit(.minutes(5)))
struct EngineIntegrationTests {
    private static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// Runs an integration script; returns its exit status and output.
    private func script(_ name: String) throws -> (status: Int32, output: String) {
        let caisson = try CaissonCLI.locateBinary()
        return try runTool("/usr/bin/tini", ["-s", "--", "/bin/bash", Self.repository + "/scripts/integration/\(name)", caisson])
    }

    @Test("podman: run --rm, exit status, run -d + exec + stop + rm, --memory, -it, exec -it, as crun",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/podman"), "podman is installed by make deps"))
    func podman() throws {
        let result = try script("podman.sh")
        #expect(result.status == 0, "\(result.output)")
        for check in ["run --rm", "exit status", "run -d, exec, stop, rm, --memory", "run -it (console socket)", "exec -it",
                      "as crun, errors through --log-format=json", "nothing left"] {
            #expect(result.output.contains("PASS \(check)\n"), "missing PASS \(check): \(result.output)")
        }
    }

    @Test("containerd: ctr run --rm, exit status, run -d + task exec + pause/resume + kill + delete",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd"), "containerd is installed by make deps"))
    func containerd() throws {
        let result = try script("containerd.sh")
        #expect(result.status == 0, "\(result.output)")
        for check in ["ctr run --rm", "exit status", "run -d, task exec, pause, resume, kill, delete", "nothing left"] {
            #expect(result.output.contains("PASS \(check)\n"), "missing PASS \(check): \(result.output)")
        }
    }
}
