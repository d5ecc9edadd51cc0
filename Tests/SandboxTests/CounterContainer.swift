import Foundation
import OCISpec

// Shared by ResourceControlTests and CgroupV2Tests: a container whose progress the host can read.

/// A container counting as fast as it can into /out/n (a host directory).
func counter(_ env: SandboxTestEnvironment, id: String,
             configure: (inout RuntimeSpec) -> Void = { _ in }) throws -> (bundle: String, out: String) {
    let out = env.directory + "/out-" + id
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    let bundle = try env.bundle(id, ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /out/n; done"]) { spec in
        spec.mounts?.append(.init(destination: "/out", type: "bind", source: out, options: ["rbind", "rw"]))
        configure(&spec)
    }
    return (bundle.path, out + "/n")
}

/// The counter's value; the shell truncates before it writes, so an empty read is retried.
func counterValue(_ path: String) -> Int {
    for _ in 0..<1000 {
        let text = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if let number = Int(text) { return number }
        usleep(100)
    }
    return -1
}
