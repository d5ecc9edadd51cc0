import OCISpec

extension Container {
    /// The pids of every process in the container (runc `ps`), in the host's pid namespace:
    /// the init and everything exec'd into or forked inside it.
    ///
    /// Read from the container's cgroup (`cgroup.procs`), so a process that left the
    /// cgroup is not listed and one that a host process moved into it is.
    /// - Returns: the pids in the order the kernel lists them; empty when the container
    ///   has no cgroup or nothing is left in it.
    public func processes() -> [Int32] {
        record.cgroups?.pids() ?? []
    }

    /// When the container was created: RFC 3339 in UTC with nanoseconds, as recorded by
    /// ``Runtime/create(id:bundle:options:)`` (runc's `created` in `state` and `list`).
    public var created: String { record.created }

    /// The absolute path of the container's root filesystem (runc's `rootfs` in `state`).
    public var rootfs: String { record.rootfs }
}
