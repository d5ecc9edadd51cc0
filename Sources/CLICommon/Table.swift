/// Lays out rows as Go's `text/tabwriter` does with runc's settings
/// (`tabwriter.NewWriter(out, 12, 1, 3, ' ', 0)`): every column but the last is padded to
/// the widest cell plus 3, at least 12; the last column is not padded. Widths count
/// Unicode scalars, as tabwriter counts runes.
package func tabwriterTable(_ rows: [[String]]) -> String {
    let columns = rows.map(\.count).max() ?? 0
    var widths = [Int](repeating: 12, count: max(0, columns - 1))
    for row in rows {
        for (column, cell) in row.enumerated() where column < row.count - 1 {
            widths[column] = max(widths[column], cell.unicodeScalars.count + 3)
        }
    }
    var out = ""
    for row in rows {
        for (column, cell) in row.enumerated() {
            if column < row.count - 1 {
                out += cell + String(repeating: " ", count: widths[column] - cell.unicodeScalars.count)
            } else {
                out += cell
            }
        }
        out += "\n"
    }
    return out
}
