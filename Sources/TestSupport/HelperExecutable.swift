import Foundation

/// A helper executable of this package's tests, built next to the test bundle by
/// `swift build --build-tests` (store-crash-helper, rootless-helper), or the path in the
/// environment variable given (to run a helper built elsewhere).
/// - Throws: ``HelperExecutableError`` listing where it looked.
public func helperExecutable(_ name: String, environment variable: String) throws -> String {
    if let explicit = ProcessInfo.processInfo.environment[variable] { return explicit }
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path,
        Bundle.main.bundleURL.deletingLastPathComponent().path,
        Bundle.main.bundleURL.path,
    ]
    for directory in candidates where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
        return directory + "/" + name
    }
    throw HelperExecutableError(description: "\(name) is not built next to the tests (looked in \(candidates)); run `swift build --build-tests`")
}

/// A test helper executable that is not where the tests look for it.
public struct HelperExecutableError: Error, CustomStringConvertible {
    public let description: String
}
