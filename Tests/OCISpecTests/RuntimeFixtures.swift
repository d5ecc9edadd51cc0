import Foundation
import OCISpec
import TestSupport
import Testing

/// Runtime-spec documents and helpers shared by the Runtime* tests.
enum RuntimeFixtures {
    /// A config.json that sets every field of runtime-spec v1.2 (plus the v1.3 Linux
    /// additions), with the exact key names of the spec. Re-encoding it must give back
    /// the same JSON object: a misspelled key would be dropped on decode.
    static let everyField = #"""
        {
          "ociVersion": "1.2.0",
          "process": {
            "terminal": true,
            "consoleSize": {"height": 25, "width": 80},
            "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 6, 4294967295], "username": "u"},
            "args": ["/bin/sh", "-c", "echo hi"],
            "commandLine": "cmd.exe /c echo hi",
            "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
            "cwd": "/work",
            "capabilities": {
              "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "inheritable": [],
              "permitted": ["CAP_KILL"], "ambient": ["CAP_KILL"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024}],
            "noNewPrivileges": true,
            "apparmorProfile": "docker-default",
            "oomScoreAdj": -500,
            "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
            "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
            "scheduler": {
              "policy": "SCHED_DEADLINE", "nice": -5, "priority": 10, "flags": ["SCHED_FLAG_RESET_ON_FORK"],
              "runtime": 10000000, "deadline": 20000000, "period": 30000000
            },
            "execCPUAffinity": {"initial": "0", "final": "1-3,7"}
          },
          "root": {"path": "rootfs", "readonly": true},
          "hostname": "box",
          "domainname": "example.org",
          "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
              "destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"],
              "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
              "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]
            }
          ],
          "hooks": {
            "prestart": [{"path": "/usr/bin/prestart", "args": ["prestart", "a"], "env": ["A=1"], "timeout": 5}],
            "createRuntime": [{"path": "/usr/bin/cr"}],
            "createContainer": [{"path": "/usr/bin/cc"}],
            "startContainer": [{"path": "/usr/bin/sc"}],
            "poststart": [{"path": "/usr/bin/ps"}],
            "poststop": [{"path": "/usr/bin/pst", "timeout": 1}]
          },
          "annotations": {"org.example.key": "value", "com.example.empty": ""},
          "linux": {
            "namespaces": [
              {"type": "pid"}, {"type": "network", "path": "/var/run/netns/x"}, {"type": "mount"},
              {"type": "ipc"}, {"type": "uts"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}
            ],
            "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            "timeOffsets": {"monotonic": {"secs": -86400, "nanosecs": 500}, "boottime": {"secs": 3600}},
            "devices": [
              {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
              {"type": "p", "path": "/dev/fifo"}
            ],
            "cgroupsPath": "/caisson/box",
            "resources": {
              "devices": [
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}
              ],
              "memory": {
                "limit": 536870912, "reservation": 268435456, "swap": -1, "kernel": 0, "kernelTCP": 1048576,
                "swappiness": 60, "disableOOMKiller": false, "useHierarchy": true, "checkBeforeUpdate": true
              },
              "cpu": {
                "shares": 1024, "quota": 50000, "burst": 10000, "period": 100000, "realtimeRuntime": 950000,
                "realtimePeriod": 1000000, "cpus": "0-3", "mems": "0", "idle": 0
              },
              "pids": {"limit": 512},
              "blockIO": {
                "weight": 500, "leafWeight": 300,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 200}, {"major": 8, "minor": 16}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 104857600}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 52428800}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 500}]
              },
              "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
              "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
              "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
              "unified": {"memory.high": "1G", "io.weight": "default 100"}
            },
            "intelRdt": {
              "closID": "guaranteed_group", "schemata": ["L3:0=7f0", "MB:0=20"], "l3CacheSchema": "L3:0=7f0",
              "memBwSchema": "MB:0=20", "enableMonitoring": true, "enableCMT": true, "enableMBM": false
            },
            "sysctl": {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "256"},
            "seccomp": {
              "defaultAction": "SCMP_ACT_ERRNO",
              "defaultErrnoRet": 1,
              "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_SOMETHING_NEW"],
              "flags": ["SECCOMP_FILTER_FLAG_LOG"],
              "listenerPath": "/run/seccomp-agent.sock",
              "listenerMetadata": "meta",
              "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {
                  "names": ["clone"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]
                },
                {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}
              ]
            },
            "rootfsPropagation": "rslave",
            "maskedPaths": ["/proc/kcore"],
            "readonlyPaths": ["/proc/sys"],
            "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
            "personality": {"domain": "LINUX32", "flags": []},
            "memoryPolicy": {"mode": "MPOL_INTERLEAVE", "nodes": "0-1", "flags": ["MPOL_F_STATIC_NODES"]},
            "netDevices": {"eth1": {"name": "ctr1"}, "eth2": {}}
          }
        }
        """#

    /// A minimal valid config.
    static let minimal = #"{"ociVersion":"1.2.0"}"#

    /// Decodes `json` as a JSON object (for comparing documents key by key).
    static func jsonObject(_ data: Data) throws -> NSObject {
        let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        return try #require(object as? NSObject)
    }

    /// Runs a command found on `PATH` in `directory` and returns its standard output.
    /// Throws if it cannot start or exits non-zero.
    static func run(_ arguments: [String], in directory: String) async throws -> Data {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        guard status == 0 else {
            throw ToolError(message: "\(arguments.joined(separator: " ")) exited with status \(status)")
        }
        return data
    }

    /// Runs `tool spec [flags]` in a fresh temporary directory and returns the config.json
    /// it wrote.
    static func generatedSpec(_ tool: String, _ flags: [String] = []) async throws -> Data {
        try await withTemporaryDirectory(prefix: "caisson-rtspec") { directory in
            _ = try await run([tool, "spec"] + flags, in: directory)
            return try Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))
        }
    }

    struct ToolError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
