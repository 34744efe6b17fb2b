import KubeJSON

/// Equality as Go sees decoded JSON values, which is stricter than `JSON.==`: an int64 and a float64
/// are different values to `reflect.DeepEqual`, and enum matching converts between them.
enum GoEquality {
    /// `reflect.DeepEqual` on `interface{}` values decoded from JSON.
    static func deepEqual(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)):
            return x.count == y.count && zip(x, y).allSatisfy { deepEqual($0, $1) }
        case let (.object(x), .object(y)):
            guard x.count == y.count else { return false }
            for (key, value) in x {
                guard let other = y[key], deepEqual(value, other) else { return false }
            }
            return true
        default:
            return false
        }
    }

    /// kube-openapi's enum check: the value is converted to the enum entry's Go type when Go allows
    /// the conversion, then compared with `reflect.DeepEqual`. Go converts float64 to int64 by
    /// truncation and int64 to string as a code point, and so does this. Nil matches nothing.
    static func enumMatches(_ value: JSON, _ entry: JSON) -> Bool {
        switch (value, entry) {
        case (.null, _), (_, .null): return false
        case let (.int(x), .double(y)): return Double(x) == y
        case let (.double(x), .int(y)): return OpenAPIValidator.goInt64(x) == y
        case let (.int(x), .string(y)):
            let scalar = (x >= 0 && x <= Int64(UInt32.max) ? Unicode.Scalar(UInt32(x)) : nil) ?? "\u{FFFD}"
            return String(Character(scalar)) == y
        default: return deepEqual(value, entry)
        }
    }
}
