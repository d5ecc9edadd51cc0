/// The system call filter of a container's processes.
public enum SeccompPolicy: Hashable, Sendable {
    /// Docker's default profile (`LinuxSeccomp.dockerDefault`): deny by default, with
    /// EPERM. The default.
    case dockerDefault
    /// No filter (`--security-opt seccomp=unconfined`).
    case unconfined
    /// A profile of the caller's.
    case custom(LinuxSeccomp)

    var profile: LinuxSeccomp? {
        switch self {
        case .dockerDefault: return LinuxSeccomp.dockerDefault
        case .unconfined: return nil
        case .custom(let profile): return profile
        }
    }
}
