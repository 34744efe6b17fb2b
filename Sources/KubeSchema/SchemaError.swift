/// Why an openAPIV3Schema is refused, as the real server's CustomResourceDefinition validation says it.
///
/// `field` is where, and `message` is the server's cause message (e.g. `Required value: must not be
/// empty for specified object fields`). Fields are relative to the openAPIV3Schema itself (e.g.
/// `properties[spec].type`; empty for the schema's own root) unless the schema was parsed with its
/// `fieldPath`, which then leads them, as in the server's answer. A schema can be wrong in several
/// places at once: `causes` holds them all, in the server's order, and `field`, `reason` and
/// `message` repeat the first.
public struct SchemaError: Error, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String
    public var reason: FieldError.Reason
    public var causes: [FieldError]

    init(causes: [FieldError]) {
        precondition(!causes.isEmpty, "a schema error has at least one cause")
        self.causes = causes
        self.field = causes[0].field
        self.message = causes[0].message
        self.reason = causes[0].reason
    }

    /// The causes with their fields placed under `prefix` (e.g. `spec.versions[0].schema.openAPIV3Schema`).
    public func causes(under prefix: String) -> [FieldError] {
        causes.map { cause in
            var placed = cause
            placed.field = cause.field.isEmpty ? prefix : cause.field.hasPrefix("[") ? prefix + cause.field : prefix + "." + cause.field
            return placed
        }
    }

    public var description: String { FieldError.aggregate(causes) }
}
