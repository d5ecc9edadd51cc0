import Glibc
import OCISpec
import SystemPackage

/// Resource limits written into the container's cgroup (runtime-spec config-linux.md
/// #control-groups), for the controllers the host mounts as cgroup v1 — the hybrid layout
/// this project targets. What cannot be honoured is refused with the field named, never
/// silently dropped.
extension Cgroups {
    /// Writes `resources` (and the device rules for `devices`) into the cgroup.
    /// - Throws: ``SandboxError`` naming the spec field and the cgroup file at fault.
    func apply(_ resources: RuntimeSpec.Linux.Resources?, devices: [RuntimeSpec.Linux.Device]) throws(SandboxError) {
        let resources = resources ?? RuntimeSpec.Linux.Resources()
        try applyDevices(resources.devices ?? [], devices: devices)
        try applyLimits(resources, memswFirst: false)
    }

    /// Changes the limits of a live cgroup: only what `resources` sets (runc `update`).
    /// - Parameters:
    ///   - resources: the new limits.
    ///   - devices: the container's `linux.devices`, allowed again after new device rules.
    func update(_ resources: RuntimeSpec.Linux.Resources, devices: [RuntimeSpec.Linux.Device]) throws(SandboxError) {
        if let rules = resources.devices { try applyDevices(rules, devices: devices) }
        // memory.memsw.limit_in_bytes must stay >= memory.limit_in_bytes at every step:
        // raising both writes memsw first, lowering both writes the limit first.
        var memswFirst = false
        if let memory = directory(for: "memory"), let swap = resources.memory?.swap, swap != -1,
           let current = try? readFile(memory + "/memory.memsw.limit_in_bytes"),
           let currentSwap = Int64(String(decoding: current, as: UTF8.self).trimmed) {
            memswFirst = swap > currentSwap
        }
        try applyLimits(resources, memswFirst: memswFirst)
    }

    /// Writes every limit `resources` sets, each to the v1 controller that carries it or,
    /// when the host mounts that controller only on v2, to the unified directory.
    private func applyLimits(_ resources: RuntimeSpec.Linux.Resources, memswFirst: Bool) throws(SandboxError) {
        if let memory = resources.memory, directory(for: "memory") == nil, try v2(enabling: "memory") {
            try applyV2Memory(memory)
        } else if let memory = resources.memory {
            let directory = try require("memory", field: "linux.resources.memory")
            if memswFirst, let swap = memory.swap {
                try write(directory, "memory.memsw.limit_in_bytes", "\(swap)", field: "linux.resources.memory.swap")
            }
            if let limit = memory.limit { try write(directory, "memory.limit_in_bytes", "\(limit)", field: "linux.resources.memory.limit") }
            if let reservation = memory.reservation {
                try write(directory, "memory.soft_limit_in_bytes", "\(reservation)", field: "linux.resources.memory.reservation")
            }
            if let swap = memory.swap, !memswFirst {
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

        if let pids = resources.pids, directory(for: "pids") == nil, try v2(enabling: "pids") {
            try writeV2("pids.max", pids.limit > 0 ? "\(pids.limit)" : "max", field: "linux.resources.pids.limit")
        } else if let pids = resources.pids {
            let directory = try require("pids", field: "linux.resources.pids")
            try write(directory, "pids.max", pids.limit > 0 ? "\(pids.limit)" : "max", field: "linux.resources.pids.limit")
        }

        if let cpu = resources.cpu {
            let bandwidth = cpu.shares != nil || cpu.quota != nil || cpu.period != nil || cpu.burst != nil || cpu.idle != nil
                || cpu.realtimeRuntime != nil || cpu.realtimePeriod != nil
            if bandwidth, directory(for: "cpu") == nil, try v2(enabling: "cpu") {
                try applyV2CPU(cpu)
            } else if bandwidth {
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
            if cpu.cpus != nil || cpu.mems != nil, directory(for: "cpuset") == nil, try v2(enabling: "cpuset") {
                if let cpus = cpu.cpus, !cpus.isEmpty { try writeV2("cpuset.cpus", cpus, field: "linux.resources.cpu.cpus") }
                if let mems = cpu.mems, !mems.isEmpty { try writeV2("cpuset.mems", mems, field: "linux.resources.cpu.mems") }
            } else if cpu.cpus != nil || cpu.mems != nil {
                let directory = try require("cpuset", field: "linux.resources.cpu.cpus")
                if let cpus = cpu.cpus, !cpus.isEmpty { try write(directory, "cpuset.cpus", cpus, field: "linux.resources.cpu.cpus") }
                if let mems = cpu.mems, !mems.isEmpty { try write(directory, "cpuset.mems", mems, field: "linux.resources.cpu.mems") }
            }
        }

        if let blockIO = resources.blockIO, directory(for: "blkio") == nil, try v2(enabling: "io") {
            try applyV2IO(blockIO)
        } else if let blockIO = resources.blockIO {
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

        if let limits = resources.hugepageLimits, !limits.isEmpty, directory(for: "hugetlb") == nil, try v2(enabling: "hugetlb") {
            for (index, limit) in limits.enumerated() {
                try writeV2("hugetlb.\(limit.pageSize).max", "\(limit.limit)", field: "linux.resources.hugepageLimits[\(index)]")
            }
        } else if let limits = resources.hugepageLimits, !limits.isEmpty {
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
            var onV2 = false
            if directory(for: "rdma") == nil { onV2 = try v2(enabling: "rdma") }
            let directory = try onV2 ? unifiedDirectory! : require("rdma", field: "linux.resources.rdma")
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

    // MARK: cgroup v2 (unified) limits

    /// Whether `controller` can be used through the v2 directory: the host's unified root
    /// offers it. Enables it (`+controller` in `cgroup.subtree_control`) on every ancestor
    /// of the container's cgroup, as runc's cgroupfs driver does; the root cgroup is
    /// exempt from v2's no-internal-process rule, an ancestor holding processes is not
    /// (the kernel's EBUSY is reported with that directory named).
    private func v2(enabling controller: String) throws(SandboxError) -> Bool {
        guard let unified = unifiedDirectory,
              let hierarchy = (try? Self.hierarchies())?.first(where: { $0.isV2 }),
              let offered = try? readFile(hierarchy.mountPoint + "/cgroup.controllers"),
              String(decoding: offered, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).contains(Substring(controller))
        else { return false }
        var ancestor = hierarchy.mountPoint
        for component in unified.dropFirst(hierarchy.mountPoint.count).split(separator: "/").dropLast() {
            try enableV2(controller, in: ancestor)
            ancestor += "/" + component
        }
        try enableV2(controller, in: ancestor)
        return true
    }

    private func enableV2(_ controller: String, in directory: String) throws(SandboxError) {
        let file = directory + "/cgroup.subtree_control"
        if let enabled = try? readFile(file),
           String(decoding: enabled, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).contains(Substring(controller)) {
            return
        }
        do { try writeFile(file, "+" + controller) } catch {
            throw SandboxError(.system, "cgroups: enabling the \(controller) controller in \(file)", errno: error)
        }
    }

    private func writeV2(_ file: String, _ value: String, field: String) throws(SandboxError) {
        guard let unified = unifiedDirectory else {
            throw SandboxError(.unsupported, "\(field): the host has no cgroup v2 hierarchy")
        }
        try write(unified, file, value, field: field)
    }

    /// runtime-spec memory → memory.max/low/swap.max (v2 counts swap alone, v1 memory+swap).
    private func applyV2Memory(_ memory: RuntimeSpec.Linux.Resources.Memory) throws(SandboxError) {
        func bytes(_ value: Int64) -> String { value == -1 ? "max" : "\(value)" }
        if let limit = memory.limit { try writeV2("memory.max", bytes(limit), field: "linux.resources.memory.limit") }
        if let reservation = memory.reservation { try writeV2("memory.low", bytes(reservation), field: "linux.resources.memory.reservation") }
        if let swap = memory.swap {
            let value: String
            if swap == -1 { value = "max" } else if let limit = memory.limit, limit != -1 {
                guard swap >= limit else {
                    throw SandboxError(.invalidSpec, "linux.resources.memory.swap: \(swap) is below memory.limit \(limit) (swap counts memory plus swap)")
                }
                value = "\(swap - limit)"
            } else {
                throw SandboxError(.invalidSpec, "linux.resources.memory.swap: on cgroup v2 a swap limit needs memory.limit too")
            }
            try writeV2("memory.swap.max", value, field: "linux.resources.memory.swap")
        }
        if memory.disableOOMKiller == true {
            throw SandboxError(.unsupported, "linux.resources.memory.disableOOMKiller: cgroup v2 has no way to disable the OOM killer")
        }
        if memory.kernel != nil || memory.kernelTCP != nil {
            throw SandboxError(.unsupported, "linux.resources.memory.kernel/kernelTCP: kernel memory limits are gone from current kernels")
        }
    }

    /// runtime-spec cpu → cpu.weight (runc's shares conversion), cpu.max, cpu.max.burst, cpu.idle.
    private func applyV2CPU(_ cpu: RuntimeSpec.Linux.Resources.CPU) throws(SandboxError) {
        if cpu.realtimeRuntime != nil || cpu.realtimePeriod != nil {
            throw SandboxError(.unsupported, "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime CPU limits")
        }
        if let shares = cpu.shares, shares != 0 {
            // [2, 262144] maps onto [1, 10000].
            let weight = 1 + ((max(shares, 2) - 2) * 9999) / 262142
            try writeV2("cpu.weight", "\(min(weight, 10000))", field: "linux.resources.cpu.shares")
        }
        if cpu.quota != nil || cpu.period != nil {
            let quota = cpu.quota.map { $0 <= 0 ? "max" : "\($0)" } ?? "max"
            try writeV2("cpu.max", "\(quota) \(cpu.period ?? 100_000)", field: "linux.resources.cpu.quota")
        }
        if let burst = cpu.burst { try writeV2("cpu.max.burst", "\(burst)", field: "linux.resources.cpu.burst") }
        if let idle = cpu.idle { try writeV2("cpu.idle", "\(idle)", field: "linux.resources.cpu.idle") }
    }

    /// runtime-spec blockIO → io.weight (or io.bfq.weight) and io.max.
    private func applyV2IO(_ blockIO: RuntimeSpec.Linux.Resources.BlockIO) throws(SandboxError) {
        // blkio weights [10, 1000] map onto io weights [1, 10000].
        func ioWeight(_ weight: UInt16) -> String { "\(1 + (Int(max(weight, 10)) - 10) * 9999 / 990)" }
        let bfq = unifiedDirectory.map { pathExists($0 + "/io.bfq.weight") } ?? false
        if let weight = blockIO.weight {
            if bfq { try writeV2("io.bfq.weight", "\(weight)", field: "linux.resources.blockIO.weight") } else {
                try writeV2("io.weight", "default \(ioWeight(weight))", field: "linux.resources.blockIO.weight")
            }
        }
        for (index, device) in (blockIO.weightDevice ?? []).enumerated() {
            guard let weight = device.weight else { continue }
            try writeV2(bfq ? "io.bfq.weight" : "io.weight", "\(device.major):\(device.minor) \(bfq ? "\(weight)" : ioWeight(weight))",
                        field: "linux.resources.blockIO.weightDevice[\(index)]")
        }
        let throttles: [(String, [RuntimeSpec.Linux.Resources.BlockIO.ThrottleDevice]?, String)] = [
            ("rbps", blockIO.throttleReadBpsDevice, "throttleReadBpsDevice"),
            ("wbps", blockIO.throttleWriteBpsDevice, "throttleWriteBpsDevice"),
            ("riops", blockIO.throttleReadIOPSDevice, "throttleReadIOPSDevice"),
            ("wiops", blockIO.throttleWriteIOPSDevice, "throttleWriteIOPSDevice"),
        ]
        for (key, list, name) in throttles {
            for (index, device) in (list ?? []).enumerated() {
                try writeV2("io.max", "\(device.major):\(device.minor) \(key)=\(device.rate == 0 ? "max" : "\(device.rate)")",
                            field: "linux.resources.blockIO.\(name)[\(index)]")
            }
        }
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
