import KubeJSON

/// Renders values as the Go API server renders them in its messages: fmt's `%v`, `%q` and `%#v`, and
/// encoding/json. Clients compare these messages with what a real server says, so the spelling matters
/// down to how a float or a map is printed.
public enum GoText {
    /// Formatting walks values recursively; this keeps it far from the end of the stack for values built
    /// in code, which the parser's depth limit does not cover.
    static let maximumDepth = JSON.maximumDepth + 8

    /// `strconv.Quote`, which `%q` uses: printable characters stay, the rest are escaped.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{0B}": out += "\\v"
            default:
                if isPrintable(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hex(scalar.value, width: 2)
                } else if scalar.value < 0x10000 {
                    out += "\\u" + hex(scalar.value, width: 4)
                } else {
                    out += "\\U" + hex(scalar.value, width: 8)
                }
            }
        }
        return out + "\""
    }

    /// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
    public static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: false)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `%v` of a float64: the shortest digits that read back the same, in exponent form when the
    /// exponent is below -4 or at least 6 (so `1e+06`, `123456`, `0.0001`, `1e-05`).
    static func float(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        let (digits, point) = shortestDigits(value.magnitude)
        let sign = value < 0 ? "-" : ""
        let exponent = point - 1
        if exponent < -4 || exponent >= 6 {
            return sign + exponentForm(digits, exponent: exponent, minimumExponentDigits: 2)
        }
        return sign + fixedForm(digits, point: point)
    }

    /// encoding/json's spelling of a float64: fixed notation unless the magnitude is below 1e-6 or at
    /// least 1e21, and then `1e-7` rather than `1e-07`.
    static func jsonFloat(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        let (digits, point) = shortestDigits(value.magnitude)
        let sign = value < 0 ? "-" : ""
        if value.magnitude < 1e-6 || value.magnitude >= 1e21 {
            return sign + exponentForm(digits, exponent: point - 1, minimumExponentDigits: 1)
        }
        return sign + fixedForm(digits, point: point)
    }

    /// The shortest decimal digits of a positive finite value and where the decimal point goes:
    /// value = 0.DIGITS × 10^point. Swift's own description already holds the shortest digits that
    /// round-trip, as Go's formatting does; only the layout differs.
    private static func shortestDigits(_ value: Double) -> (digits: [Character], point: Int) {
        let text = value.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits: [Character] = []
        var point = 0
        var seenPoint = false
        for character in mantissa {
            if character == "." {
                seenPoint = true
            } else {
                digits.append(character)
                if !seenPoint { point += 1 }
            }
        }
        point += exponent
        while let first = digits.first, first == "0", digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while let last = digits.last, last == "0", digits.count > 1 { digits.removeLast() }
        return (digits, point)
    }

    private static func exponentForm(_ digits: [Character], exponent: Int, minimumExponentDigits: Int) -> String {
        var out = String(digits[0])
        if digits.count > 1 { out += "." + String(digits[1...]) }
        let magnitude = String(exponent.magnitude)
        out += exponent < 0 ? "e-" : "e+"
        out += String(repeating: "0", count: max(0, minimumExponentDigits - magnitude.count)) + magnitude
        return out
    }

    private static func fixedForm(_ digits: [Character], point: Int) -> String {
        if point <= 0 { return "0." + String(repeating: "0", count: -point) + String(digits) }
        if point >= digits.count { return String(digits) + String(repeating: "0", count: point - digits.count) }
        return String(digits[..<point]) + "." + String(digits[point...])
    }

    /// `%v` of a decoded number: integers as they are, floats as Go prints a float64.
    static func number(_ value: JSON) -> String {
        switch value {
        case .int(let i): return String(i)
        case .double(let d): return float(d)
        default: return goSyntax(value)
        }
    }

    /// `%#v` of a decoded JSON value as the API server holds it (`map[string]interface{}`,
    /// `[]interface{}`, string, int64, float64, bool, nil). Map keys print sorted, as fmt sorts them.
    static func goSyntax(_ value: JSON, depth: Int = 0) -> String {
        switch value {
        case .null: return "interface {}(nil)"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return float(d)
        case .string(let s): return quote(s)
        case .array(let elements):
            guard depth < maximumDepth else { return "[]interface {}{...}" }
            return "[]interface {}{" + elements.map { goSyntax($0, depth: depth + 1) }.joined(separator: ", ") + "}"
        case .object(let members):
            guard depth < maximumDepth else { return "map[string]interface {}{...}" }
            let entries = members.keys.sorted(by: goLess).map { key in
                quote(key) + ":" + goSyntax(members[key] ?? .null, depth: depth + 1)
            }
            return "map[string]interface {}{" + entries.joined(separator: ", ") + "}"
        }
    }

    /// `json.Marshal` of a decoded JSON value: object keys sorted, HTML-safe escaping.
    static func marshal(_ value: JSON, depth: Int = 0) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return jsonFloat(d)
        case .string: return value.text
        case .array(let elements):
            guard depth < maximumDepth else { return "[]" }
            return "[" + elements.map { marshal($0, depth: depth + 1) }.joined(separator: ",") + "]"
        case .object(let members):
            guard depth < maximumDepth else { return "{}" }
            let entries = members.keys.sorted(by: goLess).map { key in
                JSON.string(key).text + ":" + marshal(members[key] ?? .null, depth: depth + 1)
            }
            return "{" + entries.joined(separator: ",") + "}"
        }
    }

    /// Go compares strings byte by byte; Swift's `<` compares by Unicode ordering, which can differ.
    static func goLess(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
