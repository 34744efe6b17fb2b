/// Decodes `Decodable` models from JSON text through `JSON.parse`: about twice as fast as Foundation's
/// JSONDecoder on Kubernetes objects (which the client decodes for every watch event and response), and a
/// `JSON` member (a task's payload, say) is taken as parsed instead of being rebuilt through a container.
///
/// Numbers: an integer member decodes as any integer type it fits, or as a floating-point type; a
/// floating-point member decodes as an integer type only when it is whole. Errors are `DecodingError`s with
/// the coding path, as Foundation's.
public enum JSONValueDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let value: JSON
        do {
            value = try JSON.parse(bytes)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "The given data was not valid JSON: \(error)", underlyingError: error))
        }
        return try decode(type, from: value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from value: JSON) throws -> T {
        try Scalar.decode(type, value, [])
    }
}

private struct ValueDecoder: Decoder {
    let value: JSON
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: codingPath, debugDescription: "Expected an object but found \(value.kindName)."))
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "Expected an array but found \(value.kindName)."))
        }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath)
    }
}

/// The scalar conversions every container shares.
private enum Scalar {
    static func bool(_ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        if case .bool(let bool) = value { return bool }
        throw mismatch(Bool.self, value, path())
    }

    static func string(_ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> String {
        if case .string(let string) = value { return string }
        throw mismatch(String.self, value, path())
    }

    static func double(_ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> Double {
        switch value {
        case .double(let double): return double
        case .int(let int): return Double(int)
        default: throw mismatch(Double.self, value, path())
        }
    }

    static func integer<T: FixedWidthInteger>(_ type: T.Type, _ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> T {
        switch value {
        case .int(let int):
            if let exact = T(exactly: int) { return exact }
        case .double(let double):
            if let exact = T(exactly: double) { return exact }
        default:
            throw mismatch(T.self, value, path())
        }
        throw DecodingError.dataCorrupted(.init(codingPath: path(), debugDescription: "Number \(value) does not fit in \(T.self)."))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> T {
        // The common leaves without a nested decoder; JSON as it was parsed.
        if T.self == String.self { return try string(value, path()) as! T }
        if T.self == Int.self { return try integer(Int.self, value, path()) as! T }
        if T.self == Int64.self { return try integer(Int64.self, value, path()) as! T }
        if T.self == Bool.self { return try bool(value, path()) as! T }
        if T.self == Double.self { return try double(value, path()) as! T }
        // A comparison of metatypes, where `value as? T` was a dynamic cast (with its metadata lookups) for every
        // nested value decoded: 8 % of the decoding time in profiles of conductor dev and the load generator.
        if T.self == JSON.self { return value as! T }
        if T.self == [String: String].self { return try stringMap(value, path()) as! T }
        return try T(from: ValueDecoder(value: value, codingPath: path()))
    }

    /// Labels, annotations and the like, read straight from the object: Dictionary's own `init(from:)` asks for
    /// `allKeys`, casts them, and looks each key up again through a container.
    static func stringMap(_ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> [String: String] {
        guard case .object(let members) = value else {
            throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: path(), debugDescription: "Expected an object but found \(value.kindName)."))
        }
        var map = [String: String](minimumCapacity: members.count)
        for (key, member) in members {
            guard case .string(let string) = member else { throw mismatch(String.self, member, path() + [IndexKey(stringValue: key)]) }
            map[key] = string
        }
        return map
    }

    static func mismatch(_ type: Any.Type, _ value: JSON, _ path: @autoclosure () -> [any CodingKey]) -> DecodingError {
        if case .null = value {
            return DecodingError.valueNotFound(type, .init(codingPath: path(), debugDescription: "Expected \(type) value but found null instead."))
        }
        return DecodingError.typeMismatch(type, .init(codingPath: path(), debugDescription: "Expected to decode \(type) but found \(value.kindName) instead."))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: JSONObject
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSON {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
        }
        return value
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try member(key) { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Scalar.bool(member(key), path(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try Scalar.string(member(key), path(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Scalar.double(member(key), path(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try Scalar.double(member(key), path(key))) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Scalar.integer(type, member(key), path(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try Scalar.integer(type, member(key), path(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try Scalar.integer(type, member(key), path(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try Scalar.integer(type, member(key), path(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try Scalar.integer(type, member(key), path(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try Scalar.integer(type, member(key), path(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try Scalar.integer(type, member(key), path(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try Scalar.integer(type, member(key), path(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try Scalar.integer(type, member(key), path(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try Scalar.integer(type, member(key), path(key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try Scalar.decode(type, member(key), path(key))
    }

    // The protocol's own `decodeIfPresent` looks the key up three times (`contains`, `decodeNil`, `decode`);
    // an optional member costs one lookup here. Absent or null is nil, as there.

    private func present(_ key: Key) -> JSON? {
        guard let value = members[key.stringValue] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present(key).map { try Scalar.bool($0, path(key)) } }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present(key).map { try Scalar.string($0, path(key)) } }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try present(key).map { try Scalar.double($0, path(key)) } }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try present(key).map { Float(try Scalar.double($0, path(key))) } }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try present(key).map { try Scalar.integer(type, $0, path(key)) } }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = present(key) else { return nil }
        return try Scalar.decode(type, value, path(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: member(key), codingPath: path(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: member(key), codingPath: path(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: members["super"] ?? .null, codingPath: codingPath + [IndexKey(stringValue: "super")])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: members[key.stringValue] ?? .null, codingPath: path(key))
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSON]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(elements: [JSON], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// The next element and its index. Its coding path is made only where it is used (a nested decoder carries it,
    /// a scalar's error reports it): an array of strings costs no allocation an element.
    private mutating func next(_ type: Any.Type) throws -> (JSON, index: Int) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: path(at: currentIndex), debugDescription: "Unkeyed container is at end."))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], currentIndex)
    }

    private func path(at index: Int) -> [any CodingKey] { codingPath + [IndexKey(index: index)] }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .null = elements[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let (value, index) = try next(type); return try Scalar.bool(value, path(at: index)) }
    mutating func decode(_ type: String.Type) throws -> String { let (value, index) = try next(type); return try Scalar.string(value, path(at: index)) }
    mutating func decode(_ type: Double.Type) throws -> Double { let (value, index) = try next(type); return try Scalar.double(value, path(at: index)) }
    mutating func decode(_ type: Float.Type) throws -> Float { let (value, index) = try next(type); return Float(try Scalar.double(value, path(at: index))) }
    mutating func decode(_ type: Int.Type) throws -> Int { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let (value, index) = try next(type); return try Scalar.integer(type, value, path(at: index)) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, index) = try next(type)
        return try Scalar.decode(type, value, path(at: index))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, index) = try next([String: Any].self)
        return try ValueDecoder(value: value, codingPath: path(at: index)).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, index) = try next([Any].self)
        return try ValueDecoder(value: value, codingPath: path(at: index)).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, index) = try next(Any.self)
        return ValueDecoder(value: value, codingPath: path(at: index))
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSON
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool { try Scalar.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try Scalar.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Scalar.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try Scalar.double(value, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try Scalar.integer(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Scalar.integer(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Scalar.integer(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Scalar.integer(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Scalar.integer(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try Scalar.integer(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try Scalar.integer(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try Scalar.integer(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try Scalar.integer(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try Scalar.integer(type, value, codingPath) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try Scalar.decode(type, value, codingPath)
    }
}

/// A coding path's array index, a string map's key, or the `super` member; shared by the decoder and the encoder.
struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init(intValue: Int) {
        stringValue = "Index \(intValue)"
        self.intValue = intValue
    }

    init(index: Int) { self.init(intValue: index) }
}

extension JSON {
    /// The JSON type's name, for error messages.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
