import ArgumentParser
import CLICommon
import Glibc
import OCISpec
import Sandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(CCap)
import CCap
#endif
#if canImport(CSeccomp)
import CSeccomp
#endif

/// `caisson features`: what this build of Caisson implements, as the runtime-spec
/// features document (features.md), printed as `runc features` prints it.
///
/// Every list is what the Sandbox library accepts today, not what it might: a field is
/// left out (meaning "unknown") rather than over-claimed.
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features", abstract: "Show the enabled features (runtime-spec features.json).")
    @ParentCommand var parent: CaissonCommand

    func run() throws {
        print(Self.json(Self.features).indented("    "))
    }

    /// The features document.
    static var features: RuntimeFeatures {
        RuntimeFeatures(
            ociVersionMin: "1.0.0",
            ociVersionMax: "1.2.0",
            hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
            mountOptions: mountOptions,
            linux: .init(
                namespaces: [.cgroup, .ipc, .mount, .network, .pid, .time, .user, .uts],
                capabilities: capabilities,
                cgroup: .init(v1: true, v2: true, systemd: false, systemdUser: false),
                seccomp: .init(
                    enabled: true,
                    actions: [.allow, .errno, .kill, .killProcess, .killThread, .log, .notify, .trace, .trap],
                    operators: [.equal, .greaterOrEqual, .greaterThan, .lessOrEqual, .lessThan, .maskedEqual, .notEqual],
                    archs: seccompArchitectures,
                    knownFlags: [.log, .specAllow, .tsync, .waitKillableRecv]),
                apparmor: .init(enabled: false),
                selinux: .init(enabled: false),
                intelRdt: .init(enabled: false),
                mountExtensions: .init(idmap: .init(enabled: false))),
            annotations: annotations)
    }

    /// The options MountCompiler (Sandbox/Plan/MountCompiler.swift) recognises: the ones
    /// it applies, and the ones it accepts and drops as runc does for fstab-only flags.
    /// `mand` is refused there, so it is not listed; anything else would be handed to the
    /// filesystem as data, which is not "recognised".
    static let mountOptions: [String] = [
        // bind and propagation
        "bind", "rbind",
        "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
        // mount attributes
        "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec",
        "noatime", "relatime", "strictatime", "atime", "nodiratime", "diratime", "nosymfollow", "symfollow",
        // recursive attributes
        "rro", "rrw", "rnosuid", "rnodev", "rnoexec", "rnoatime",
        // accepted and dropped
        "async", "defaults", "dirsync", "lazytime", "loud", "nolazytime", "nomand", "norelatime", "nostrictatime",
        "remount", "silent", "sync", "tmpcopyup",
    ].sorted()

    /// The capability names libcap knows, up to what this kernel has.
    static var capabilities: [String] {
        #if canImport(CCap)
        var names: [String] = []
        let last = max(Int32(cap_max_bits()), 0)
        for bit in 0..<last {
            guard let raw = cap_to_name(cap_value_t(bit)) else { continue }
            defer { cap_free(raw) }
            let name = String(cString: raw)
            // libcap spells known capabilities "cap_chown" and unknown ones as numbers.
            if name.hasPrefix("cap_") { names.append(name.uppercased()) }
        }
        return names
        #else
        return []
        #endif
    }

    /// The architectures libseccomp resolves by name (what SeccompCompiler accepts).
    static var seccompArchitectures: [SeccompArchitecture] {
        let all: [SeccompArchitecture] = [
            .aarch64, .arm, .mips, .mips64, .mips64n32, .mipsel, .mipsel64, .mipsel64n32, .parisc, .parisc64,
            .ppc, .ppc64, .ppc64le, .riscv64, .s390, .s390x, .x32, .x86, .x86_64,
        ]
        #if canImport(CSeccomp)
        return all.filter { arch in
            seccomp_arch_resolve_name(arch.rawValue.replacing("SCMP_ARCH_", with: "").lowercased()) != 0
        }
        #else
        return all
        #endif
    }

    static var annotations: [String: String] {
        var annotations = ["dev.caisson.version": CaissonCommand.configuration.version]
        #if canImport(CSeccomp)
        if let version = seccomp_version() {
            annotations["io.github.seccomp.libseccomp.version"] =
                "\(version.pointee.major).\(version.pointee.minor).\(version.pointee.micro)"
        }
        #endif
        return annotations
    }

    /// The document in runc's key order (Go struct order), absent fields left out.
    static func json(_ features: RuntimeFeatures) -> GoJSON {
        func strings(_ values: [String]?) -> GoJSON? { values.map { .array($0.map(GoJSON.string)) } }
        func bool(_ value: Bool?) -> GoJSON? { value.map(GoJSON.bool) }
        func enabled(_ value: RuntimeFeatures.Linux.Enabled?) -> GoJSON? {
            value.map { object([("enabled", bool($0.enabled))]) }
        }
        func object(_ members: [(String, GoJSON?)]) -> GoJSON {
            .object(members.compactMap { key, value in value.map { (key, $0) } })
        }
        let linux = features.linux.map { linux in
            object([
                ("namespaces", strings(linux.namespaces?.map(\.rawValue))),
                ("capabilities", strings(linux.capabilities)),
                ("cgroup", linux.cgroup.map { cgroup in
                    object([("v1", bool(cgroup.v1)), ("v2", bool(cgroup.v2)), ("systemd", bool(cgroup.systemd)),
                            ("systemdUser", bool(cgroup.systemdUser)), ("rdma", bool(cgroup.rdma))])
                }),
                ("seccomp", linux.seccomp.map { seccomp in
                    object([("enabled", bool(seccomp.enabled)),
                            ("actions", strings(seccomp.actions?.map(\.rawValue))),
                            ("operators", strings(seccomp.operators?.map(\.rawValue))),
                            ("archs", strings(seccomp.archs?.map(\.rawValue))),
                            ("knownFlags", strings(seccomp.knownFlags?.map(\.rawValue))),
                            ("supportedFlags", strings(seccomp.supportedFlags?.map(\.rawValue)))])
                }),
                ("apparmor", enabled(linux.apparmor)),
                ("selinux", enabled(linux.selinux)),
                ("intelRdt", linux.intelRdt.map { object([("enabled", bool($0.enabled)), ("schemata", bool($0.schemata))]) }),
                ("mountExtensions", linux.mountExtensions.map { object([("idmap", enabled($0.idmap))]) }),
                ("netDevices", enabled(linux.netDevices)),
            ])
        }
        return object([
            ("ociVersionMin", features.ociVersionMin.map(GoJSON.string)),
            ("ociVersionMax", features.ociVersionMax.map(GoJSON.string)),
            ("hooks", strings(features.hooks)),
            ("mountOptions", strings(features.mountOptions)),
            ("linux", linux),
            ("annotations", features.annotations.map { annotations in
                .object(annotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
            }),
            ("potentiallyUnsafeConfigAnnotations", strings(features.potentiallyUnsafeConfigAnnotations)),
        ])
    }
}
