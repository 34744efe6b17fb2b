import KubeJSON

/// The keywords of one openAPIV3Schema node, as apiextensions decodes them into `JSONSchemaProps`.
/// Keywords CustomResourceDefinitions refuse are kept too, so that the checks can refuse them by name.
struct SchemaFields: Sendable {
    enum Items: Sendable {
        case schema(SchemaNode)
        /// The tuple form, which CustomResourceDefinitions refuse.
        case array([SchemaNode])
    }

    enum AdditionalProperties: Sendable {
        case allows(Bool)
        case schema(SchemaNode)
    }

    // Generic keywords.
    var type = ""
    var format = ""
    var title = ""
    var description = ""
    var nullable = false
    var defaultValue: JSON?

    // Value validations.
    var maximum: Double?
    var exclusiveMaximum = false
    var minimum: Double?
    var exclusiveMinimum = false
    var multipleOf: Double?
    var maxLength: Int64?
    var minLength: Int64?
    var pattern = ""
    var maxItems: Int64?
    var minItems: Int64?
    var uniqueItems = false
    var maxProperties: Int64?
    var minProperties: Int64?
    var enumValues: [JSON]?
    var required: [String] = []
    var allOf: [SchemaNode] = []
    var anyOf: [SchemaNode] = []
    var oneOf: [SchemaNode] = []
    var not: SchemaNode?

    // Structure.
    var items: Items?
    var properties: [String: SchemaNode] = [:]
    /// Property names in the order written, so that everything reported about them is stable.
    var propertyOrder: [String] = []
    var additionalProperties: AdditionalProperties?

    // Keywords JSON Schema has and CustomResourceDefinitions refuse.
    var id = ""
    var ref: String?
    var patternProperties = false
    var definitions = false
    var dependencies = false
    var additionalItems = false

    // Kubernetes extensions.
    var preserveUnknownFields: Bool?
    var embeddedResource = false
    var intOrString = false
    var listType: String?
    var listMapKeys: [String] = []
    var mapType: String?
    /// `x-kubernetes-validations` rules: accepted and kept, never evaluated (CEL is out of scope).
    var validationRules: [JSON] = []

    /// The keywords written, to recognise a bare `{type: integer}` or a metadata schema that says too
    /// much. Null, `false` and `""` are left out: Go cannot tell them from an absent keyword.
    var keywords: Set<String> = []
}

/// One node of a decoded schema. A class so that a node can hold its children; immutable once built,
/// so it can be shared between threads.
@dynamicMemberLookup
final class SchemaNode: Sendable {
    let fields: SchemaFields

    init(_ fields: SchemaFields) { self.fields = fields }

    subscript<T>(dynamicMember keyPath: KeyPath<SchemaFields, T>) -> T { fields[keyPath: keyPath] }

    /// The single schema of `items`; nil when absent or written as a tuple.
    var itemSchema: SchemaNode? {
        if case .schema(let node) = fields.items { return node }
        return nil
    }

    /// The schema of `additionalProperties`; nil when absent or a boolean.
    var additionalSchema: SchemaNode? {
        if case .schema(let node) = fields.additionalProperties { return node }
        return nil
    }

    var preservesUnknownFields: Bool { fields.preserveUnknownFields == true }

    /// Properties in the order written.
    var orderedProperties: [(name: String, schema: SchemaNode)] {
        fields.propertyOrder.compactMap { name in fields.properties[name].map { (name, $0) } }
    }

    /// The type names the validator checks a value against: `x-kubernetes-int-or-string` widens the
    /// type to integer and string, as the server's conversion to an OpenAPI schema does.
    var validationTypes: [String] {
        if fields.intOrString { return ["integer", "string"] }
        return fields.type.isEmpty ? [] : [fields.type]
    }

    /// The format the validator checks: the server blanks the formats it does not support for the
    /// node's type before validating, so an unknown format constrains nothing.
    var validationFormat: String {
        let format = fields.format
        guard !format.isEmpty else { return "" }
        let types = validationTypes
        switch types.count == 1 ? types[0] : "" {
        case "", "string":
            return StringFormats.isSupported(format) ? format : ""
        case "integer":
            return format == "int32" || format == "int64" ? format : ""
        case "number":
            return format == "float" || format == "double" ? format : ""
        default:
            return ""
        }
    }

    /// True when the node is exactly `{type: <name>}`, as the int-or-string `anyOf` must be.
    func isBare(type name: String) -> Bool {
        fields.type == name && fields.keywords == ["type"]
    }
}
