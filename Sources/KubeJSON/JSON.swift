import OrderedCollections

/// The members of a JSON object, in the order they were written.
public typealias JSONObject = OrderedDictionary<String, JSON>

/// A JSON value that keeps the order of object members, so that what the API server stores and
/// answers reads the way it was written.
///
/// Integers and floating-point numbers are kept apart because structural schemas tell `integer`
/// from `number`; the two compare equal when they denote the same number.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.int(a), .double(b)), let (.double(b), .int(a)): return Double(a) == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            // Member order carries no meaning for equality.
            guard a.count == b.count else { return false }
            for (key, value) in a where b[key] != value { return false }
            return true
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .int(let i): hasher.combine(Double(i))
        case .double(let d): hasher.combine(d)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o):
            hasher.combine(o.count)
            for key in o.keys.sorted() { hasher.combine(key) }
        }
    }
}

// MARK: - Reading values

extension JSON {
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }

    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    /// The value as a whole number, also when written as a float without a fraction.
    public var int: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var array: [JSON]? { if case .array(let a) = self { return a } else { return nil } }

    public var object: JSONObject? { if case .object(let o) = self { return o } else { return nil } }

    /// The member `key` of an object; `nil` for a missing member or a value that is not an object.
    public subscript(key: String) -> JSON? {
        get { object?[key] }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    /// The value at a path of object members.
    public subscript(path path: [String]) -> JSON? {
        var current: JSON? = self
        for key in path { current = current?[key] }
        return current
    }

    /// Sets the value at a path of object members, creating objects on the way.
    public mutating func set(path: ArraySlice<String>, to value: JSON?) {
        guard let first = path.first else {
            if let value { self = value }
            return
        }
        var object = self.object ?? [:]
        if path.count == 1 {
            object[first] = value
        } else {
            var child = object[first] ?? .object([:])
            child.set(path: path.dropFirst(), to: value)
            object[first] = child
        }
        self = .object(object)
    }

    /// The JSON type name as structural schemas spell it.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(JSONObject(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .double(value) }
}
