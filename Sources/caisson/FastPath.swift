import CLICommon
import Glibc
import OCISpec
import Sandbox
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The lifecycle commands an engine runs for every container (create, start, state, kill,
/// delete), parsed by hand: ArgumentParser builds its whole command tree by reflection on
/// every run, which cost more than the work itself (about 10 ms of a 14 ms `state`). A
/// command line this parser does not fully understand goes to ArgumentParser unchanged,
/// so help, errors and every other command behave as before.
enum FastPath {
    /// Runs the command if the line is one of the hot forms.
    /// - Returns: false when the line should go to ArgumentParser.
    static func run(_ arguments: [String]) async -> Bool {
        var rest = arguments[...]
        var root = Runtime.defaultStateRoot, log: String?, logFormat = "text", debug = false

        /// `--name value` or `--name=value`, for the names given.
        func value(_ names: [String], _ argument: String) -> String?? {
            for name in names {
                if argument == name {
                    rest = rest.dropFirst()
                    guard let next = rest.first else { return .some(nil) }
                    rest = rest.dropFirst()
                    return .some(next)
                }
                if name.hasPrefix("--"), argument.hasPrefix(name + "=") {
                    rest = rest.dropFirst()
                    return .some(String(argument.dropFirst(name.count + 1)))
                }
            }
            return nil
        }

        // Global options.
        while let argument = rest.first, argument.hasPrefix("-") {
            if let v = value(["--root"], argument) { guard let v else { return false }; root = v; continue }
            if let v = value(["--log"], argument) { guard let v else { return false }; log = v; continue }
            if let v = value(["--log-format"], argument) {
                guard let v, v == "text" || v == "json" else { return false }
                logFormat = v
                continue
            }
            if argument == "--debug" { debug = true; rest = rest.dropFirst(); continue }
            return false  // --systemd-cgroup, --help, --version, anything else
        }
        guard let command = rest.first else { return false }
        rest = rest.dropFirst()

        var flags = Set<String>(), options: [String: String] = [:], positional: [String] = []
        let known: (flags: Set<String>, options: [String: String])
        switch command {
        case "create":
            known = (["--no-pivot", "--no-new-keyring"],
                     ["--bundle": "bundle", "-b": "bundle", "--pid-file": "pid-file",
                      "--console-socket": "console-socket", "--preserve-fds": "preserve-fds"])
        case "kill": known = (["--all", "-a"], [:])
        case "delete": known = (["--force", "-f"], [:])
        case "start", "state": known = ([], [:])
        default: return false
        }
        while let argument = rest.first {
            if argument == "--" {
                positional += rest.dropFirst()
                break
            }
            if argument.hasPrefix("-") && argument.count > 1 {
                if known.flags.contains(argument) {
                    flags.insert(argument)
                    rest = rest.dropFirst()
                    continue
                }
                if let v = value(Array(known.options.keys), argument) {
                    guard let v else { return false }
                    let name = known.options[argument] ?? known.options[String(argument.prefix { $0 != "=" })] ?? ""
                    options[name] = v
                    continue
                }
                return false
            }
            positional.append(argument)
            rest = rest.dropFirst()
        }

        CLILog.configure(path: log, json: logFormat == "json", debug: debug)
        let runtime = Runtime(stateRoot: root)
        switch (command, positional.count) {
        case ("create", 1):
            guard let fds = Int32(options["preserve-fds"] ?? "0"), fds >= 0 else { return false }
            await CreateCommand.perform(runtime: runtime, bundle: options["bundle"] ?? ".", pidFile: options["pid-file"],
                                        noPivot: flags.contains("--no-pivot"), preserveFDs: fds,
                                        consoleSocket: options["console-socket"], id: positional[0])
        case ("start", 1): await StartCommand.perform(runtime: runtime, id: positional[0])
        case ("state", 1): StateCommand.perform(runtime: runtime, id: positional[0])
        case ("kill", 1), ("kill", 2):
            KillCommand.perform(runtime: runtime, all: flags.contains("--all") || flags.contains("-a"),
                                id: positional[0], signal: positional.count == 2 ? positional[1] : "SIGTERM")
        case ("delete", 1):
            await DeleteCommand.perform(runtime: runtime, force: flags.contains("--force") || flags.contains("-f"), id: positional[0])
        default: return false
        }
        return true
    }
}
