import ArgumentParser
import CLICommon
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// `caisson`: runc's command line over Sandbox, and the front door of every other command.
///
/// This executable links only Sandbox and OCISpec (no swift-crypto, NIO, libarchive or
/// nftables, and FoundationEssentials instead of Foundation), because engines run it
/// three or more times per container and its start-up is part of theirs. The image,
/// container-from-image and network commands live in `caisson-engine`, installed next to
/// it; `caisson` hands those command lines over unchanged (see ``EngineHandOff``).
@main
struct CaissonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "caisson",
        abstract: "Run OCI containers; runc's command line.",
        discussion: """
            Images, containers made from images and networks (run by caisson-engine, \
            installed next to caisson):
              run IMAGE [CMD…]   pull/push IMAGE   images   rmi   tag   login   logout
              ps (without an id)   stop   rm   logs   network ls|create|rm|prune
            See `caisson COMMAND --help`.
            """,
        version: "0.1.0",
        subcommands: [
            SpecCommand.self, CreateCommand.self, StartCommand.self, StateCommand.self, KillCommand.self,
            DeleteCommand.self, RunCommand.self, ListCommand.self, ExecCommand.self, PsCommand.self,
            FeaturesCommand.self, PauseCommand.self, ResumeCommand.self, UpdateCommand.self, EventsCommand.self,
        ])

    @OptionGroup var global: GlobalOptions

    /// The hot lifecycle commands skip ArgumentParser (see ``FastPath``); engine commands go
    /// to caisson-engine; everything else is parsed and run as ArgumentParser's own `main` does.
    ///
    /// `main` is synchronous: the command runs on this thread (``CurrentThreadExecutor``),
    /// not on Swift's thread pool, which would cost a thread and two hops per run.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let executor = CurrentThreadExecutor()
        // CAISSON_NO_FAST_PATH=1 forces ArgumentParser (the tests compare both paths).
        if getenv("CAISSON_NO_FAST_PATH") == nil, executor.run({ await FastPath.run(arguments) }) { return }
        // `run IMAGE …` and runc's `run ID` share a name (see RunDispatch).
        let rewritten = RunDispatch.rewrite(arguments)
        if EngineHandOff.isEngineCommand(rewritten) { EngineHandOff.exec(rewritten) }
        let failure: ErrorBox? = executor.run {
            do {
                var command = try parseAsRoot(rewritten)
                if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
                return nil
            } catch {
                return ErrorBox(error: error)
            }
        }
        if let failure { exit(withError: failure.error) }
    }

    /// An error carried out of the executor's task (ArgumentParser's errors are not Sendable).
    struct ErrorBox: @unchecked Sendable {
        let error: any Error
    }
}

/// Hands a command line that is not runc's to `caisson-engine`, next to this executable.
enum EngineHandOff {
    /// Commands of caisson-engine (`run-image` is `run IMAGE` after ``RunDispatch``).
    static let commands: Set<String> = [
        "run-image", "stop", "rm", "logs", "network", "pull", "push", "images", "rmi", "tag", "login", "logout",
    ]

    /// The command word and the arguments after it, past runc's global options.
    static func command(_ arguments: [String]) -> (name: String, rest: ArraySlice<String>)? {
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-") {
            index += ["--root", "--log", "--log-format"].contains(arguments[index]) ? 2 : 1
        }
        guard index < arguments.count else { return nil }
        return (arguments[index], arguments[(index + 1)...])
    }

    static func isEngineCommand(_ arguments: [String]) -> Bool {
        guard let (name, rest) = command(arguments) else { return false }
        if commands.contains(name) { return true }
        if name == "help", let topic = rest.first { return commands.contains(topic) }
        // `ps ID` is runc's; `ps` without an id lists the containers made from images.
        if name == "ps" { return !psHasContainerID(rest) }
        return false
    }

    private static func psHasContainerID(_ rest: ArraySlice<String>) -> Bool {
        var skip = false
        for argument in rest {
            if skip { skip = false; continue }
            if ["-f", "--format", "--store"].contains(argument) { skip = true; continue }
            if argument == "--help" || argument == "-h" { return true }  // runc's ps help
            if !argument.hasPrefix("-") { return true }
        }
        return false
    }

    /// Replaces this process with caisson-engine, same arguments; exits 1 if it cannot.
    static func exec(_ arguments: [String]) -> Never {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, Int(PATH_MAX))
        guard length > 0 else { fail("cannot find this executable (/proc/self/exe): \(String(cString: strerror(errno)))") }
        let me = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let engine = String(me[..<(me.lastIndex(of: "/") ?? me.startIndex)]) + "/caisson-engine"
        let argv = ["caisson"] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        execv(engine, &cArgs)
        fail("\(command(arguments)?.name ?? "caisson"): cannot run \(engine) (\(String(cString: strerror(errno)))): image, container-from-image and network commands need caisson-engine installed next to caisson")
    }
}
