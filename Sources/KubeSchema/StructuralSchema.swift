import KubeJSON

/// The openAPIV3Schema of one version of an `apiextensions.k8s.io/v1` CustomResourceDefinition,
/// checked as a Kubernetes 1.36 API server checks it, and used as that server uses it on custom
/// resources: to prune unknown fields, to apply defaults and to validate, with the server's messages.
///
/// On a write the server decodes, applies defaults, prunes, then validates (and reports pruned
/// fields as warnings, or as errors under `fieldValidation=Strict`).
///
/// `x-kubernetes-validations` (CEL rules) are accepted and checked for shape only: they are never
/// compiled or evaluated, so objects that break them are not reported.
public struct StructuralSchema: Sendable {
    let root: SchemaNode

    /// Parses an openAPIV3Schema. Throws a `SchemaError` for a schema the server would refuse: one
    /// that is not structural (e.g. `properties[spec].type: Required value: must not be empty for
    /// specified object fields`), uses a keyword CustomResourceDefinitions do not support, misuses a
    /// Kubernetes extension, or has a default that does not validate against its own schema. The
    /// error's fields are relative to the openAPIV3Schema (`properties[spec].type`).
    public init(_ openAPIV3Schema: JSON) throws(SchemaError) {
        try self.init(openAPIV3Schema, fieldPath: "")
    }

    /// As `init(_:)`, with the schema's place in its CustomResourceDefinition (e.g.
    /// `spec.versions[0].schema.openAPIV3Schema`), which then leads every error's field and the few
    /// messages that name a place in the schema, as in the server's own answer.
    public init(_ openAPIV3Schema: JSON, fieldPath: String) throws(SchemaError) {
        let base = fieldPath.isEmpty ? FieldPath.none : FieldPath(fieldPath)
        let root = try SchemaDecoder().decode(openAPIV3Schema, at: base)
        var errors: [FieldError] = []
        if root.nullable {
            errors.append(.forbidden(base.child("nullable"), "nullable cannot be true at the root"))
        }
        // Keywords with no structural meaning (tuple items, $ref, ...) keep the server from building
        // a structural schema at all; it then reports only the keyword errors below.
        if !Self.hasUnsupportedKeywords(root) {
            let structural = StructuralCheck().errors(root, at: base)
            errors += structural.isEmpty ? DefaultCheck().errors(root, at: base) : structural
        }
        errors += DefinitionCheck().errors(root, at: base)
        guard errors.isEmpty else { throw SchemaError(causes: errors) }
        self.root = root
    }

    /// Removes the fields the schema does not declare and returns their dotted paths (e.g.
    /// `spec.unknownField`, `spec.items[0].extra`) in the order met, depth first. Kept: declared
    /// fields, anything under `x-kubernetes-preserve-unknown-fields` or a schema'd
    /// `additionalProperties`, and `apiVersion`, `kind` and `metadata` of the resource and of every
    /// `x-kubernetes-embedded-resource`. (The server sorts the paths when it reports them as
    /// `unknown field "..."`.)
    public func prune(_ value: inout JSON) -> [String] {
        var pruner = Pruner()
        pruner.prune(resource: &value, root)
        return pruner.removed
    }

    /// Applies `default`s as the server does: a property's default where the property is absent, or
    /// null without being nullable; nested defaults inside whatever objects exist (defaults
    /// included); and non-nullable nulls that have no default removed.
    public func applyDefaults(_ value: inout JSON) {
        Defaulter().apply(&value, root)
    }

    /// Every way `value` breaks the schema, as the server's causes: schema validation first, in the
    /// order of the document (each value's checks in the server's order: type, allOf/anyOf/oneOf/not,
    /// string, format, number, array, enum, object), then the uniqueness of
    /// `x-kubernetes-list-type` sets and maps.
    /// Validates `value`; with `old` (an update), members equal to their old values are not judged again
    /// (CRD validation ratcheting).
    public func validate(_ value: JSON, old: JSON? = nil) -> [FieldError] {
        let result = OpenAPIValidator().validate(value, against: root, path: "", old: old)
        return result.errors.map { $0.fieldError(under: .none) } + ListTypeValidator().validate(value, against: root)
    }

    private static func hasUnsupportedKeywords(_ node: SchemaNode) -> Bool {
        if case .array? = node.items { return true }
        if node.ref != nil || node.additionalItems || node.patternProperties || node.definitions || node.dependencies { return true }
        var children = node.allOf + node.anyOf + node.oneOf + Array(node.properties.values)
        if let not = node.not { children.append(not) }
        if let items = node.itemSchema { children.append(items) }
        if let additional = node.additionalSchema { children.append(additional) }
        return children.contains(where: hasUnsupportedKeywords)
    }
}
