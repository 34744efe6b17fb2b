import KubeJSON

/// An object the server sent that this client's model cannot read: a value its schema admits but the model
/// refuses (a quantity such as `1e1.5`), or a field of another type written by another tool. Lists and watches
/// report it instead of failing on it, so that one bad object never stops the rest: for the reader it is
/// absent (an informer drops it from its cache) until a version that reads arrives.
public struct UndecodableObject: Sendable, Hashable, CustomStringConvertible {
    /// `namespace/name`, or `name` for a cluster-scoped object.
    public var key: String
    public var resourceVersion: String?
    /// What the decoder said.
    public var reason: String

    public var description: String { "\(key)@\(resourceVersion ?? "?"): \(reason)" }

    /// Where the raw object says it is; nil when even its metadata is unreadable.
    init?(_ object: JSON, error: any Error) {
        guard let name = object.name.isEmpty ? nil : object.name else { return nil }
        key = object.namespace.map { "\($0)/\(name)" } ?? name
        resourceVersion = object.resourceVersion
        reason = Self.describe(error)
    }

    /// A decoding error as a person reads it: the field's path, then what was wrong with it.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue): required, missing"
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type): \(context.debugDescription)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        @unknown default: return "\(error)"
        }
    }
}
