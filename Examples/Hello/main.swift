// Example: run `echo hello` in a busybox image, from Swift, as root.
//
//   swift run hello            (needs /bin/busybox from Debian's busybox-static)
//
// The image is built locally from a one-binary directory with the image store's
// build-from-directory API; the container runs in this process with the secure defaults
// (no network, Docker's capabilities and seccomp profile, no_new_privileges). The ten
// lines from `import Caisson` to `print` are the sample of README.md.
import Caisson
import Foundation
let work = "/tmp/caisson-hello-\(getpid())"  // rootfs: bin/busybox (busybox-static), bin/echo -> busybox
try FileManager.default.createDirectory(atPath: work + "/rootfs/bin", withIntermediateDirectories: true)
try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: work + "/rootfs/bin/busybox")
try FileManager.default.createSymbolicLink(atPath: work + "/rootfs/bin/echo", withDestinationPath: "busybox")
let engine = try Engine(storeRoot: work + "/store", stateRoot: work + "/state")
try await engine.store.build(from: work + "/rootfs", name: "busybox")
let output = try await engine.run("busybox", ["echo", "hello"])
print(output.standardOutputText, terminator: "")  // hello

try FileManager.default.removeItem(atPath: work)
