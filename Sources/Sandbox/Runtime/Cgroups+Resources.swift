import Glibc
import OCISpec
import SystemPackage

/// Resource limits written into the container's cgroup (runtime-spec config-linux.md
/// #control-groups), for the controllers the host mounts as cgroup v1 — the hybrid layout
/// this project targets. What cannot be honoured is refused with the field named, never
/// silently dropped.
extension Cgroups {
    /// The devices every container may use whatever its rules say (runc's defaults): the
    /// default device nodes, ptys, and mknod of anything (opening still needs a rule).
    static let defaultDeviceRules = [
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
        "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm",
    ]

    /// Writes `resources` (and the device rules for `devices`) into the cgroup.
    /// - Throws: ``SandboxError`` naming the spec field and the cgroup file at fault.
    func apply(_ resources: RuntimeSpec.Linux.Resources?, devices: [RuntimeSpec.Linux.Device]) throws(SandboxError) {
        let resources = resources ?? RuntimeSpec.Linux.Resources()

        if let directory = directory(for: "devices") {
            // Deny everything, apply the spec's rules in order, then allow the defaults and
            // the spec's devices last, as runc does (so a container can always use them).
            try write(directory, "devices.deny", "a", field: "linux.resources.devices")
            for (index, rule) in (resources.devices ?? []).enumerated() {
                let type = rule.type ?? "a"
                guard ["a", "b", "c"].contains(type) else {
                    throw SandboxError(.invalidSpec, "linux.resources.devices[\(index)].type: \"\(type)\" is not a, b or c")
                }
                let major = rule.major.map(String.init) ?? "*"
                let minor = rule.minor.map(String.init) ?? "*"
                let access = rule.access ?? "rwm"
                let line = type == "a" ? "a" : "\(type) \(major):\(minor) \(access)"
                try write(directory, rule.allow ? "devices.allow" : "devices.deny", line,
                          field: "linux.resources.devices[\(index)]")
            }
            for rule in Self.defaultDeviceRules {
                try write(directory, "devices.allow", rule, field: "linux.resources.devices")
            }
            for device in devices {
                let rule = "\(device.type == "b" ? "b" : "c") \(device.major ?? 0):\(device.minor ?? 0) rwm"
                try write(directory, "devices.allow", rule, field: "linux.devices (\(device.path))")
            }
        }

        if let memory = resources.memory {
            let directory = try require("memory", field: "linux.resources.memory")
            if let limit = memory.limit { try write(directory, "memory.limit_in_bytes", "\(limit)", field: "linux.resources.memory.limit") }
            if let reservation = memory.reservation {
                try write(directory, "memory.soft_limit_in_bytes", "\(reservation)", field: "linux.resources.memory.reservation")
            }
            if let swap = memory.swap {
                guard pathExists(directory + "/memory.memsw.limit_in_bytes") else {
                    throw SandboxError(.unsupported, "linux.resources.memory.swap: this kernel has no swap accounting (memory.memsw.*)")
                }
                try write(directory, "memory.memsw.limit_in_bytes", "\(swap)", field: "linux.resources.memory.swap")
            }
            if let swappiness = memory.swappiness, swappiness <= 100 {
                try write(directory, "memory.swappiness", "\(swappiness)", field: "linux.resources.memory.swappiness")
            }
            if memory.disableOOMKiller == true {
                try write(directory, "memory.oom_control", "1", field: "linux.resources.memory.disableOOMKiller")
            }
            if memory.kernel != nil || memory.kernelTCP != nil {
                throw SandboxError(.unsupported, "linux.resources.memory.kernel/kernelTCP: kernel memory limits are gone from current kernels")
            }
        }

        if let pids = resources.pids {
            let directory = try require("pids", field: "linux.resources.pids")
            try write(directory, "pids.max", pids.limit > 0 ? "\(pids.limit)" : "max", field: "linux.resources.pids.limit")
        }

        if let cpu = resources.cpu {
            if cpu.shares != nil || cpu.quota != nil || cpu.period != nil || cpu.burst != nil || cpu.idle != nil
                || cpu.realtimeRuntime != nil || cpu.realtimePeriod != nil {
                let directory = try require("cpu", field: "linux.resources.cpu")
                if let shares = cpu.shares { try write(directory, "cpu.shares", "\(shares)", field: "linux.resources.cpu.shares") }
                // The period goes first: a quota is checked against the current period.
                if let period = cpu.period { try write(directory, "cpu.cfs_period_us", "\(period)", field: "linux.resources.cpu.period") }
                if let quota = cpu.quota { try write(directory, "cpu.cfs_quota_us", "\(quota)", field: "linux.resources.cpu.quota") }
                if let burst = cpu.burst { try write(directory, "cpu.cfs_burst_us", "\(burst)", field: "linux.resources.cpu.burst") }
                if let idle = cpu.idle { try write(directory, "cpu.idle", "\(idle)", field: "linux.resources.cpu.idle") }
                if let period = cpu.realtimePeriod {
                    try write(directory, "cpu.rt_period_us", "\(period)", field: "linux.resources.cpu.realtimePeriod")
                }
                if let runtime = cpu.realtimeRuntime {
                    try write(directory, "cpu.rt_runtime_us", "\(runtime)", field: "linux.resources.cpu.realtimeRuntime")
                }
            }
            if cpu.cpus != nil || cpu.mems != nil {
                let directory = try require("cpuset", field: "linux.resources.cpu.cpus")
                if let cpus = cpu.cpus, !cpus.isEmpty { try write(directory, "cpuset.cpus", cpus, field: "linux.resources.cpu.cpus") }
                if let mems = cpu.mems, !mems.isEmpty { try write(directory, "cpuset.mems", mems, field: "linux.resources.cpu.mems") }
            }
        }

        if let blockIO = resources.blockIO {
            let directory = try require("blkio", field: "linux.resources.blockIO")
            // bfq names its weight files blkio.bfq.*; cfq used blkio.*.
            let weightFile = pathExists(directory + "/blkio.weight") ? "blkio.weight" : "blkio.bfq.weight"
            if let weight = blockIO.weight { try write(directory, weightFile, "\(weight)", field: "linux.resources.blockIO.weight") }
            for (index, device) in (blockIO.weightDevice ?? []).enumerated() {
                if let weight = device.weight {
                    try write(directory, weightFile + "_device", "\(device.major):\(device.minor) \(weight)",
                              field: "linux.resources.blockIO.weightDevice[\(index)]")
                }
            }
            let throttles: [(String, [RuntimeSpec.Linux.Resources.BlockIO.ThrottleDevice]?, String)] = [
                ("blkio.throttle.read_bps_device", blockIO.throttleReadBpsDevice, "throttleReadBpsDevice"),
                ("blkio.throttle.write_bps_device", blockIO.throttleWriteBpsDevice, "throttleWriteBpsDevice"),
                ("blkio.throttle.read_iops_device", blockIO.throttleReadIOPSDevice, "throttleReadIOPSDevice"),
                ("blkio.throttle.write_iops_device", blockIO.throttleWriteIOPSDevice, "throttleWriteIOPSDevice"),
            ]
            for (file, list, name) in throttles {
                for (index, device) in (list ?? []).enumerated() {
                    try write(directory, file, "\(device.major):\(device.minor) \(device.rate)",
                              field: "linux.resources.blockIO.\(name)[\(index)]")
                }
            }
        }

        if let limits = resources.hugepageLimits, !limits.isEmpty {
            let directory = try require("hugetlb", field: "linux.resources.hugepageLimits")
            for (index, limit) in limits.enumerated() {
                try write(directory, "hugetlb.\(limit.pageSize).limit_in_bytes", "\(limit.limit)",
                          field: "linux.resources.hugepageLimits[\(index)]")
            }
        }
        if let network = resources.network, network.classID != nil || !(network.priorities ?? []).isEmpty {
            if let classID = network.classID {
                let directory = try require("net_cls", field: "linux.resources.network.classID")
                try write(directory, "net_cls.classid", "\(classID)", field: "linux.resources.network.classID")
            }
            if let priorities = network.priorities, !priorities.isEmpty {
                let directory = try require("net_prio", field: "linux.resources.network.priorities")
                for (index, priority) in priorities.enumerated() {
                    try write(directory, "net_prio.ifpriomap", "\(priority.name) \(priority.priority)",
                              field: "linux.resources.network.priorities[\(index)]")
                }
            }
        }
        if let rdma = resources.rdma, !rdma.isEmpty {
            let directory = try require("rdma", field: "linux.resources.rdma")
            for (device, limit) in rdma.sorted(by: { $0.key < $1.key }) {
                var parts = [device]
                if let handles = limit.hcaHandles { parts.append("hca_handle=\(handles)") }
                if let objects = limit.hcaObjects { parts.append("hca_object=\(objects)") }
                try write(directory, "rdma.max", parts.joined(separator: " "), field: "linux.resources.rdma.\(device)")
            }
        }
        if let unified = resources.unified, !unified.isEmpty {
            guard let directory = directories.first(where: { $0.controllers.isEmpty })?.path else {
                throw SandboxError(.unsupported, "linux.resources.unified: the host has no cgroup v2 hierarchy")
            }
            for (key, value) in unified.sorted(by: { $0.key < $1.key }) {
                guard !key.contains("/"), !key.hasPrefix(".") else {
                    throw SandboxError(.invalidSpec, "linux.resources.unified: \"\(key)\" is not a cgroup file name")
                }
                try write(directory, key, value, field: "linux.resources.unified.\(key)")
            }
        }
    }

    /// The container's directory in the v1 hierarchy that carries `controller`.
    func directory(for controller: String) -> String? {
        directories.first { $0.controllers.split(separator: ",").contains(Substring(controller)) }?.path
    }

    private func require(_ controller: String, field: String) throws(SandboxError) -> String {
        guard let directory = directory(for: controller) else {
            throw SandboxError(.unsupported, "\(field): the host does not mount the \(controller) cgroup controller")
        }
        return directory
    }

    private func write(_ directory: String, _ file: String, _ value: String, field: String) throws(SandboxError) {
        do {
            try writeFile(directory + "/" + file, value)
        } catch {
            throw SandboxError(.invalidSpec, "\(field): writing \"\(value)\" to \(directory)/\(file)", errno: error)
        }
    }
}
