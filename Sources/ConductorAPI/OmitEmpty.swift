import KubeClient

/// An Agent or a Task: a resource with a spec its owner writes and a status written through the status
/// subresource. Lets code that handles both (status writes, mirrors, tests) be written once.
public protocol SpecAndStatusResource: KubeResource, Equatable {
    associatedtype Spec: EmptyDefaultable & Sendable
    associatedtype Status: EmptyDefaultable & Sendable
    var spec: Spec { get set }
    var status: Status { get set }
}

/// A value with an empty form that stands for "not set": an empty list, or a spec or status with no field set.
public protocol EmptyDefaultable: Codable, Hashable {
    /// The empty value.
    init()
    var isEmpty: Bool { get }
}

extension Array: EmptyDefaultable where Element: Codable & Hashable {}

/// A field that reads as empty when it is absent or null, and is left out when it is empty: Go's
/// `omitempty`. It lets the models expose `[String]` instead of `[String]?` (and a status rather than an
/// optional one) while writing only what is set, so that an object read from the server and written back
/// gains no `[]` or `{}` members.
@propertyWrapper
public struct OmitEmpty<Value: EmptyDefaultable>: Codable, Hashable {
    public var wrappedValue: Value

    public init(wrappedValue: Value = Value()) {
        self.wrappedValue = wrappedValue
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? Value() : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension OmitEmpty: Sendable where Value: Sendable {}

// Synthesized Codable calls `decode(_:forKey:)` and `encode(_:forKey:)` for a wrapped property; these
// overloads are more specific, so they are chosen, and they make the key optional both ways.
extension KeyedDecodingContainer {
    public func decode<Value>(_ type: OmitEmpty<Value>.Type, forKey key: Key) throws -> OmitEmpty<Value> {
        try decodeIfPresent(type, forKey: key) ?? OmitEmpty()
    }
}

extension KeyedEncodingContainer {
    public mutating func encode<Value>(_ value: OmitEmpty<Value>, forKey key: Key) throws {
        guard !value.wrappedValue.isEmpty else { return }
        try encode(value.wrappedValue, forKey: key)
    }
}
