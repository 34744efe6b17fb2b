import Foundation

/// Encodes `Encodable` models to JSON text through a `JSON` value and `JSON.serialized()`: the other half of
/// `JSONValueDecoder`, so that what the client writes is escaped as the API server writes (HTML-safe, as Go's
/// encoding/json) and its members come in the order the model encodes them. A `JSON` member (a task's result,
/// say) is taken whole instead of being rebuilt through containers.
///
/// What Foundation's JSONEncoder does by default, it does too: `Data` as base64, `URL` as its absolute string,
/// `Date` as its own `encode(to:)` writes it; a nested value that encodes nothing is `{}`; a value is taken when its
/// `encode(to:)` returns (what a model writes into a container it kept past that is not seen). A number JSON cannot
/// hold (infinity, NaN, an unsigned integer above Int64.max) is an `EncodingError` naming its path.
public enum JSONValueEncoder {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encodeValue(value).serialized()
    }

    public static func encodeValue<T: Encodable>(_ value: T) throws -> JSON {
        guard let encoded = try Leaf.encode(value, in: CodingPath(encoder: nil), at: nil) else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return encoded
    }
}

/// What an encoder's value is so far. An object or an array stays open (a reference) until the model's
/// `encode(to:)` returns, as a model may go on writing into a container after it nested another one in it.
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

/// An object as it is written: its members in order, finished values in place; a container nested in it has its
/// place held and is filled in at the end (usually there is none: a nested model's value comes finished).
private final class ObjectBuilder {
    private var members = JSONObject()
    private var nested: [(key: String, value: Partial)] = []

    /// A key written twice keeps its first place and its last value, as with Foundation's encoder.
    func set(_ key: String, _ value: JSON) {
        members[key] = value
        if !nested.isEmpty { nested.removeAll { $0.key == key } }
    }

    func nest(_ key: String, _ value: Partial) {
        set(key, .null)
        nested.append((key, value))
    }

    var json: JSON {
        var object = members
        for (key, value) in nested { object[key] = value.json }
        return .object(object)
    }
}

/// An array as it is written; like `ObjectBuilder`, with the places of nested containers filled in at the end.
private final class ArrayBuilder {
    private(set) var elements: [JSON] = []
    private var nested: [(index: Int, value: Partial)] = []

    func append(_ value: JSON) { elements.append(value) }

    func nest(_ value: Partial) {
        nested.append((elements.count, value))
        elements.append(.null)
    }

    var json: JSON {
        var array = elements
        for (index, value) in nested { array[index] = value.json }
        return .array(array)
    }
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

    /// nil: the value encoded nothing. `key`: where the value sits in the container at `parent`.
    static func encode<T: Encodable>(_ value: T, in parent: CodingPath, at key: (any CodingKey)?) throws -> JSON? {
        // The common leaves without a nested encoder; JSON as it is.
        if T.self == String.self { return .string(value as! String) }
        if T.self == Int.self { return .int(Int64(value as! Int)) }
        if T.self == Int64.self { return .int(value as! Int64) }
        if T.self == Bool.self { return .bool(value as! Bool) }
        if T.self == Double.self { return try double(value as! Double, parent.keys(adding: key)) }
        if T.self == JSON.self { return value as! JSON }
        if T.self == Data.self { return .string((value as! Data).base64EncodedString()) }
        if T.self == URL.self { return .string((value as! URL).absoluteString) }
        let encoder = ValueEncoder(in: parent, at: key)
        try value.encode(to: encoder)
        return encoder.result?.json
    }

    static func nested<T: Encodable>(_ value: T, in parent: CodingPath, at key: any CodingKey) throws -> JSON {
        try encode(value, in: parent, at: key) ?? .object([:])
    }
}

/// Where a container sits: below the value of `encoder`, by the keys of `trail` (none unless the container was
/// nested in another without an encoder of its own). `codingPath` arrays are built from it only when asked for, for
/// an error or a model that reads one, instead of a longer copy for every nested value as it is encoded.
private struct CodingPath {
    let encoder: ValueEncoder?
    var trail: [any CodingKey] = []

    var keys: [any CodingKey] { (encoder?.codingPath ?? []) + trail }

    func keys(adding key: (any CodingKey)?) -> [any CodingKey] { key.map { keys + [$0] } ?? keys }

    func appending(_ key: any CodingKey) -> CodingPath { CodingPath(encoder: encoder, trail: trail + [key]) }
}

/// A class: the containers it hands out write into what it holds.
private final class ValueEncoder: Encoder {
    private let parent: CodingPath
    private let key: (any CodingKey)?
    var codingPath: [any CodingKey] { parent.keys(adding: key) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var result: Partial?

    init(in parent: CodingPath, at key: (any CodingKey)?) {
        self.parent = parent
        self.key = key
    }

    /// Where the containers of this encoder's value sit.
    var path: CodingPath { CodingPath(encoder: self) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let object: ObjectBuilder
        if case .object(let open) = result {
            object = open
        } else {
            object = ObjectBuilder()
            result = .object(object)
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(object: object, path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let array: ArrayBuilder
        if case .array(let open) = result {
            array = open
        } else {
            array = ArrayBuilder()
            result = .array(array)
        }
        return UnkeyedContainer(array: array, path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: ObjectBuilder
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }

    private func path(_ key: Key) -> [any CodingKey] { path.keys(adding: key) }

    private func set(_ value: JSON, _ key: Key) { object.set(key.stringValue, value) }

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
        object.set(key.stringValue, try Leaf.nested(value, in: path, at: key))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBuilder()
        object.nest(key.stringValue, .object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, path: path.appending(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayBuilder()
        object.nest(key.stringValue, .array(nested))
        return UnkeyedContainer(array: nested, path: path.appending(key))
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super", key: IndexKey(stringValue: "super")) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue, key: key) }

    /// An encoder whose value becomes the member `name` once the whole value is done.
    private func superEncoder(named name: String, key: any CodingKey) -> any Encoder {
        let encoder = ValueEncoder(in: path, at: key)
        let object = ObjectBuilder()
        encoder.result = .object(object)
        self.object.nest(name, .object(object))
        return encoder
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let array: ArrayBuilder
    let path: CodingPath
    var codingPath: [any CodingKey] { path.keys }
    var count: Int { array.elements.count }

    private var nextKey: IndexKey { IndexKey(intValue: count) }
    private var nextPath: [any CodingKey] { path.keys(adding: nextKey) }

    private func append(_ value: JSON) { array.append(value) }

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
        array.append(try Leaf.nested(value, in: path, at: nextKey))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nestedPath = path.appending(nextKey)
        let nested = ObjectBuilder()
        array.nest(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, path: nestedPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nestedPath = path.appending(nextKey)
        let nested = ArrayBuilder()
        array.nest(.array(nested))
        return UnkeyedContainer(array: nested, path: nestedPath)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = ValueEncoder(in: path, at: nextKey)
        let object = ObjectBuilder()
        encoder.result = .object(object)
        array.nest(.object(object))
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
        // The value takes this encoder's place: its containers sit where this encoder's would.
        encoder.result = .value(try Leaf.encode(value, in: encoder.path, at: nil) ?? .object([:]))
    }
}
