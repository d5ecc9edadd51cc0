import _CSandbox
import CSeccomp
import Glibc
import OCISpec
import SystemPackage

/// Compiles a runtime-spec seccomp section into a classic BPF program with libseccomp.
///
/// Done in the parent, before clone: the child only hands the finished program to
/// seccomp(2). Syscall names that this libseccomp or kernel does not know are skipped, as
/// runc does, so one profile serves several kernels.
struct SeccompCompiler {
    /// A compiled filter: the BPF instructions and the seccomp(2) flags to load them with.
    struct Program {
        var instructions: [UInt8]
        var flags: UInt32
        var usesNotify: Bool
    }

    /// Compiles `seccomp`, or takes the program from `cache` when this profile was
    /// compiled before (libseccomp is the most expensive part of a create).
    /// - Throws: ``SandboxError`` `invalidSpec` naming the field at fault.
    static func compile(_ seccomp: LinuxSeccomp, cache: SeccompCache = SeccompCache(stateRoot: nil)) throws(SandboxError) -> Program {
        var flags: UInt32 = 0
        for (index, flag) in (seccomp.flags ?? []).enumerated() {
            switch flag.rawValue {
            case "SECCOMP_FILTER_FLAG_TSYNC": flags |= 1
            case "SECCOMP_FILTER_FLAG_LOG": flags |= 2
            case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": flags |= 4
            case "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": flags |= 32
            default: throw SandboxError(.invalidSpec, "linux.seccomp.flags[\(index)]: unknown flag \(flag.rawValue)")
            }
        }
        let usesNotify = seccomp.defaultAction == .notify || (seccomp.syscalls ?? []).contains { $0.action == .notify }
        if usesNotify { flags |= 8 }  // SECCOMP_FILTER_FLAG_NEW_LISTENER

        let key = SeccompCache.key(for: seccomp)
        if let instructions = cache.lookup(key) {
            return Program(instructions: instructions, flags: flags, usesNotify: usesNotify)
        }
        let instructions = try generate(seccomp)
        cache.store(instructions, for: key)
        return Program(instructions: instructions, flags: flags, usesNotify: usesNotify)
    }

    /// The BPF program libseccomp makes of `seccomp`.
    private static func generate(_ seccomp: LinuxSeccomp) throws(SandboxError) -> [UInt8] {
        guard let defaultAction = try action(seccomp.defaultAction, errno: seccomp.defaultErrnoRet, field: "linux.seccomp.defaultAction"),
              let ctx = seccomp_init(defaultAction)
        else { throw SandboxError(.invalidSpec, "linux.seccomp: libseccomp refused the default action \(seccomp.defaultAction)") }
        defer { seccomp_release(ctx) }

        // Let the kernel handle unknown architectures as the default action says, and do
        // not let libseccomp set no_new_privs behind our back: the spec decides that.
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)
        for (index, arch) in (seccomp.architectures ?? []).enumerated() {
            let token = seccomp_arch_resolve_name(arch.rawValue.replacing("SCMP_ARCH_", with: "").lowercased())
            guard token != 0 else {
                throw SandboxError(.invalidSpec, "linux.seccomp.architectures[\(index)]: unknown architecture \(arch)")
            }
            let r = seccomp_arch_add(ctx, token)
            if r < 0 && r != -EEXIST {
                throw SandboxError(.invalidSpec, "linux.seccomp.architectures[\(index)]: cannot add \(arch)", errno: Errno(rawValue: -r))
            }
        }

        for (index, rule) in (seccomp.syscalls ?? []).enumerated() {
            let field = "linux.seccomp.syscalls[\(index)]"
            guard let action = try action(rule.action, errno: rule.errnoRet, field: "\(field).action") else { continue }
            // A rule with the default action is a no-op; libseccomp rejects it.
            if action == defaultAction { continue }
            var conditions: [scmp_arg_cmp] = []
            for (argIndex, arg) in (rule.args ?? []).enumerated() {
                guard arg.index < 6 else {
                    throw SandboxError(.invalidSpec, "\(field).args[\(argIndex)].index: \(arg.index) is not 0...5")
                }
                conditions.append(scmp_arg_cmp(
                    arg: UInt32(arg.index), op: try compareOp(arg.op, field: "\(field).args[\(argIndex)].op"),
                    datum_a: arg.value, datum_b: arg.valueTwo ?? 0))
            }
            for name in rule.names {
                let number = seccomp_syscall_resolve_name(name)
                if number == __NR_SCMP_ERROR { continue }  // unknown here: skip, as runc does
                let r = conditions.withUnsafeBufferPointer { buffer in
                    seccomp_rule_add_array(ctx, action, number, UInt32(buffer.count), buffer.baseAddress)
                }
                if r < 0 {
                    throw SandboxError(.invalidSpec, "\(field): libseccomp refused the rule for \(name)", errno: Errno(rawValue: -r))
                }
            }
        }

        return try export(ctx)
    }

    private static func export(_ ctx: scmp_filter_ctx) throws(SandboxError) -> [UInt8] {
        // libseccomp 2.5 exports to an fd only.
        let fd = csb_memfd("caisson-seccomp")
        guard fd >= 0 else { throw SandboxError(.system, "seccomp: memfd_create", errno: Errno(rawValue: -fd)) }
        defer { close(fd) }
        let r = seccomp_export_bpf(ctx, fd)
        guard r == 0 else { throw SandboxError(.system, "seccomp: exporting the BPF program", errno: Errno(rawValue: Int32(-r))) }
        let size = Int(lseek(fd, 0, SEEK_END))
        var bytes = [UInt8](repeating: 0, count: size)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
        guard n == size else { throw SandboxError(.system, "seccomp: reading the BPF program back", errno: Errno(rawValue: Glibc.errno)) }
        return bytes
    }

    /// The libseccomp action value; nil for an action to skip.
    private static func action(_ action: SeccompAction, errno: UInt?, field: String) throws(SandboxError) -> UInt32? {
        switch action {
        case .allow: return SCMP_ACT_ALLOW
        case .kill, .killThread: return SCMP_ACT_KILL_THREAD
        case .killProcess: return SCMP_ACT_KILL_PROCESS
        case .trap: return SCMP_ACT_TRAP
        case .log: return SCMP_ACT_LOG
        case .notify: return SCMP_ACT_NOTIFY
        case .errno: return 0x0005_0000 | UInt32(errno ?? UInt(EPERM)) & 0xffff
        case .trace: return 0x7ff0_0000 | UInt32(errno ?? UInt(EPERM)) & 0xffff
        default: throw SandboxError(.invalidSpec, "\(field): unknown seccomp action \(action.rawValue)")
        }
    }

    private static func compareOp(_ op: SeccompOperator, field: String) throws(SandboxError) -> scmp_compare {
        switch op {
        case .notEqual: return SCMP_CMP_NE
        case .lessThan: return SCMP_CMP_LT
        case .lessOrEqual: return SCMP_CMP_LE
        case .equal: return SCMP_CMP_EQ
        case .greaterOrEqual: return SCMP_CMP_GE
        case .greaterThan: return SCMP_CMP_GT
        case .maskedEqual: return SCMP_CMP_MASKED_EQ
        default: throw SandboxError(.invalidSpec, "\(field): unknown operator \(op.rawValue)")
        }
    }
}
