// TEMPORARY: stands in for the KubeSchema target until it lands.
import KubeJSON

public struct StructuralSchema: Sendable {
    public init(_ openAPIV3Schema: JSON) throws(SchemaError) {}
    public func prune(_ value: inout JSON) -> [String] { [] }
    public func applyDefaults(_ value: inout JSON) {}
    public func validate(_ value: JSON) -> [FieldError] { [] }
}
public struct FieldError: Sendable, Equatable {
    public enum Reason: String, Sendable { case invalid = "FieldValueInvalid" }
    public var field: String
    public var reason: Reason
    public var message: String
}
public struct SchemaError: Error, Sendable { public var field: String; public var message: String }
