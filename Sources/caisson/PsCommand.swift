import ArgumentParser
import CLICommon
import Glibc
import Sandbox

/// `caisson ps`: the processes of a container, as `runc ps` shows them.
///
/// `--format json` prints the pids as a JSON array; `table` (the default) runs the host's
/// `ps` with the given options (default `-ef`) and keeps its header and the lines whose
/// PID column is one of the container's.
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps", abstract: "Display the processes running inside a container.",
        usage: "caisson ps [--format table|json] <container-id> [ps options]")
    @ParentCommand var parent: CaissonCommand
    var global: GlobalOptions { parent.global }

    @Option(name: [.short, .customLong("format")], help: "Select one of: table or json.")
    var format: String = "table"
    @Argument(parsing: .captureForPassthrough, help: "The container id, then options for ps(1).")
    var arguments: [String] = []

    func run() throws {
        // The container id and ps(1)'s options are taken verbatim, so help is asked for here.
        if arguments.first == "--help" || arguments.first == "-h" { throw CleanExit.helpRequest(self) }
        do {
            // Without an id, `caisson` hands the line to caisson-engine (EngineHandOff).
            guard let id = arguments.first else { throw ValidationError("ps: missing container id") }
            var psArguments = Array(arguments.dropFirst())
            if psArguments.first == "--" { psArguments.removeFirst() }
            let container = try global.runtime.container(id: id)
            let pids = container.processes()
            switch format {
            case "json":
                // runc encodes a nil slice when the cgroup is empty: `null`.
                print(pids.isEmpty ? "null" : GoJSON.array(pids.map { .int(Int64($0)) }).compact)
            case "table":
                StandardStreams.write(try Self.table(pids: Set(pids), psArguments: psArguments.isEmpty ? ["-ef"] : psArguments))
            default:
                throw ValidationError("invalid format option")
            }
        } catch { fail(error) }
    }

    /// `ps ARGS` filtered to `pids`: the header, then each line whose PID field is listed.
    static func table(pids: Set<Int32>, psArguments: [String]) throws -> String {
        let (status, data) = try Subprocess.output(["ps"] + psArguments)
        guard status == 0 else {
            throw ValidationError("ps \(psArguments.joined(separator: " ")): exit status \(status)")
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.first,
              let pidColumn = header.split(whereSeparator: \.isWhitespace).firstIndex(of: "PID")
        else { throw ValidationError("couldn't find PID field in ps output") }
        var out = String(header) + "\n"
        for line in lines.dropFirst() where !line.isEmpty {
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard pidColumn < fields.count, let pid = Int32(fields[pidColumn]) else {
                throw ValidationError("unexpected pid '\(pidColumn < fields.count ? String(fields[pidColumn]) : "")' in ps output")
            }
            if pids.contains(pid) { out += line + "\n" }
        }
        return out
    }
}
