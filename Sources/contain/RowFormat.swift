/// `--format` of the listing commands (`ps`, `stats`), as docker reads it:
///
/// | format | output |
/// |---|---|
/// | (none) or `table` | the command's own table |
/// | `json` | one JSON object per row, one per line |
/// | `table {{.A}}\t{{.B}}` | a table of those columns, with headers, aligned |
/// | `{{.A}}: {{.B}}` | the template once per row, no header |
///
/// `\t` and `\n` typed in the format are a tab and a newline, as docker unescapes them; a
/// field path is rendered as inspect's `--format` renders it (an unknown field is an error).
enum RowFormat: Equatable {
    case table
    case json
    case template(String)
    case tableTemplate(String)

    init(_ text: String?) {
        guard let text else { self = .table; return }
        let unescaped = text.replacingOccurrences("\\t", "\t").replacingOccurrences("\\n", "\n")
        switch unescaped {
        case "", "table": self = .table
        case "json", "{{json .}}": self = .json
        default:
            if unescaped.hasPrefix("table ") { self = .tableTemplate(String(unescaped.dropFirst(6))) }
            else { self = .template(unescaped) }
        }
    }

    /// The rows in this format; `.table` gives nil (the caller prints its own table).
    /// `headers` names a field's column (`CPUPerc` → `CPU %`); others show the field's name.
    func render(_ rows: [JSON], headers: [String: String]) throws -> String? {
        switch self {
        case .table:
            return nil
        case .json:
            return rows.map { $0.text + "\n" }.joined()
        case .template(let template):
            return try rows.map { try InspectCommand.render(template, $0) + "\n" }.joined()
        case .tableTemplate(let template):
            let cells = template.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            let header = cells.map { cell -> String in
                var text = cell
                for (key, title) in headers { text = text.replacingOccurrences("{{.\(key)}}", title) }
                return text.replacingOccurrences("{{.", "").replacingOccurrences("}}", "").uppercased()
            }
            var table = [header]
            for row in rows { table.append(try cells.map { try InspectCommand.render($0, row) }) }
            return Table.render(table)
        }
    }
}

extension String {
    /// Every occurrence of `target` replaced (Foundation's name, without Foundation).
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = "", rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
