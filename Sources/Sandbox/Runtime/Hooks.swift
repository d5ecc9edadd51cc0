import _CSandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import OCISpec
import SystemPackage

/// OCI lifecycle hooks (runtime-spec config.md#posix-platform-hooks, runtime.md#lifecycle).
///
/// Where each kind runs:
/// - `prestart` (deprecated) and `createRuntime`: by the runtime, in its own namespaces,
///   once the container's namespaces and mounts exist and before pivot_root (the child
///   pauses on a HOOKS message for them);
/// - `createContainer`: by the container's setup process, in the container's namespaces,
///   before pivot_root (the C core runs it: no exec of the runtime, no Swift);
/// - `startContainer`: by the container's process after `start`, before the user program;
/// - `poststart`: by the runtime after the user program started;
/// - `poststop`: by the runtime after the container is deleted.
/// Each gets the container's state JSON on stdin. A failing prestart, createRuntime,
/// createContainer or startContainer hook fails the operation and stops the container;
/// a failing poststart or poststop hook is logged and the lifecycle goes on.
enum Hooks {
    /// The hook kinds, in lifecycle order, with their spec field names.
    enum Kind: String, CaseIterable {
        case prestart, createRuntime, createContainer, startContainer, poststart, poststop

        func hooks(in hooks: RuntimeSpec.Hooks?) -> [RuntimeSpec.Hook] {
            switch self {
            case .prestart: return hooks?.prestart ?? []
            case .createRuntime: return hooks?.createRuntime ?? []
            case .createContainer: return hooks?.createContainer ?? []
            case .startContainer: return hooks?.startContainer ?? []
            case .poststart: return hooks?.poststart ?? []
            case .poststop: return hooks?.poststop ?? []
            }
        }
    }

    /// Refuses hooks the spec forbids: a relative path, a timeout that is not positive.
    static func validate(_ hooks: RuntimeSpec.Hooks?) throws(SandboxError) {
        for kind in Kind.allCases {
            for (index, hook) in kind.hooks(in: hooks).enumerated() {
                guard hook.path.hasPrefix("/") else {
                    throw SandboxError(.invalidSpec, "hooks.\(kind.rawValue)[\(index)].path: \"\(hook.path)\" must be absolute")
                }
                if let timeout = hook.timeout, timeout <= 0 {
                    throw SandboxError(.invalidSpec, "hooks.\(kind.rawValue)[\(index)].timeout: \(timeout) must be greater than zero")
                }
            }
        }
    }

    /// The state JSON a hook reads on stdin.
    static func stateJSON(spec: RuntimeSpec, id: String, status: ContainerState.Status, pid: Int32?, bundle: String) -> [UInt8] {
        let state = ContainerState(ociVersion: spec.ociVersion, id: id, status: status, pid: pid, bundle: bundle,
                                   annotations: spec.annotations)
        return (try? Array(OCIJSON.encode(state))) ?? []
    }

    /// Runs the hooks of `kind` in order, from the runtime's process.
    /// - Throws: ``SandboxError`` naming the hook (kind, index, path) and how it failed,
    ///   with the end of what it wrote to stdout/stderr.
    static func run(_ kind: Kind, spec: RuntimeSpec, id: String, status: ContainerState.Status, pid: Int32?,
                    bundle: String) async throws(SandboxError) {
        let hooks = kind.hooks(in: spec.hooks)
        guard !hooks.isEmpty else { return }
        let state = stateJSON(spec: spec, id: id, status: status, pid: pid, bundle: bundle)
        for (index, hook) in hooks.enumerated() {
            try await runOne(hook, state: state, name: "hooks.\(kind.rawValue)[\(index)] (\(hook.path))", id: id)
        }
    }

    /// Runs the hooks of `kind`, logging failures instead of throwing (poststart, poststop).
    static func runLogging(_ kind: Kind, spec: RuntimeSpec, id: String, status: ContainerState.Status, pid: Int32?,
                           bundle: String, runtime: Runtime) async {
        let hooks = kind.hooks(in: spec.hooks)
        guard !hooks.isEmpty else { return }
        let state = stateJSON(spec: spec, id: id, status: status, pid: pid, bundle: bundle)
        for (index, hook) in hooks.enumerated() {
            do {
                try await runOne(hook, state: state, name: "hooks.\(kind.rawValue)[\(index)] (\(hook.path))", id: id)
            } catch {
                runtime.logger.warning("\(error)", metadata: ["id": "\(id)"])
            }
        }
    }

    private static func runOne(_ hook: RuntimeSpec.Hook, state: [UInt8], name: String, id: String) async throws(SandboxError) {
        let output = csb_memfd("caisson-hook-output")
        guard output >= 0 else { throw SandboxError(.system, "container \"\(id)\": \(name): memfd", errno: Errno(rawValue: -output)) }
        defer { close(output) }
        // stdin is a socket so that writing to a hook that exits without reading gives EPIPE
        // (MSG_NOSIGNAL), never a SIGPIPE to the host program.
        var pipe: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pipe) == 0 else {
            throw SandboxError(.system, "container \"\(id)\": \(name): socketpair", errno: Errno(rawValue: Glibc.errno))
        }
        let argv = (hook.args?.isEmpty == false ? hook.args! : [hook.path])
        var pidfd: Int32 = -1
        let pid = withCStrings(argv) { argvPointers in
            withCStrings(hook.env ?? []) { envPointers in
                csb_spawn_hook(hook.path, argvPointers, envPointers, pipe[0], output, &pidfd)
            }
        }
        close(pipe[0])
        guard pid > 0 else {
            close(pipe[1])
            throw SandboxError(.hookFailed, "container \"\(id)\": \(name) could not be started", errno: Errno(rawValue: -pid))
        }
        defer { close(pidfd) }
        // Small enough for the socket buffer; a hook that does not read it gives EPIPE.
        var written = 0
        while written < state.count {
            let n = state[written...].withUnsafeBytes { send(pipe[1], $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && Glibc.errno == EINTR { continue }
            if n <= 0 { break }
            written += n
        }
        close(pipe[1])

        var timedOut = false
        let exitWatch = pidfd
        do {
            timedOut = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await Reactor.shared.waitReadable(exitWatch)
                    return false
                }
                if let timeout = hook.timeout {
                    group.addTask {
                        try await Task.sleep(for: .seconds(timeout))
                        return true
                    }
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
        } catch {
            // Cancelled: do not leave the hook running.
            timedOut = true
        }
        Reactor.shared.forget(pidfd)
        if timedOut { _ = csb_pidfd_send_signal(pidfd, SIGKILL) }
        var code: Int32 = 0, signal: Int32 = 0
        _ = csb_pidfd_reap(pidfd, 0, &code, &signal)
        let outcome: Outcome = timedOut ? .timedOut(seconds: hook.timeout ?? 0) : signal != 0 ? .signaled(signal) : .exited(code)
        if outcome != .exited(0) {
            throw SandboxError(.hookFailed, "container \"\(id)\": \(name) \(outcome)\(tail(output))")
        }
    }

    /// How a hook ended, worded the same whether the runtime or the C core ran it.
    enum Outcome: Equatable, CustomStringConvertible {
        case exited(Int32), signaled(Int32), timedOut(seconds: Int)
        var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "was killed by signal \(signal)"
            case .timedOut(let seconds): return "timed out after \(seconds) s"
            }
        }
    }

    /// The last bytes a failed hook wrote, for the error message (": <text>"), or "".
    static func tail(_ fd: Int32) -> String {
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else { return "" }
        let count = min(Int(info.st_size), 2048)
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, count, off_t(Int(info.st_size) - count)) }
        guard n > 0 else { return "" }
        let text = String(decoding: bytes[..<n], as: UTF8.self).trimmed
        return text.isEmpty ? "" : ": " + text
    }

    /// Describes a hook failure the C core reported as (step, CSB_HOOK_* | detail, index).
    static func describeChildFailure(kind: Kind, hooks: RuntimeSpec.Hooks?, index: Int, err: Int32, output: Int32) -> String {
        let hooks = kind.hooks(in: hooks)
        let hook = hooks.indices.contains(index) ? hooks[index] : nil
        let name = "hooks.\(kind.rawValue)[\(index)] (\(hook?.path ?? "?"))"
        let detail = err & 0xffff
        let outcome: Outcome
        switch err & ~0xffff {
        case Int32(CSB_HOOK_EXITED.rawValue): outcome = .exited(detail)
        case Int32(CSB_HOOK_SIGNALED.rawValue): outcome = .signaled(detail)
        case Int32(CSB_HOOK_TIMED_OUT.rawValue): outcome = .timedOut(seconds: hook?.timeout ?? 0)
        default: return "\(name) could not be run: \(Errno(rawValue: err))"
        }
        return "\(name) \(outcome)\(tail(output))"
    }
}

/// Calls `body` with a NULL-terminated array of C strings (argv/envp).
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

extension CompiledPlan {
    /// Writes the state JSON the child's hooks read, now that the container's pid is known.
    func writeHookStates(spec: RuntimeSpec, id: String, pid: Int32, bundle: String) {
        guard let states = hookStates else { return }
        for (status, buffer, length) in [(ContainerState.Status.creating, states.creating, \csb_plan.hook_state_creating_len),
                                         (.created, states.created, \csb_plan.hook_state_created_len)] {
            let json = Hooks.stateJSON(spec: spec, id: id, status: status, pid: pid, bundle: bundle)
            let count = min(json.count, states.capacity)
            json.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: count) }
            plan.pointee[keyPath: length] = UInt32(count)
        }
    }
}
