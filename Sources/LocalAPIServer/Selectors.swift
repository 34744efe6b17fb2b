import Foundation
import KubeJSON

/// A label selector as `?labelSelector=` spells it: equality (`a=b`, `a==b`, `a!=b`), sets
/// (`a in (x,y)`, `a notin (x)`), existence (`a`, `!a`) and numeric comparison (`a>1`, `a<1`).
public struct LabelSelector: Sendable, Equatable {
    public enum Operator: Sendable, Equatable { case equals, notEquals, `in`, notIn, exists, doesNotExist, greaterThan, lessThan }

    public struct Requirement: Sendable, Equatable {
        public var key: String
        public var op: Operator
        public var values: [String]

        func matches(_ labels: [String: String]) -> Bool {
            let value = labels[key]
            switch op {
            case .equals, .in: return value.map(values.contains) ?? false
            case .notEquals, .notIn: return value.map { !values.contains($0) } ?? true
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            case .greaterThan, .lessThan:
                guard let value, let number = Int64(value), let bound = values.first.flatMap({ Int64($0) }) else {
                    return false
                }
                return op == .greaterThan ? number > bound : number < bound
            }
        }
    }

    public var requirements: [Requirement]

    public var isEmpty: Bool { requirements.isEmpty }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { $0.matches(labels) }
    }

    public init(parsing text: String) throws(APIError) {
        var requirements: [Requirement] = []
        var scanner = SelectorScanner(text)
        scanner.skipSpaces()
        while !scanner.atEnd {
            requirements.append(try scanner.requirement())
            scanner.skipSpaces()
            if scanner.atEnd { break }
            guard scanner.take(",") else {
                throw APIError.badRequest("unable to parse requirement: found '\(scanner.rest)', expected: ','")
            }
            scanner.skipSpaces()
        }
        self.requirements = requirements
    }
}

/// Reads a label selector left to right.
private struct SelectorScanner {
    let characters: [Character]
    var index = 0

    init(_ text: String) { characters = Array(text) }

    var atEnd: Bool { index >= characters.count }
    var rest: String { String(characters[index...]) }

    mutating func skipSpaces() {
        while index < characters.count, characters[index] == " " { index += 1 }
    }

    mutating func take(_ literal: String) -> Bool {
        let chars = Array(literal)
        guard index + chars.count <= characters.count, Array(characters[index..<index + chars.count]) == chars else {
            return false
        }
        index += chars.count
        return true
    }

    static let separators: Set<Character> = [" ", ",", "=", "!", "(", ")", "<", ">"]

    mutating func word() -> String {
        let start = index
        while index < characters.count, !Self.separators.contains(characters[index]) { index += 1 }
        return String(characters[start..<index])
    }

    mutating func requirement() throws(APIError) -> LabelSelector.Requirement {
        if take("!") {
            skipSpaces()
            let key = word()
            try Self.validateKey(key)
            return .init(key: key, op: .doesNotExist, values: [])
        }
        let key = word()
        try Self.validateKey(key)
        skipSpaces()
        if atEnd || characters[index] == "," { return .init(key: key, op: .exists, values: []) }
        if take("==") || take("=") { return .init(key: key, op: .equals, values: [try value()]) }
        if take("!=") { return .init(key: key, op: .notEquals, values: [try value()]) }
        if take(">") { return .init(key: key, op: .greaterThan, values: [try number()]) }
        if take("<") { return .init(key: key, op: .lessThan, values: [try number()]) }
        let op = word()
        switch op {
        case "in": return .init(key: key, op: .in, values: try valueSet())
        case "notin": return .init(key: key, op: .notIn, values: try valueSet())
        default:
            throw APIError.badRequest(
                "unable to parse requirement: found '\(op)', expected: in, notin, =, ==, !=, gt, lt")
        }
    }

    mutating func value() throws(APIError) -> String {
        skipSpaces()
        let v = word()
        try Self.validateValue(v)
        return v
    }

    mutating func number() throws(APIError) -> String {
        let v = try value()
        guard Int64(v) != nil else {
            throw APIError.badRequest("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer")
        }
        return v
    }

    mutating func valueSet() throws(APIError) -> [String] {
        skipSpaces()
        guard take("(") else {
            throw APIError.badRequest("unable to parse requirement: found '\(rest)', expected: '('")
        }
        var values: [String] = []
        while true {
            skipSpaces()
            let v = word()
            try Self.validateValue(v)
            values.append(v)
            skipSpaces()
            if take(")") { break }
            guard take(",") else {
                throw APIError.badRequest("unable to parse requirement: found '\(rest)', expected: ',', ')'")
            }
        }
        return values
    }

    static func validateKey(_ key: String) throws(APIError) {
        if let problem = Names.qualifiedNameProblem(key) {
            throw APIError.badRequest("unable to parse requirement: invalid label key \"\(key)\": \(problem)")
        }
    }

    static func validateValue(_ value: String) throws(APIError) {
        if let problem = Names.labelValueProblem(value) {
            throw APIError.badRequest("unable to parse requirement: invalid label value: \"\(value)\": at key: \(problem)")
        }
    }
}

/// A field selector: `field=value`, `field==value` or `field!=value`, joined by commas.
public struct FieldSelector: Sendable, Equatable {
    public struct Requirement: Sendable, Equatable {
        public let field: String
        public var value: String
        public var negated: Bool
        /// `field` split into its steps once: every event of a watch is matched against it.
        let path: [String]

        public init(field: String, value: String, negated: Bool) {
            self.field = field
            self.value = value
            self.negated = negated
            path = FieldPath.components(field)
        }
    }

    public var requirements: [Requirement]

    public var isEmpty: Bool { requirements.isEmpty }

    /// Parses and checks each field against what the resource supports.
    public init(parsing text: String, supported: [String]) throws(APIError) {
        var requirements: [Requirement] = []
        for term in Self.splitTerms(text) where !term.isEmpty {
            let requirement: Requirement
            if let range = term.range(of: "!=") {
                requirement = .init(
                    field: String(term[..<range.lowerBound]), value: Self.unescape(term[range.upperBound...]), negated: true)
            } else if let range = term.range(of: "==") {
                requirement = .init(
                    field: String(term[..<range.lowerBound]), value: Self.unescape(term[range.upperBound...]), negated: false)
            } else if let range = term.range(of: "=") {
                requirement = .init(
                    field: String(term[..<range.lowerBound]), value: Self.unescape(term[range.upperBound...]), negated: false)
            } else {
                throw APIError.badRequest("invalid selector: '\(text)'; can't understand '\(term)'")
            }
            guard supported.contains(requirement.field) else {
                throw APIError.badRequest("field label not supported: \(requirement.field)")
            }
            requirements.append(requirement)
        }
        self.requirements = requirements
    }

    /// Splits on commas that a backslash does not escape.
    static func splitTerms(_ text: String) -> [String] {
        var terms: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped {
                current.append("\\")
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," {
                terms.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        terms.append(current)
        return terms
    }

    static func unescape(_ value: Substring) -> String {
        var result = ""
        var escaped = false
        for character in value {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// Whether an object's fields satisfy the selector; a missing field reads as the empty string.
    public func matches(_ object: JSON) -> Bool {
        requirements.allSatisfy { requirement in
            let actual = FieldPath.string(at: requirement.path, in: object)
            return (actual == requirement.value) != requirement.negated
        }
    }

    /// A field the selector pins to one value (its first `field=value`): an object without that value is never
    /// selected, so a watch with this selector need not be handed its changes.
    var pinnedField: Requirement? { requirements.first { !$0.negated } }
}

/// Reads dotted field paths (`status.phase`) and simple JSONPath (`.status.phase`, `.metadata.labels['a.b/c']`,
/// `.items[0]`), enough for printer columns and selectable fields.
enum FieldPath {
    static func components(_ path: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var chars = Array(path)
        if chars.first == "." { chars.removeFirst() }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "." {
                if !current.isEmpty { parts.append(current) }
                current = ""
            } else if c == "[" {
                if !current.isEmpty { parts.append(current) }
                current = ""
                var j = i + 1
                var inner = ""
                while j < chars.count, chars[j] != "]" {
                    inner.append(chars[j])
                    j += 1
                }
                if inner.hasPrefix("'") || inner.hasPrefix("\"") { inner = String(inner.dropFirst().dropLast()) }
                parts.append(inner)
                i = j
            } else {
                current.append(c)
            }
            i += 1
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }

    static func value(at path: String, in object: JSON) -> JSON? {
        value(at: components(path), in: object)
    }

    static func value(at path: [String], in object: JSON) -> JSON? {
        var current: JSON? = object
        for part in path {
            switch current {
            case .object(let o): current = o[part]
            case .array(let a):
                guard let i = Int(part), i >= 0, i < a.count else { return nil }
                current = a[i]
            default: return nil
            }
        }
        return current
    }

    /// The value as a field selector compares it: strings bare, other scalars in their JSON form.
    static func string(at path: [String], in object: JSON) -> String {
        switch value(at: path, in: object) {
        case .none, .null: return ""
        case .string(let s): return s
        case .some(let other): return other.text
        }
    }
}
