import Foundation

// Spec: distribution-spec v1.1 spec.md#error-codes
/// The `{"errors": [{"code", "message", "detail"}]}` body of a failed registry response.
struct DistributionErrorBody: Decodable, Sendable {
    struct Entry: Decodable, Sendable {
        var code: String?
        var message: String?
    }

    var errors: [Entry]?

    /// Parses a body; `nil` if it is not the error format.
    static func parse(_ data: Data) -> DistributionErrorBody? {
        try? JSONDecoder().decode(DistributionErrorBody.self, from: data)
    }

    /// `CODE: message; CODE: message`, each message cut to 200 characters.
    var summary: String {
        (errors ?? []).map { entry in
            let message = String((entry.message ?? "").prefix(200))
            return [entry.code, message.isEmpty ? nil : message].compactMap { $0 }.joined(separator: ": ")
        }.joined(separator: "; ")
    }

    var codes: [String] { (errors ?? []).compactMap(\.code) }
}
