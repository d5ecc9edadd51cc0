import Foundation

/// A per-test temporary directory, removed when the body returns or throws.
/// - Parameters:
///   - prefix: a readable prefix for the directory name.
///   - body: receives the absolute path.
/// - Returns: what `body` returns.
public func withTemporaryDirectory<R>(
    prefix: String = "caisson-test",
    _ body: (String) async throws -> R
) async throws -> R {
    let path = try makeTemporaryDirectory(prefix: prefix)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Creates a fresh directory under the system temporary directory.
/// - Parameter prefix: a readable prefix for the directory name.
/// - Returns: the absolute path.
/// - Throws: if the directory cannot be created.
public func makeTemporaryDirectory(prefix: String = "caisson-test") throws -> String {
    let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
    guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw POSIXError(.init(rawValue: errno) ?? .EIO)
    }
    return String(cString: result)
}
