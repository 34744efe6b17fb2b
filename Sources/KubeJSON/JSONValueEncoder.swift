import Foundation

/// Encodes `Encodable` models to JSON text through a `JSON` value and `JSON.serialized()`: the other half of
/// `JSONValueDecoder`, so that what the client writes is escaped as the API server writes (HTML-safe, as Go's
/// encoding/json) and its members come in the order the model encodes them. A `JSON` member (a task's result,
/// say) is taken whole instead of being rebuilt through containers.
///
/// What Foundation's JSONEncoder does by default, it does too: `Data` as base64, `URL` as its absolute string,
/// `Date` as its own `encode(to:)` writes it; a nested value that encodes nothing is `{}`. A number JSON cannot
/// hold (infinity, NaN, an unsigned integer above Int64.max) is an `EncodingError` naming its path.
public enum JSONValueEncoder {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encodeValue(value).serialized()
    }

    public static func encodeValue<T: Encodable>(_ value: T) throws -> JSON {
        guard let encoded = try Leaf.encode(value, []) else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return encoded.json
    }
}

/// What has been encoded so far. An object or an array stays open (a reference) until the whole value is done, as a
/// model may go on writing into a container after it nested another one in it.
private enum Partial {
    case value(JSON)
    case object(ObjectBuilder)
    case array(ArrayBuilder)

    var json: JSON {
        switch self {
        case .value(let value): value
        case .object(let object): object.json
        case .array(let array): array.json
        }
    }
}

private final class ObjectBuilder {
    var members: [(key: String, value: Partial)] = []

    /// A key written twice keeps its last value, as Foundation's encoder does.
    var json: JSON {
        .object(JSONObject(members.lazy.map { ($0.key, $0.value.json) }, uniquingKeysWith: { _, last in last }))
    }
}

private final class ArrayBuilder {
    var elements: [Partial] = []

    var json: JSON { .array(elements.map(\.json)) }
}

/// The scalar conversions every container shares, and the way into a nested value.
private enum Leaf {
    static func double(_ value: Double, _ path: @autoclosure () -> [any CodingKey]) throws -> JSON {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "\(value) is not a JSON number."))
        }
        return .double(value)
    }

    /// A Float written as its own shortest digits (0.1, not 0.10000000149011612), as Foundation writes it.
    static func float(_ value: Float, _ path: @autoclosure () -> [any CodingKey]) throws -> JSON {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "\(value) is not a JSON number."))
        }
        return .double(Double(value.description) ?? Double(value))
    }

    static func integer<T: FixedWidthInteger>(_ value: T, _ path: @autoclosure () -> [any CodingKey]) throws -> JSON {
        guard let exact = Int64(exactly: value) else {
            throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "\(value) does not fit in a JSON integer (Int64)."))
        }
        return .int(exact)
    }

    /// nil: the value encoded nothing.
    static func encode<T: Encodable>(_ value: T, _ path: @autoclosure () -> [any CodingKey]) throws -> Partial? {
        // The common leaves without a nested encoder; JSON as it is.
        if T.self == String.self { return .value(.string(value as! String)) }
        if T.self == Int.self { return .value(.int(Int64(value as! Int))) }
        if T.self == Int64.self { return .value(.int(value as! Int64)) }
        if T.self == Bool.self { return .value(.bool(value as! Bool)) }
        if T.self == Double.self { return .value(try double(value as! Double, path())) }
        if T.self == JSON.self { return .value(value as! JSON) }
        if T.self == Data.self { return .value(.string((value as! Data).base64EncodedString())) }
        if T.self == URL.self { return .value(.string((value as! URL).absoluteString)) }
        let encoder = ValueEncoder(codingPath: path())
        try value.encode(to: encoder)
        return encoder.result
    }

    static func nested<T: Encodable>(_ value: T, _ path: @autoclosure () -> [any CodingKey]) throws -> Partial {
        try encode(value, path()) ?? .value(.object([:]))
    }
}

/// A class: the containers it hands out write into what it holds.
private final class ValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var result: Partial?

    init(codingPath: [any CodingKey]) {
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: ObjectBuilder
        if case .object(let open) = result {
            object = open
        } else {
            object = ObjectBuilder()
            result = .object(object)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array: ArrayBuilder
        if case .array(let open) = result {
            array = open
        } else {
            array = ArrayBuilder()
            result = .array(array)
        }
        return UnkeyedContainer(array: array, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: ObjectBuilder
    let codingPath: [any CodingKey]

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    private func set(_ value: JSON, _ key: Key) { object.members.append((key.stringValue, .value(value))) }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(try Leaf.double(value, path(key)), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(try Leaf.float(value, path(key)), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(.int(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(.int(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(.int(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(.int(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(.int(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(try Leaf.integer(value, path(key)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.int(Int64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.int(Int64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(.int(Int64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(try Leaf.integer(value, path(key)), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.members.append((key.stringValue, try Leaf.nested(value, path(key))))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBuilder()
        object.members.append((key.stringValue, .object(nested)))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, codingPath: path(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayBuilder()
        object.members.append((key.stringValue, .array(nested)))
        return UnkeyedContainer(array: nested, codingPath: path(key))
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super", path: codingPath + [IndexKey(stringValue: "super")]) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue, path: path(key)) }

    /// An encoder whose value becomes the member `name` once the whole value is done.
    private func superEncoder(named name: String, path: [any CodingKey]) -> any Encoder {
        let encoder = ValueEncoder(codingPath: path)
        let object = ObjectBuilder()
        encoder.result = .object(object)
        self.object.members.append((name, .object(object)))
        return encoder
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let array: ArrayBuilder
    let codingPath: [any CodingKey]
    var count: Int { array.elements.count }

    private var nextPath: [any CodingKey] { codingPath + [IndexKey(intValue: count)] }

    private func append(_ value: JSON) { array.elements.append(.value(value)) }

    mutating func encodeNil() throws { append(.null) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(try Leaf.double(value, nextPath)) }
    mutating func encode(_ value: Float) throws { append(try Leaf.float(value, nextPath)) }
    mutating func encode(_ value: Int) throws { append(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { append(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { append(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { append(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { append(.int(value)) }
    mutating func encode(_ value: UInt) throws { append(try Leaf.integer(value, nextPath)) }
    mutating func encode(_ value: UInt8) throws { append(.int(Int64(value))) }
    mutating func encode(_ value: UInt16) throws { append(.int(Int64(value))) }
    mutating func encode(_ value: UInt32) throws { append(.int(Int64(value))) }
    mutating func encode(_ value: UInt64) throws { append(try Leaf.integer(value, nextPath)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        array.elements.append(try Leaf.nested(value, nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = nextPath
        let nested = ObjectBuilder()
        array.elements.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = nextPath
        let nested = ArrayBuilder()
        array.elements.append(.array(nested))
        return UnkeyedContainer(array: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = ValueEncoder(codingPath: nextPath)
        let object = ObjectBuilder()
        encoder.result = .object(object)
        array.elements.append(.object(object))
        return encoder
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ value: JSON) { encoder.result = .value(value) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try Leaf.double(value, codingPath)) }
    mutating func encode(_ value: Float) throws { set(try Leaf.float(value, codingPath)) }
    mutating func encode(_ value: Int) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { set(.int(value)) }
    mutating func encode(_ value: UInt) throws { set(try Leaf.integer(value, codingPath)) }
    mutating func encode(_ value: UInt8) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: UInt16) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: UInt32) throws { set(.int(Int64(value))) }
    mutating func encode(_ value: UInt64) throws { set(try Leaf.integer(value, codingPath)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        encoder.result = try Leaf.nested(value, codingPath)
    }
}
