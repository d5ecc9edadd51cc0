#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which `run` a command line means: runc's `run [--bundle B] ID` or `run IMAGE [CMD…]`.
///
/// runc's form is chosen by `--bundle`/`-b`, or by a single argument with a `config.json`
/// in the current directory (runc's default bundle); flags only the image form has
/// (`--rm`, `-e`, `-v`, `-p`, `-it`, …) or more than one argument choose the image form.
enum RunDispatch {
    static let imageFlagsWithValue: Set<String> = ["-e", "--env", "-v", "--volume", "-p", "--publish", "-m", "--memory", "--cpus",
                                                   "--pids-limit", "-u", "--user", "--name", "--network", "-w", "--workdir",
                                                   "--entrypoint", "--hostname", "--store"]
    static let imageFlags: Set<String> = ["--rm", "-i", "-t", "-it", "-ti", "--interactive", "--tty", "--read-only"]
    static let runcFlagsWithValue: Set<String> = ["--pid-file", "--console-socket", "--preserve-fds"]

    /// Rewrites `… run …` to `… run-image …` when the arguments after `run` are the image form.
    static func rewrite(_ arguments: [String]) -> [String] {
        // Skip the global options to find the subcommand.
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-") {
            let option = arguments[index]
            index += ["--root", "--log", "--log-format"].contains(option) ? 2 : 1
        }
        guard index < arguments.count, arguments[index] == "run" else { return arguments }
        let rest = arguments[(index + 1)...]
        var positional: [String] = []
        var skip = false
        for argument in rest {
            if skip { skip = false; continue }
            if argument == "-b" || argument == "--bundle" || argument.hasPrefix("--bundle=") { return arguments }
            if imageFlags.contains(argument) || imageFlagsWithValue.contains(argument)
                || imageFlagsWithValue.contains(where: { argument.hasPrefix($0 + "=") }) {
                return image(arguments, at: index)
            }
            if runcFlagsWithValue.contains(argument) { skip = true; continue }
            if argument.hasPrefix("-") { continue }
            positional.append(argument)
        }
        if positional.count > 1 { return image(arguments, at: index) }
        if positional.count == 1, !FileManager.default.fileExists(atPath: "config.json") { return image(arguments, at: index) }
        return arguments
    }

    private static func image(_ arguments: [String], at index: Int) -> [String] {
        var rewritten = arguments
        rewritten[index] = "run-image"
        return rewritten
    }
}
