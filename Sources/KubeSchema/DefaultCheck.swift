import KubeJSON

/// Checks the `default` values of a structural schema as apiextensions' `ValidateDefaults` does: each
/// default must already be pruned (no fields its schema would drop) and must validate against its
/// own schema. Defaults under `additionalProperties` are not visited (the server forbids them there
/// for metadata and does not follow them otherwise).
///
/// Not covered: the extra object-metadata checks the server makes on defaults inside embedded
/// resources' `metadata`.
struct DefaultCheck {
    func errors(_ root: SchemaNode, at base: FieldPath) -> [FieldError] {
        var errors: [FieldError] = []
        // The resource root counts as an embedded resource, whose type and metadata pruning keeps.
        check(root, base, embedded: true, &errors)
        return errors
    }

    private func check(_ s: SchemaNode, _ path: FieldPath, embedded: Bool, _ errors: inout [FieldError]) {
        if let defaultValue = s.defaultValue {
            var pruned = defaultValue
            var pruner = Pruner()
            if embedded { pruner.prune(resource: &pruned, s) } else { pruner.prune(value: &pruned, s) }
            if !pruner.removed.isEmpty {
                errors.append(.invalid(path.child("default"), defaultValue, "must not have unknown fields"))
            }
            let result = OpenAPIValidator().validate(defaultValue, against: s, path: "")
            errors += result.errors.map { $0.fieldError(under: path.child("default")) }
        }
        if let items = s.itemSchema { check(items, path.child("items"), embedded: items.embeddedResource, &errors) }
        for (name, property) in s.orderedProperties {
            check(property, path.child("properties").key(name), embedded: property.embeddedResource, &errors)
        }
    }
}
