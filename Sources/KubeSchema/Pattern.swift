/// `pattern` matching. The server uses Go's RE2 regular expressions; here Swift's `Regex` does the
/// work, set up to behave like them where it matters for schemas: a match anywhere in the string
/// (patterns anchor themselves with `^`/`$`), `.` and counts over Unicode scalars rather than
/// grapheme clusters, ASCII-only `\d`, `\w`, `\s`, and Go's one-letter `\pL` classes. RE2 has no
/// look-around or back-references, so patterns using them are refused, as the server refuses them.
/// Remaining differences are rare (e.g. `$` before a final newline, possessive quantifiers).
///
/// `Regex` is not `Sendable`, so compiled patterns are never stored in a schema: each validation
/// compiles the patterns it meets once, in a cache of its own.
final class PatternCache {
    private var compiled: [String: Regex<AnyRegexOutput>] = [:]

    /// Whether `text` matches `pattern`; nil when the pattern does not compile (schemas holding such
    /// a pattern are refused when parsed, so this does not arise in practice).
    func matches(_ text: String, pattern: String) -> Bool? {
        if let regex = compiled[pattern] { return text.contains(regex) }
        guard let regex = try? Self.compile(pattern) else { return nil }
        compiled[pattern] = regex
        return text.contains(regex)
    }

    static func compile(_ pattern: String) throws -> Regex<AnyRegexOutput> {
        try Regex(swiftSyntax(pattern)).matchingSemantics(.unicodeScalar).asciiOnlyCharacterClasses()
    }

    /// Why the server would refuse `pattern`, worded as Go's regexp package words it where the cause
    /// is a common one; nil when the pattern is fine.
    static func syntaxError(_ pattern: String) -> String? {
        for unsupported in ["(?=", "(?!", "(?<=", "(?<!"] where pattern.contains(unsupported) {
            return "error parsing regexp: invalid or unsupported Perl syntax: `\(unsupported)`"
        }
        if let reference = backReference(in: pattern) {
            return "error parsing regexp: invalid escape sequence: `\(reference)`"
        }
        do {
            _ = try compile(pattern)
            return nil
        } catch {
            switch "\(error)" {
            case "expected ')'": return "error parsing regexp: missing closing ): `\(pattern)`"
            case "closing ')' does not balance any groups openings": return "error parsing regexp: unexpected ): `\(pattern)`"
            case let other: return "error parsing regexp: \(other): `\(pattern)`"
            }
        }
    }

    /// Go writes Unicode classes with one-letter names as `\pL`; Swift wants `\p{L}`.
    private static func swiftSyntax(_ pattern: String) -> String {
        var out = ""
        var rest = Substring(pattern)
        while let character = rest.popFirst() {
            guard character == "\\", let next = rest.popFirst() else {
                out.append(character)
                continue
            }
            if next == "p" || next == "P", let name = rest.first, name != "{" {
                rest.removeFirst()
                out += "\\\(next){\(name)}"
            } else {
                out += "\\\(next)"
            }
        }
        return out
    }

    /// A `\1`-style back-reference outside a character class, which RE2 does not have.
    private static func backReference(in pattern: String) -> String? {
        var escaped = false
        var inClass = false
        for character in pattern {
            if escaped {
                if !inClass, let digit = character.wholeNumberValue, digit > 0, character.isASCII { return "\\\(character)" }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "[" {
                inClass = true
            } else if character == "]" {
                inClass = false
            }
        }
        return nil
    }
}
