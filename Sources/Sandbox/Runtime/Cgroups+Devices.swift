import _CSandbox
import Glibc
import OCISpec
import SystemPackage

/// The device allow-list (runtime-spec config-linux.md #allowed-device-list): the v1
/// `devices` controller where the host mounts it, else a BPF_CGROUP_DEVICE program on
/// the container's v2 cgroup (device programs need no v2 controller, so this also works
/// on a hybrid host's v2 tree).
///
/// The rules apply in order — deny everything, the spec's rules, the defaults every
/// container gets, then the spec's `linux.devices` — with cgroup v1's semantics on both
/// drivers: a rule for every device ("a") resets the list and sets the default; other
/// rules add exceptions to that default or take access away from an exception.
extension Cgroups {
    /// One device rule, resolved from the spec.
    struct DeviceRule: Equatable, Sendable {
        enum Kind: Sendable { case all, block, char }

        /// cgroup v1's access letters, as the BPF_DEVCG_ACC_* bits.
        struct Access: OptionSet, Hashable, Sendable {
            let rawValue: UInt32
            static let mknod = Access(rawValue: 1)
            static let read = Access(rawValue: 2)
            static let write = Access(rawValue: 4)
            static let all: Access = [.mknod, .read, .write]

            /// Parses "rwm" letters; nil for any other letter.
            init?(letters: String) {
                var access: Access = []
                for letter in letters {
                    switch letter {
                    case "r": access.insert(.read)
                    case "w": access.insert(.write)
                    case "m": access.insert(.mknod)
                    default: return nil
                    }
                }
                self = access
            }

            init(rawValue: UInt32) { self.rawValue = rawValue }

            var letters: String {
                (contains(.read) ? "r" : "") + (contains(.write) ? "w" : "") + (contains(.mknod) ? "m" : "")
            }
        }

        var allow: Bool
        var kind: Kind
        var major: Int64?  // nil: any
        var minor: Int64?  // nil: any
        var access: Access
        /// The spec field the rule comes from, named in errors.
        var field: String

        /// The rule as a line for devices.allow / devices.deny.
        var v1Line: String {
            guard kind != .all else { return "a" }
            return "\(kind == .block ? "b" : "c") \(major.map(String.init) ?? "*"):\(minor.map(String.init) ?? "*") \(access.letters)"
        }

        /// Whether this (wildcard) rule's devices include every device of `other`.
        func covers(_ other: DeviceRule) -> Bool {
            kind == other.kind && (major == nil || major == other.major) && (minor == nil || minor == other.minor)
        }

        func sameDevices(_ other: DeviceRule) -> Bool {
            kind == other.kind && major == other.major && minor == other.minor
        }
    }

    /// The devices every container may use whatever its rules say (runc's defaults): mknod
    /// of any node (opening it still needs a rule), /dev/null, zero, full, random, urandom,
    /// tty, console, ptmx, the pty slaves and /dev/net/tun.
    static let defaultDeviceRules: [DeviceRule] = {
        func rule(_ kind: DeviceRule.Kind, _ major: Int64?, _ minor: Int64?, _ access: DeviceRule.Access) -> DeviceRule {
            DeviceRule(allow: true, kind: kind, major: major, minor: minor, access: access, field: "linux.resources.devices")
        }
        return [
            rule(.char, nil, nil, .mknod), rule(.block, nil, nil, .mknod),
            rule(.char, 1, 3, .all), rule(.char, 1, 5, .all), rule(.char, 1, 7, .all), rule(.char, 1, 8, .all),
            rule(.char, 1, 9, .all), rule(.char, 5, 0, .all), rule(.char, 5, 1, .all), rule(.char, 5, 2, .all),
            rule(.char, 136, nil, .all), rule(.char, 10, 200, .all),
        ]
    }()

    /// Every rule the container's cgroup gets, in the order they apply.
    /// - Throws: ``SandboxError`` naming the spec field of a malformed rule.
    static func deviceRules(_ rules: [RuntimeSpec.Linux.Resources.DeviceRule],
                            devices: [RuntimeSpec.Linux.Device]) throws(SandboxError) -> [DeviceRule] {
        var out = [DeviceRule(allow: false, kind: .all, major: nil, minor: nil, access: .all, field: "linux.resources.devices")]
        for (index, rule) in rules.enumerated() {
            let field = "linux.resources.devices[\(index)]"
            let kind: DeviceRule.Kind
            switch rule.type ?? "a" {
            case "a": kind = .all
            case "b": kind = .block
            case "c": kind = .char
            case let other: throw SandboxError(.invalidSpec, "\(field).type: \"\(other)\" is not a, b or c")
            }
            guard let access = DeviceRule.Access(letters: rule.access ?? "rwm"), kind == .all || !access.isEmpty else {
                throw SandboxError(.invalidSpec, "\(field).access: \"\(rule.access ?? "")\" is not a combination of r, w and m")
            }
            for (name, number) in [("major", rule.major), ("minor", rule.minor)] {
                if let number, number < 0 || number > Int64(Int32.max) {
                    throw SandboxError(.invalidSpec, "\(field).\(name): \(number) is not a device number")
                }
            }
            // "a" is every device with every access, whatever else the rule says (as v1 reads it).
            out.append(kind == .all
                ? DeviceRule(allow: rule.allow, kind: .all, major: nil, minor: nil, access: .all, field: field)
                : DeviceRule(allow: rule.allow, kind: kind, major: rule.major, minor: rule.minor, access: access, field: field))
        }
        out += defaultDeviceRules
        for device in devices where device.type != "p" {
            // "c" and "u" (unbuffered) are both character devices; fifos need no rule.
            out.append(DeviceRule(allow: true, kind: device.type == "b" ? .block : .char,
                                  major: device.major ?? 0, minor: device.minor ?? 0, access: .all,
                                  field: "linux.devices (\(device.path))"))
        }
        return out
    }

    /// What the rules leave in force: a default verdict, and exceptions that all carry the
    /// opposite one, in the order they were first added.
    struct DevicePolicy: Equatable, Sendable {
        var defaultAllow: Bool
        var exceptions: [DeviceRule]
    }

    /// Applies `rules` as cgroup v1 does, starting from "allow everything" (a new v1 cgroup).
    ///
    /// v1 takes access away from an exception only when the rule names exactly the same
    /// devices; a rule that would cut into a wildcard exception (deny c 1:3 after allow
    /// c 1:*) is silently ignored there. That leaves a device open which the spec meant to
    /// close, so it is refused here instead, as runc refuses it.
    /// - Throws: ``SandboxError`` naming the rule that would punch a hole in a wildcard.
    static func reduce(_ rules: [DeviceRule]) throws(SandboxError) -> DevicePolicy {
        var policy = DevicePolicy(defaultAllow: true, exceptions: [])
        for rule in rules {
            if rule.kind == .all {
                policy = DevicePolicy(defaultAllow: rule.allow, exceptions: [])
            } else if rule.allow != policy.defaultAllow {
                if let index = policy.exceptions.firstIndex(where: { $0.sameDevices(rule) }) {
                    policy.exceptions[index].access.formUnion(rule.access)
                } else {
                    var exception = rule
                    exception.allow = !policy.defaultAllow
                    policy.exceptions.append(exception)
                }
            } else {
                if let wider = policy.exceptions.first(where: { $0.covers(rule) && !$0.sameDevices(rule) && !$0.access.isDisjoint(with: rule.access) }) {
                    throw SandboxError(.invalidSpec, "\(rule.field): \"\(rule.v1Line)\" (\(rule.allow ? "allow" : "deny")) would remove access from part of the wildcard rule \"\(wider.v1Line)\" (\(wider.field)), which the device cgroup cannot do")
                }
                if let index = policy.exceptions.firstIndex(where: { $0.sameDevices(rule) }) {
                    policy.exceptions[index].access.subtract(rule.access)
                    if policy.exceptions[index].access.isEmpty { policy.exceptions.remove(at: index) }
                }
            }
        }
        return policy
    }

    /// Writes the device rules: to the v1 controller, or as a device program on v2.
    func applyDevices(_ rules: [RuntimeSpec.Linux.Resources.DeviceRule], devices: [RuntimeSpec.Linux.Device]) throws(SandboxError) {
        let list = try Self.deviceRules(rules, devices: devices)
        // Checked on v1 too, so a spec means the same on both drivers.
        let policy = try Self.reduce(list)
        if let directory = directory(for: "devices") {
            // Each file opened once, one write per rule (the kernel takes one rule per write):
            // a path lookup in cgroupfs per rule was a visible part of a create.
            var open: [String: Int32] = [:]
            defer { for fd in open.values { close(fd) } }
            for rule in list {
                let file = directory + "/" + (rule.allow ? "devices.allow" : "devices.deny")
                do {
                    let fd: Int32
                    if let opened = open[file] { fd = opened } else {
                        fd = try retryingEINTR { Glibc.open(file, O_WRONLY | O_CLOEXEC) }
                        open[file] = fd
                    }
                    try writeWhole(fd, rule.v1Line)
                } catch {
                    throw SandboxError(.invalidSpec, "\(rule.field): writing \"\(rule.v1Line)\" to \(file)", errno: error)
                }
            }
        } else if let unified = unifiedDirectory {
            try attachDeviceProgram(policy, to: unified)
        }
    }

    /// Loads the policy as a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to
    /// `directory`, replacing the one attached before (so `update` swaps it in place).
    private func attachDeviceProgram(_ policy: DevicePolicy, to directory: String) throws(SandboxError) {
        let exceptions = policy.exceptions.map { rule in
            csb_device_exception(type: rule.kind == .block ? 1 : 2, major: rule.major ?? -1, minor: rule.minor ?? -1,
                                 access: rule.access.rawValue)
        }
        var log = [CChar](repeating: 0, count: 1 << 16)
        let program = exceptions.withUnsafeBufferPointer { buffer in
            csb_bpf_device_program_load(policy.defaultAllow ? 1 : 0, buffer.baseAddress, UInt32(buffer.count), &log, UInt32(log.count))
        }
        guard program >= 0 else {
            let verifier = String(decoding: log.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let detail = program == -EPERM ? " (needs CAP_BPF or CAP_SYS_ADMIN)" : verifier.isEmpty ? "" : " (verifier: \(verifier.trimmed))"
            throw SandboxError(.system, "linux.resources.devices: loading the cgroup v2 device program for \(directory)\(detail)",
                               errno: Errno(rawValue: -program))
        }
        defer { close(program) }
        let cgroup = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard cgroup >= 0 else {
            throw SandboxError(.system, "linux.resources.devices: opening \(directory)", errno: Errno(rawValue: Glibc.errno))
        }
        defer { close(cgroup) }
        let attached = csb_bpf_device_program_attach(cgroup, program)
        guard attached == 0 else {
            throw SandboxError(.system, "linux.resources.devices: attaching the device program to \(directory) (BPF_CGROUP_DEVICE)",
                               errno: Errno(rawValue: -attached))
        }
    }
}
