/// The progress lines a command writes on standard error: `progress: <current>[/<total>] [message]`, for
/// example `progress: 3/10 copying files` or `progress: 40`. Other lines are the program's own.
enum ProgressLine {
    static let prefix = "progress:"

    /// The progress a line reports, or nil when it is not a progress line.
    static func parse(_ line: String) -> (current: Double, total: Double?, message: String?)? {
        guard line.hasPrefix(prefix) else { return nil }
        let rest = line.dropFirst(prefix.count).drop { $0 == " " || $0 == "\t" }
        let figure = rest.prefix { $0 != " " && $0 != "\t" }
        let message = rest.dropFirst(figure.count).trimmingCharacters(in: .whitespaces)
        let parts = figure.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let current = parts.first.flatMap({ Double($0) }), current.isFinite else { return nil }
        var total: Double?
        if parts.count == 2 {
            guard let value = Double(parts[1]), value.isFinite else { return nil }
            total = value
        }
        return (current, total, message.isEmpty ? nil : message)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}

extension Set where Element == Character {
    fileprivate static let whitespaces: Set<Character> = [" ", "\t", "\r"]
}
