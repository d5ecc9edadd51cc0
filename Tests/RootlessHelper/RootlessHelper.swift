// A small executable the rootless tests run as an unprivileged user (through setpriv), so
// that the runtime and the image store run without root for real (not a product).
//
//   rootless-helper state-root
//   rootless-helper run STATE_ROOT ID BUNDLE [UPPER WORK LOWER...]
//   rootless-helper build-image STORE ROOTFS NAME
//   rootless-helper run-image STORE IMAGE KEY STATE_ROOT ID BUNDLE
//
// `run` creates, starts, waits for and deletes the container of BUNDLE (its stdout and
// stderr are the helper's), mounting an overlay rootfs in the container when UPPER, WORK
// and LOWER are given. `run-image` prepares IMAGE of the store as a userNamespaceOverlay,
// runs BUNDLE's spec on it and removes the prepared rootfs. Both exit with the container's
// status (128+N for signal N); a runtime error is printed as `rootless-helper: ERROR` and
// gives 125.

import Foundation
import ImageStore
import OCISpec
import Sandbox

#if canImport(Glibc)
import Glibc
#endif

@main
enum RootlessHelper {
    static func main() async {
        let arguments = CommandLine.arguments
        do {
            switch arguments.count > 1 ? arguments[1] : "" {
            case "state-root":
                print(Runtime.defaultStateRoot)
                exit(0)
            case "run" where arguments.count == 5 || arguments.count >= 8:
                var overlay: OverlayRootfs?
                if arguments.count >= 8 {
                    overlay = OverlayRootfs(lowerDirectories: Array(arguments[7...]), upperDirectory: arguments[5], workDirectory: arguments[6])
                }
                exit(try await run(stateRoot: arguments[2], id: arguments[3], bundle: arguments[4], overlay: overlay))
            case "build-image" where arguments.count == 5:
                let store = try ImageStore(root: arguments[2])
                _ = try await store.build(from: arguments[3], name: arguments[4])
                exit(0)
            case "run-image" where arguments.count == 8:
                let store = try ImageStore(root: arguments[2])
                let image = try store.image(named: arguments[3])
                let prepared = try await store.prepare(key: arguments[4], image: image, mode: .userNamespaceOverlay)
                let status: Int32
                do {
                    status = try await run(
                        stateRoot: arguments[5], id: arguments[6], bundle: arguments[7], rootfs: prepared.path,
                        overlay: OverlayRootfs(lowerDirectories: prepared.lowerDirectories, upperDirectory: prepared.upperDirectory,
                                               workDirectory: prepared.workDirectory))
                } catch {
                    try? store.remove(key: arguments[4])
                    throw error
                }
                try store.remove(key: arguments[4])
                exit(status)
            default:
                FileHandle.standardError.write(Data("usage: rootless-helper state-root | run STATE_ROOT ID BUNDLE [UPPER WORK LOWER...] | build-image STORE ROOTFS NAME | run-image STORE IMAGE KEY STATE_ROOT ID BUNDLE\n".utf8))
                exit(2)
            }
        } catch {
            FileHandle.standardError.write(Data("rootless-helper: \(error)\n".utf8))
            exit(125)
        }
    }

    /// Runs the bundle's container to its end and deletes it.
    static func run(stateRoot: String, id: String, bundle: String, rootfs: String? = nil, overlay: OverlayRootfs?) async throws -> Int32 {
        let runtime = Runtime(stateRoot: stateRoot)
        let config = try Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json"))
        var spec = try OCIJSON.decode(RuntimeSpec.self, from: config)
        if let rootfs { spec.root?.path = rootfs }
        let status = try await runtime.withContainer(
            id: id, spec: spec, bundle: bundle, options: .init(stdio: .inherit, rootfsOverlay: overlay)
        ) { container in
            try await container.start()
            return try await container.wait()
        }
        switch status {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal.rawValue
        default: return 126
        }
    }
}
