// caisson-bench: the plain measurement driver behind compare.sh.
//
// Every result is printed as one line `<runtime>.<metric> <value>` on stdout (progress
// and notes go to stderr), so a shell script can grep and join the numbers.
//
//   caisson-bench bundles DIR                         make the shared busybox bundles
//   caisson-bench sequential  [--runs N]              (a) create+start+wait+delete of /bin/true
//   caisson-bench concurrent  [--seconds T]           (b) containers/second on all cores
//   caisson-bench bighost     [--runs N]              (c) the same with a 2 GiB, 50-thread host
//   caisson-bench density     [--count N]             (d) N idle containers alive at once
//   caisson-bench all                                 a, b, d, then c (c inflates the process)
//
//   caisson-bench cmd-sequential --label L -- CMD...  time a command N times (crun, runc)
//   caisson-bench cmd-concurrent --label L -- CMD...  run P loops of a command for T seconds
//   caisson-bench cmd-density    --label L --start CMD... --stop CMD... --
//                                                     start N detached containers with a CLI
//
// In commands, `{id}` is replaced by a fresh container id.

import BenchSupport
import CBenchShims
import Foundation
import Glibc
import OCISpec
import Sandbox

@main
struct CaissonBench {
    static func main() async {
        let options: Options
        do {
            options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            note("caisson-bench: \(error)\n\n\(Options.usage)")
            exit(2)
        }
        raiseFileLimit()
        do {
            try await run(options)
        } catch {
            note("caisson-bench: \(error)")
            exit(1)
        }
    }

    static func run(_ options: Options) async throws {
        switch options.command {
        case "bundles":
            guard let dir = options.positional.first else { throw Failure("bundles: give a directory") }
            let bundles = try BenchBundles.make(in: dir)
            note("bundles in \(bundles.directory): true-netns, true-nonet, sleep (rootfs shared)")
        case "sequential", "concurrent", "bighost", "density", "all", "leakcheck", "phases":
            try await withCaisson(options) { bench in
                switch options.command {
                case "sequential":
                    try await bench.sequential()
                    try bench.cgroupCost()
                case "concurrent": try await bench.concurrent()
                case "bighost": try await bench.bigHost()
                case "density": try await bench.density()
                case "leakcheck": try await bench.cgroupParentLeak()
                case "phases":
                    try await bench.phases(bundle: bench.bundles.trueNetns, tag: "netns")
                    try await bench.phases(bundle: bench.bundles.trueNoNetns, tag: "nonet")
                default:
                    try await bench.sequential()
                    try bench.cgroupCost()
                    try await bench.concurrent()
                    try await bench.density()
                    try await bench.bigHost()
                }
            }
        case "cmd-sequential":
            try CommandBench(options).sequential()
        case "cmd-concurrent":
            try CommandBench(options).concurrent()
        case "cmd-density":
            try CommandBench(options).density()
        default:
            throw Failure("unknown command \"\(options.command)\"")
        }
    }

    /// Runs `body` with bundles (given or made in a temporary directory) and a private
    /// state root, and removes what it made even when `body` throws.
    static func withCaisson(_ options: Options, _ body: (CaissonMeasurements) async throws -> Void) async throws {
        guard geteuid() == 0 else { throw Failure("run as root: the benchmarks start real containers") }
        let scratch = (options.scratch ?? "/run") + "/caisson-bench.\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let cgroupParentsBefore = CgroupLeftovers.caissonParents()
        defer {
            try? FileManager.default.removeItem(atPath: scratch)
            CgroupLeftovers.removeEmptyParents(except: cgroupParentsBefore)
        }
        let bundles: BenchBundles
        if let dir = options.bundles {
            bundles = BenchBundles(directory: dir)
        } else {
            bundles = try BenchBundles.make(in: scratch + "/bundles")
        }
        let bench = CaissonMeasurements(options: options, bundles: bundles, stateRoot: scratch + "/state")
        try await body(bench)
    }
}

// MARK: - Caisson

/// The four measurements of Caisson itself, in this process.
struct CaissonMeasurements: Sendable {
    let options: Options
    let bundles: BenchBundles
    let runtime: Runtime
    let stateRoot: String
    static let quiet = Runtime.CreateOptions(stdio: Stdio(input: .null, output: .null, error: .null))

    init(options: Options, bundles: BenchBundles, stateRoot: String) {
        self.options = options
        self.bundles = bundles
        self.stateRoot = stateRoot
        self.runtime = Runtime(stateRoot: stateRoot)
    }

    /// The cgroup part of a start and delete, alone: the directory Sandbox makes in every
    /// hierarchy (`/caisson-<id>`, cpuset filled from the parent), the device rules it
    /// writes, a memory and a pids limit, then the rmdirs — the same file operations,
    /// without a process. Printed as `caisson.cgroup.median_ms`, to set against the
    /// lifecycle with limits (`caisson.seq.limits.median_ms`).
    func cgroupCost() throws {
        let hierarchies = (try FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup"))
            .map { "/sys/fs/cgroup/" + $0 }
            .filter { FileManager.default.fileExists(atPath: $0 + "/cgroup.procs") }
        func put(_ path: String, _ value: String) {
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { return }
            _ = value.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
        var times: [Double] = []
        for i in 0..<(options.warmup + options.runs) {
            let start = now()
            var made: [String] = []
            for hierarchy in hierarchies {
                let path = hierarchy + "/caisson-cbench-cg-\(i)"
                guard mkdir(path, 0o755) == 0 else { throw Failure("mkdir \(path): errno \(errno)") }
                made.append(path)
                if hierarchy.hasSuffix("/cpuset") {
                    for file in ["cpuset.cpus", "cpuset.mems"] {
                        let value = (try? String(contentsOfFile: hierarchy + "/" + file, encoding: .utf8)) ?? ""
                        put(path + "/" + file, value.trimmingCharacters(in: .whitespacesAndNewlines))
                    }
                }
                if hierarchy.hasSuffix("/devices") {
                    put(path + "/devices.deny", "a")
                    for rule in ["c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                                 "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"] {
                        put(path + "/devices.allow", rule)
                    }
                }
                if hierarchy.hasSuffix("/memory") { put(path + "/memory.limit_in_bytes", "\(64 << 20)") }
                if hierarchy.hasSuffix("/pids") { put(path + "/pids.max", "128") }
            }
            for path in made { rmdir(path) }
            if i >= options.warmup { times.append((now() - start) * 1000) }
        }
        let sample = Sample(times)
        result("caisson.cgroup.median_ms", sample.median)
        result("caisson.cgroup.p90_ms", sample.percentile(90))
    }

    /// One create + start + wait + delete, in milliseconds.
    func lifecycle(id: String, bundle: String) async throws -> Double {
        let start = now()
        let container = try await runtime.create(id: id, bundle: bundle, options: Self.quiet)
        do {
            try await container.start()
            let status = try await container.wait()
            try await container.delete()
            let elapsed = (now() - start) * 1000
            guard case .exited(0) = status else { throw Failure("\(id): /bin/true ended: \(status)") }
            return elapsed
        } catch {
            try? await container.delete(force: true)
            throw error
        }
    }

    /// Where a lifecycle's time goes: median milliseconds of create, start, wait, delete.
    func phases(bundle: String, tag: String) async throws {
        var samples: [[Double]] = [[], [], [], []]
        for i in 0..<(options.warmup + options.runs) {
            let id = "cbench-ph-\(i)"
            var t = now()
            let container = try await runtime.create(id: id, bundle: bundle, options: Self.quiet)
            var marks = [now() - t]
            t = now(); try await container.start(); marks.append(now() - t)
            t = now(); _ = try await container.wait(); marks.append(now() - t)
            t = now(); try await container.delete(); marks.append(now() - t)
            if i >= options.warmup { for k in 0..<4 { samples[k].append(marks[k] * 1000) } }
        }
        for (k, name) in ["create", "start", "wait", "delete"].enumerated() {
            let sorted = samples[k].sorted()
            print("caisson.phase.\(tag).\(name)_median_ms", String(format: "%.3f", sorted[sorted.count / 2]))
        }
    }

    /// Sequential lifecycles of one bundle: `warmup` untimed, then `runs` timed.
    func sequentialSample(bundle: String, tag: String, runs: Int? = nil, warmup: Int? = nil) async throws -> Sample {
        let runs = runs ?? options.runs, warmup = warmup ?? options.warmup
        var times: [Double] = []
        times.reserveCapacity(runs)
        for i in 0..<(warmup + runs) {
            let ms = try await lifecycle(id: "cbench-\(tag)-\(i)", bundle: bundle)
            if i >= warmup { times.append(ms) }
        }
        return Sample(times)
    }

    /// (a) Sequential lifecycle with and without a network namespace.
    func sequential(prefix: String = "caisson.seq") async throws {
        for (variant, bundle) in [("netns", bundles.trueNetns), ("nonet", bundles.trueNoNetns), ("limits", bundles.trueLimits)] {
            note("\(prefix).\(variant): \(options.warmup) + \(options.runs) lifecycles of /bin/true")
            let cpu0 = CPUTime.now()
            let sample = try await sequentialSample(bundle: bundle, tag: "seq-\(variant)")
            let cpu = CPUTime.now() - cpu0
            result("\(prefix).\(variant).median_ms", sample.median)
            result("\(prefix).\(variant).p90_ms", sample.percentile(90))
            result("\(prefix).\(variant).min_ms", sample.min)
            result("\(prefix).\(variant).cpu_ms_per_run", cpu * 1000 / Double(options.runs + options.warmup))
        }
    }

    /// (b) As many lifecycles as fit in `seconds`, at most `inFlight` at a time.
    func concurrent() async throws {
        for (variant, bundle) in [("netns", bundles.trueNetns), ("nonet", bundles.trueNoNetns)] {
            note("caisson.conc.\(variant): \(options.seconds) s, \(options.inFlight) in flight")
            let start = now()
            let deadline = start + options.seconds
            var completed = 0
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                func launch() {
                    let id = "cbench-conc-\(variant)-\(next)"
                    next += 1
                    group.addTask { _ = try await lifecycle(id: id, bundle: bundle) }
                }
                for _ in 0..<options.inFlight { launch() }
                while try await group.next() != nil {
                    completed += 1
                    if now() < deadline { launch() }
                }
            }
            let elapsed = now() - start
            result("caisson.conc.\(variant).per_s", Double(completed) / elapsed)
            result("caisson.conc.\(variant).in_flight", Double(options.inFlight))
        }
    }

    /// (c) The host's size must not set the price of a start.
    ///
    /// Small and big host alternate in `rounds` rounds (each `runs / rounds` lifecycles
    /// per variant), so that drift in the machine's load hits both alike.
    func bigHost() async throws {
        let rounds = max(1, min(options.rounds, options.runs))
        let perRound = max(1, options.runs / rounds)
        var small: [String: [Double]] = [:], big: [String: [Double]] = [:]
        let variants = [("netns", bundles.trueNetns), ("nonet", bundles.trueNoNetns)]
        note("caisson.bighost: \(rounds) rounds of \(perRound) lifecycles per variant, small host then big host (\(options.heapGiB) GiB, \(options.threads) threads)")
        for round in 0..<rounds {
            for (variant, bundle) in variants {
                let sample = try await sequentialSample(bundle: bundle, tag: "small-\(variant)", runs: perRound, warmup: round == 0 ? options.warmup : 2)
                small[variant, default: []] += sample.sorted
            }
            let host = BigHost.inflate(gib: options.heapGiB, threads: options.threads)
            if round == 0 {
                let facts = ProcFacts.status()
                result("caisson.big.host_vmrss_mib", Double(facts["VmRSS"] ?? 0) / 1024)
                result("caisson.big.host_vmpte_kib", Double(facts["VmPTE"] ?? 0))
                result("caisson.big.host_threads", Double(facts["Threads"] ?? 0))
                try await createdButNotStarted()
            }
            for (variant, bundle) in variants {
                let sample = try await sequentialSample(bundle: bundle, tag: "big-\(variant)", runs: perRound, warmup: 2)
                big[variant, default: []] += sample.sorted
            }
            host.deflate()
        }
        for (variant, _) in variants {
            let s = Sample(small[variant] ?? []), b = Sample(big[variant] ?? [])
            result("caisson.small.\(variant).median_ms", s.median)
            result("caisson.small.\(variant).p90_ms", s.percentile(90))
            result("caisson.big.\(variant).median_ms", b.median)
            result("caisson.big.\(variant).p90_ms", b.percentile(90))
            result("caisson.big.\(variant).ratio", s.median > 0 ? b.median / s.median : 0)
        }
    }

    /// A created-but-not-started container in the big host: what does it pin?
    func createdButNotStarted() async throws {
        let meminfo0 = ProcFacts.meminfo()
        let status0 = ProcFacts.status()
        let container = try await runtime.create(id: "cbench-created", bundle: bundles.trueNetns, options: Self.quiet)
        let status1 = ProcFacts.status()
        let meminfo1 = ProcFacts.meminfo()
        let child = ProcFacts.status(String(container.pid))
        let sameMM = kcmpSameVM(getpid(), container.pid)
        try await container.delete(force: true)
        result("caisson.created.host_vmpte_delta_kib", Double((status1["VmPTE"] ?? 0) - (status0["VmPTE"] ?? 0)))
        result("caisson.created.host_vmrss_delta_kib", Double((status1["VmRSS"] ?? 0) - (status0["VmRSS"] ?? 0)))
        result("caisson.created.system_pagetables_delta_kib", Double((meminfo1["PageTables"] ?? 0) - (meminfo0["PageTables"] ?? 0)))
        result("caisson.created.child_vmpte_kib", Double(child["VmPTE"] ?? -1))
        result("caisson.created.child_vmrss_kib", Double(child["VmRSS"] ?? -1))
        result("caisson.created.host_vmpte_kib", Double(status1["VmPTE"] ?? 0))
        // kcmp(KCMP_VM): 1 = the child shares the host's mm (no page-table copy), 0 = own mm.
        result("caisson.created.child_shares_host_mm", sameMM.map { $0 ? 1 : 0 } ?? -1)
    }

    /// Whether concurrent containers sharing a new cgroup parent leave it behind: runs
    /// `inFlight` at a time with `linux.cgroupsPath` = `/cbench-parent-<pid>/<id>`.
    func cgroupParentLeak() async throws {
        let parent = "cbench-parent-\(getpid())"
        let data = try Data(contentsOf: URL(fileURLWithPath: bundles.trueNoNetns + "/config.json"))
        var spec = try OCIJSON.decode(RuntimeSpec.self, from: data)
        let total = max(options.inFlight * 8, 16)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func launch() {
                let id = "cbench-leak-\(next)"
                next += 1
                spec.linux?.cgroupsPath = "/\(parent)/\(id)"
                let mine = spec
                group.addTask {
                    let container = try await runtime.create(id: id, spec: mine, bundle: bundles.trueNoNetns, options: Self.quiet)
                    try await container.start()
                    _ = try await container.wait()
                    try await container.delete()
                }
            }
            for _ in 0..<options.inFlight { launch() }
            while try await group.next() != nil {
                if next < total { launch() }
            }
        }
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: CgroupLeftovers.root)) ?? [])
            .map { CgroupLeftovers.root + "/" + $0 + "/" + parent }
            .filter { FileManager.default.fileExists(atPath: $0) }
        result("caisson.leakcheck.containers", Double(total))
        result("caisson.leakcheck.parent_dirs_left", Double(left.count))
        for path in left {
            note("left behind: \(path)")
            rmdir(path)
        }
    }

    /// (d) `count` idle containers (`sleep 1000000`) alive at once, then all deleted.
    func density() async throws {
        let count = options.count
        note("caisson.density: starting \(count) sleepers, \(options.inFlight) in flight")
        let meminfo0 = ProcFacts.meminfo()
        let status0 = ProcFacts.status()
        let start = now()
        var containers: [Container] = []
        containers.reserveCapacity(count)
        var failure: (any Error)? = nil
        await withTaskGroup(of: Result<Container, any Error>.self) { group in
            var next = 0
            func launch() {
                let id = "cbench-dens-\(next)"
                next += 1
                group.addTask {
                    do {
                        let container = try await runtime.create(id: id, bundle: bundles.sleep, options: Self.quiet)
                        do {
                            try await container.start()
                        } catch {
                            try? await container.delete(force: true)
                            throw error
                        }
                        return .success(container)
                    } catch {
                        return .failure(error)
                    }
                }
            }
            for _ in 0..<min(options.inFlight, count) { launch() }
            while let outcome = await group.next() {
                switch outcome {
                case .success(let container): containers.append(container)
                case .failure(let error): if failure == nil { failure = error }
                }
                if next < count && failure == nil { launch() }
            }
        }
        let started = now() - start
        // Let the last execs settle, then read the memory counters.
        try await Task.sleep(for: .seconds(1))
        let meminfo1 = ProcFacts.meminfo()
        let status1 = ProcFacts.status()
        let alive = containers.filter { $0.status() == .running }.count
        let fdsAlive = openFDs()

        note("caisson.density: deleting \(containers.count)")
        let deleteStart = now()
        var deleteFailures = 0
        await withTaskGroup(of: Bool.self) { group in
            var index = 0
            func launch() {
                let container = containers[index]
                index += 1
                group.addTask {
                    do { try await container.delete(force: true); return true } catch {
                        note("delete \(container.id): \(error)")
                        return false
                    }
                }
            }
            for _ in 0..<min(options.inFlight, containers.count) { launch() }
            while let ok = await group.next() {
                if !ok { deleteFailures += 1 }
                if index < containers.count { launch() }
            }
        }
        let deleted = now() - deleteStart
        let pids = containers.map(\.pid)
        containers.removeAll()
        let leftState = (try? FileManager.default.contentsOfDirectory(atPath: stateRoot))?.count ?? 0
        let leftProcesses = pids.filter { ProcFacts.status(String($0))["Pid"] != nil && isSleeper($0) }.count
        let leftCgroups = CgroupLeftovers.leaves(prefix: "cbench-dens-")

        result("caisson.density.count", Double(count))
        result("caisson.density.started", Double(pids.count))
        result("caisson.density.running", Double(alive))
        result("caisson.density.start_s", started)
        result("caisson.density.per_s", Double(pids.count) / started)
        let memAvail = (meminfo0["MemAvailable"] ?? 0) - (meminfo1["MemAvailable"] ?? 0)
        result("caisson.density.memavail_kib_per_container", Double(memAvail) / Double(max(pids.count, 1)))
        let rss = (status1["VmRSS"] ?? 0) - (status0["VmRSS"] ?? 0)
        result("caisson.density.host_rss_kib_per_container", Double(rss) / Double(max(pids.count, 1)))
        result("caisson.density.host_fds_while_alive", Double(fdsAlive))
        kernelBreakdown("caisson.density", meminfo0, meminfo1, count: pids.count)
        result("caisson.density.delete_s", deleted)
        result("caisson.density.delete_failures", Double(deleteFailures))
        result("caisson.density.left_state_dirs", Double(leftState))
        result("caisson.density.left_processes", Double(leftProcesses))
        result("caisson.density.left_cgroups", Double(leftCgroups))
        if let failure { throw failure }
    }

    private func isSleeper(_ pid: Int32) -> Bool {
        guard let cmdline = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
        return cmdline.contains("1000000")
    }
}

// MARK: - Other runtimes' command lines

/// Times other runtimes' CLIs (crun, runc) the same way: posix_spawn + waitpid.
struct CommandBench {
    let options: Options
    let label: String

    init(_ options: Options) throws {
        guard let label = options.label else { throw Failure("\(options.command): give --label") }
        guard !options.argv.isEmpty else { throw Failure("\(options.command): give a command after --") }
        self.options = options
        self.label = label
    }

    /// Runs `argv` with `{id}` replaced; throws unless it exits 0.
    static func runOnce(_ argv: [String], id: String, quiet: Bool = true) throws {
        let args = argv.map { $0.replacingOccurrences(of: "{id}", with: id) }
        let status = try Spawn.run(args, quiet: quiet)
        if status != 0 { throw Failure("\(args.joined(separator: " ")): exit status \(status)") }
    }

    func sequential() throws {
        note("\(label): \(options.warmup) + \(options.runs) runs of \(options.argv.joined(separator: " "))")
        var times: [Double] = []
        let cpu0 = CPUTime.now()
        for i in 0..<(options.warmup + options.runs) {
            let start = now()
            try Self.runOnce(options.argv, id: "cbench-\(label.replacingOccurrences(of: ".", with: "-"))-\(i)")
            if i >= options.warmup { times.append((now() - start) * 1000) }
        }
        let cpu = CPUTime.now() - cpu0
        let sample = Sample(times)
        result("\(label).median_ms", sample.median)
        result("\(label).p90_ms", sample.percentile(90))
        result("\(label).min_ms", sample.min)
        result("\(label).cpu_ms_per_run", cpu * 1000 / Double(options.runs + options.warmup))
    }

    func concurrent() throws {
        let loops = options.parallel
        note("\(label): \(loops) loops for \(options.seconds) s of \(options.argv.joined(separator: " "))")
        let start = now()
        let deadline = start + options.seconds
        let counts = ParallelLoops.run(loops) { loop in
            var done = 0
            var i = 0
            while now() < deadline {
                do {
                    try Self.runOnce(options.argv, id: "cbench-\(label.replacingOccurrences(of: ".", with: "-"))-\(loop)-\(i)")
                    done += 1
                } catch {
                    note("\(error)")
                }
                i += 1
            }
            return done
        }
        let elapsed = now() - start
        result("\(label).per_s", Double(counts.reduce(0, +)) / elapsed)
        result("\(label).parallel", Double(loops))
    }

    /// Starts `count` detached containers with `--start` (all `parallel` at a time),
    /// reads the memory counters, then stops them all with the command after `--`.
    func density() throws {
        guard !options.startArgv.isEmpty else { throw Failure("cmd-density: give --start CMD... --") }
        // Detached container processes re-parent to the nearest subreaper: be it, and reap them.
        _ = cbench_set_child_subreaper()
        let count = options.count
        let loops = options.parallel
        let idPrefix = "cbench-\(label.replacingOccurrences(of: ".", with: "-"))-"
        note("\(label): starting \(count) containers, \(loops) at a time")
        let meminfo0 = ProcFacts.meminfo()
        let start = now()
        let started = ParallelLoops.run(loops) { loop in
            var done = 0
            var i = loop
            while i < count {
                do { try Self.runOnce(options.startArgv, id: idPrefix + String(i)); done += 1 } catch { note("\(error)") }
                i += loops
            }
            return done
        }.reduce(0, +)
        let elapsed = now() - start
        sleep(1)
        let meminfo1 = ProcFacts.meminfo()
        note("\(label): stopping \(count)")
        let deleteStart = now()
        let deleteFailures = ParallelLoops.run(loops) { loop in
            var failures = 0
            var i = loop
            while i < count {
                do { try Self.runOnce(options.argv, id: idPrefix + String(i)) } catch { failures += 1 }
                i += loops
            }
            return failures
        }.reduce(0, +)
        let deleted = now() - deleteStart
        // Reap the sleepers that re-parented to us.
        var reaped = 0
        var status: Int32 = 0
        let reapDeadline = now() + 10
        while now() < reapDeadline {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0 { reaped += 1; continue }
            if pid < 0 { break }  // ECHILD: none left
            usleep(10_000)
        }
        result("\(label).count", Double(count))
        result("\(label).started", Double(started))
        result("\(label).start_s", elapsed)
        result("\(label).per_s", Double(started) / elapsed)
        let memAvail = (meminfo0["MemAvailable"] ?? 0) - (meminfo1["MemAvailable"] ?? 0)
        result("\(label).memavail_kib_per_container", Double(memAvail) / Double(max(started, 1)))
        kernelBreakdown(label, meminfo0, meminfo1, count: started)
        result("\(label).delete_s", deleted)
        result("\(label).delete_failures", Double(deleteFailures))
        result("\(label).reaped", Double(reaped))
        result("\(label).left_cgroups", Double(CgroupLeftovers.leaves(prefix: idPrefix)))
    }
}

// MARK: - Options

struct Options: Sendable {
    var command = ""
    var positional: [String] = []
    var bundles: String?
    var scratch: String?
    var runs = 200
    var warmup = 10
    var seconds = 10.0
    var inFlight = 8
    var parallel = 4
    var count = 100
    var heapGiB = 2
    var threads = 50
    var rounds = 4
    var label: String?
    var startArgv: [String] = []
    var argv: [String] = []

    static let usage = """
        usage: caisson-bench COMMAND [options]
          bundles DIR | sequential | phases | concurrent | bighost | density | all
          cmd-sequential | cmd-concurrent | cmd-density  --label L [--start CMD... --] -- CMD...
        options:
          --bundles DIR     bundles made by `caisson-bench bundles` (default: made in a temp dir)
          --scratch DIR     where the state root goes (default /run)
          --runs N          timed sequential lifecycles (200)       --warmup N   untimed first (10)
          --seconds T       concurrency duration (10)               --in-flight K  Caisson's bound (8)
          --parallel P      parallel CLI loops (4)                  --count N    density containers (100)
          --heap-gib G      big host heap (2)                       --threads N  big host threads (50)
          --rounds R        big host: alternate small/big R times (4)
        """

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var rest = arguments[...]
        func value(_ name: String) throws -> String {
            guard let v = rest.popFirst() else { throw Failure("\(name) needs a value") }
            return v
        }
        func number<T: LosslessStringConvertible>(_ name: String) throws -> T {
            let text = try value(name)
            guard let n = T(text) else { throw Failure("\(name): \"\(text)\" is not a number") }
            return n
        }
        while let arg = rest.popFirst() {
            switch arg {
            case "--bundles": options.bundles = try value(arg)
            case "--scratch": options.scratch = try value(arg)
            case "--runs": options.runs = try number(arg)
            case "--warmup": options.warmup = try number(arg)
            case "--seconds": options.seconds = try number(arg)
            case "--in-flight": options.inFlight = try number(arg)
            case "--parallel": options.parallel = try number(arg)
            case "--count": options.count = try number(arg)
            case "--heap-gib": options.heapGiB = try number(arg)
            case "--threads": options.threads = try number(arg)
            case "--rounds": options.rounds = try number(arg)
            case "--label": options.label = try value(arg)
            case "--start":
                while let word = rest.popFirst(), word != "--" { options.startArgv.append(word) }
            case "--":
                options.argv = Array(rest)
                rest = []
            case "-h", "--help":
                print(usage)
                exit(0)
            default:
                if arg.hasPrefix("--") { throw Failure("unknown option \(arg)") }
                if options.command.isEmpty { options.command = arg } else { options.positional.append(arg) }
            }
        }
        guard !options.command.isEmpty else { throw Failure("no command") }
        guard options.runs > 0, options.inFlight > 0, options.parallel > 0, options.count > 0 else {
            throw Failure("counts must be positive")
        }
        return options
    }
}

// MARK: - Helpers

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A result line on stdout: `name value`.
func result(_ name: String, _ value: Double) {
    let text = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.3f", value)
    FileHandle.standardOutput.write(Data("\(name) \(text)\n".utf8))
}

/// A progress line on stderr.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Where the memory went, per container: kernel slab, page tables, kernel stacks,
/// anonymous and shared memory (MemAvailable is noisy on a shared machine; these less so).
func kernelBreakdown(_ prefix: String, _ before: [String: Int], _ after: [String: Int], count: Int) {
    for key in ["Slab", "PageTables", "KernelStack", "AnonPages", "Shmem"] {
        let delta = (after[key] ?? 0) - (before[key] ?? 0)
        result("\(prefix).\(key.lowercased())_kib_per_container", Double(delta) / Double(max(count, 1)))
    }
}

/// Density needs one pidfd per container: lift the soft fd limit to the hard one.
func raiseFileLimit() {
    var limit = rlimit()
    if getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 && limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
    }
}

private var RLIMIT_NOFILE_VALUE: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_NOFILE.rawValue) }

func openFDs() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? -1
}

/// kcmp(pid1, pid2, KCMP_VM): whether two processes share one address space.
func kcmpSameVM(_ a: pid_t, _ b: pid_t) -> Bool? {
    let r = cbench_same_vm(a, b)
    return r < 0 ? nil : r == 1
}

/// User + system CPU seconds of this process and its reaped children.
enum CPUTime {
    static func now() -> Double {
        var own = rusage(), children = rusage()
        getrusage(RUSAGE_SELF.rawValue, &own)
        getrusage(RUSAGE_CHILDREN.rawValue, &children)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(own.ru_utime) + seconds(own.ru_stime) + seconds(children.ru_utime) + seconds(children.ru_stime)
    }
}

/// Spawns a command with posix_spawnp (no shell) and waits for it.
enum Spawn {
    static func run(_ argv: [String], quiet: Bool) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if quiet {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let r = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard r == 0 else { throw Failure("spawning \(argv[0]): \(String(cString: strerror(r)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw Failure("waitpid: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS by hand (macros are not imported).
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}

/// Runs `body(i)` on `count` plain threads and returns their results in order.
enum ParallelLoops {
    static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Int) -> [Int] {
        final class Box: @unchecked Sendable { var results: [Int]; init(_ n: Int) { results = Array(repeating: 0, count: n) } }
        let box = Box(count)
        let group = DispatchGroup()
        let lock = NSLock()
        for i in 0..<count {
            let thread = Thread {
                let value = body(i)
                lock.lock(); box.results[i] = value; lock.unlock()
                group.leave()
            }
            group.enter()
            thread.start()
        }
        group.wait()
        return box.results
    }
}

/// The "big host": heap touched page by page, and idle threads.
final class BigHost: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let size: Int
    let release = DispatchSemaphore(value: 0)
    let exited = DispatchGroup()
    let threads: Int

    private init(base: UnsafeMutableRawPointer, size: Int, threads: Int) {
        self.base = base
        self.size = size
        self.threads = threads
    }

    /// Allocates and touches `gib` GiB with malloc, and starts `threads` idle threads.
    static func inflate(gib: Int, threads: Int) -> BigHost {
        let size = gib << 30
        // malloc'd memory, as a server's heap; 4 KiB pages (no THP for it) so that its page
        // tables are as big as a fork would have to copy (4 MiB for 2 GiB).
        let base = malloc(size)!
        _ = madvise(base, size, MADV_NOHUGEPAGE)
        var offset = 0
        while offset < size {
            base.storeBytes(of: UInt8(truncatingIfNeeded: offset >> 12 | 1), toByteOffset: offset, as: UInt8.self)
            offset += 4096
        }
        let host = BigHost(base: base, size: size, threads: threads)
        for _ in 0..<threads {
            host.exited.enter()
            let thread = Thread { [host] in
                host.release.wait()
                host.exited.leave()
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
        usleep(100_000)  // let the threads start and block
        return host
    }

    /// Stops the threads and frees the heap.
    func deflate() {
        for _ in 0..<threads { release.signal() }
        exited.wait()
        free(base)
        usleep(100_000)
    }
}

/// Cgroup directories the benchmark's containers may leave.
enum CgroupLeftovers {
    static let root = "/sys/fs/cgroup"

    /// The cgroup directories named `caisson` (Caisson's default parent) in each hierarchy.
    static func caissonParents() -> Set<String> {
        var out = Set<String>()
        for hierarchy in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            let path = root + "/" + hierarchy + "/caisson"
            if FileManager.default.fileExists(atPath: path) { out.insert(path) }
        }
        return out
    }

    /// Removes the empty `caisson` parents that did not exist before this run (Caisson
    /// leaves them when containers were created concurrently; see Benchmarks/README.md).
    static func removeEmptyParents(except before: Set<String>) {
        for path in caissonParents().subtracting(before) { rmdir(path) }
    }

    /// Cgroup directories anywhere one level under a hierarchy or its `caisson` parent
    /// whose name starts with `prefix`.
    static func leaves(prefix: String) -> Int {
        var count = 0
        let fm = FileManager.default
        for hierarchy in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
            for parent in [root + "/" + hierarchy, root + "/" + hierarchy + "/caisson"] {
                for name in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix(prefix) {
                    count += 1
                }
            }
        }
        return count
    }
}
