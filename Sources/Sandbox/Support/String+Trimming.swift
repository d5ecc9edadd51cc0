extension String {
    /// The string without leading and trailing spaces, tabs and newlines: what Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)` gives for the kernel's and the
    /// spec's ASCII text (Sandbox imports only FoundationEssentials, which lacks it).
    var trimmed: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
