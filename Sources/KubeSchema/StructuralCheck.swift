import KubeJSON

/// Whether a schema is structural, as apiextensions' `ValidateStructural` decides: every node has a
/// type (unless it preserves unknown fields or is int-or-string), value validations (`allOf`,
/// `anyOf`, `oneOf`, `not`) only restrict values and never declare types, defaults, descriptions or
/// extensions, the root is an object without `additionalProperties`, and root `metadata` restricts at
/// most `name` and `generateName`.
///
/// The errors come sorted by their text, as the server sorts them. `base` is the path of the
/// openAPIV3Schema itself.
struct StructuralCheck {
    private enum Level { case root, item, field }

    func errors(_ root: SchemaNode, at base: FieldPath) -> [FieldError] {
        var errors: [FieldError] = []
        invariants(root, .root, base, &errors)
        valueCompleteness(root, root, base, base, &errors)
        return errors.sorted { GoText.goLess($0.description, $1.description) }
    }

    // MARK: - invariants

    private func invariants(_ s: SchemaNode, _ level: Level, _ path: FieldPath, _ errors: inout [FieldError]) {
        if s.type == "array" && s.itemSchema == nil {
            errors.append(.required(path.child("items"), "must be specified"))
        }
        if let items = s.itemSchema { invariants(items, .item, path.child("items"), &errors) }
        for (name, property) in s.orderedProperties {
            invariants(property, .field, path.child("properties").key(name), &errors)
        }
        if let additional = s.additionalProperties {
            if level == .root {
                errors.append(.forbidden(path.child("additionalProperties"), "must not be used at the root"))
            }
            if case .schema(let node) = additional { invariants(node, .field, path.child("additionalProperties"), &errors) }
        }
        if s.intOrString && s.preservesUnknownFields {
            errors.append(.invalid(path.child("x-kubernetes-preserve-unknown-fields"), true, "must be false if x-kubernetes-int-or-string is true"))
        }
        if s.intOrString && s.embeddedResource {
            errors.append(.invalid(path.child("x-kubernetes-embedded-resource"), true, "must be false if x-kubernetes-int-or-string is true"))
        }
        // The two int-or-string patterns may declare types under anyOf.
        let skipAnyOf = Self.isIntOrStringAnyOf(s.anyOf)
        let skipFirstAllOfAnyOf = s.allOf.first.map { Self.isIntOrStringAnyOf($0.anyOf) } ?? false
        valueValidation(s, skipAnyOf: skipAnyOf, skipFirstAllOfAnyOf: skipFirstAllOfAnyOf, path, &errors)

        let checkMetadata = level == .root || s.embeddedResource
        if s.embeddedResource && s.type != "object" {
            if s.type.isEmpty {
                errors.append(.required(path.child("type"), "must be object if x-kubernetes-embedded-resource is true"))
            } else {
                errors.append(.invalid(path.child("type"), .string(s.type), "must be object if x-kubernetes-embedded-resource is true"))
            }
        } else if s.type.isEmpty && !s.intOrString && !s.preservesUnknownFields {
            let detail = switch level {
            case .root: "must not be empty at the root"
            case .item: "must not be empty for specified array items"
            case .field: "must not be empty for specified object fields"
            }
            errors.append(.required(path.child("type"), detail))
        }
        if s.embeddedResource && s.additionalProperties != nil {
            errors.append(.forbidden(path.child("additionalProperties"), "must not be used if x-kubernetes-embedded-resource is set"))
        }
        if level == .root && !s.type.isEmpty && s.type != "object" {
            errors.append(.invalid(path.child("type"), .string(s.type), "must be object at the root"))
        }
        for name in ["kind", "apiVersion"] where checkMetadata {
            if let property = s.properties[name], property.type != "string" {
                errors.append(.invalid(path.child("properties").key(name).child("type"), .string(property.type), "must be string"))
            }
        }
        if let metadata = s.properties["metadata"] {
            metadataInvariants(metadata, checkMetadata, level, path.child("properties").key("metadata"), &errors)
        }
        if s.embeddedResource && !s.preservesUnknownFields && s.properties.isEmpty {
            errors.append(.required(path.child("properties"),
                "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"))
        }
    }

    private func metadataInvariants(_ s: SchemaNode, _ checkMetadata: Bool, _ level: Level, _ path: FieldPath, _ errors: inout [FieldError]) {
        if checkMetadata && s.type != "object" {
            errors.append(.invalid(path.child("type"), .string(s.type), "must be object"))
        }
        guard level == .root else { return }
        // Root metadata may only restrict name and generateName; their own schemas do not matter.
        let names = Set(s.propertyOrder)
        let onlyNames = !names.isEmpty && names.isSubset(of: ["name", "generateName"])
        var allowed: Set<String> = ["type", "default", "example", "externalDocs", "id", "$schema", "$ref",
                                    "definitions", "dependencies", "patternProperties", "additionalItems"]
        if onlyNames || names.isEmpty { allowed.insert("properties") }
        if !s.keywords.isSubset(of: allowed) {
            errors.append(.forbidden(path, "must not specify anything other than name and generateName, but metadata is implicitly specified"))
        }
    }

    private static func isIntOrStringAnyOf(_ anyOf: [SchemaNode]) -> Bool {
        anyOf.count == 2 && anyOf[0].isBare(type: "integer") && anyOf[1].isBare(type: "string")
    }

    // MARK: - value validations

    private func valueValidation(_ v: SchemaNode, skipAnyOf: Bool, skipFirstAllOfAnyOf: Bool, _ path: FieldPath, _ errors: inout [FieldError]) {
        if !skipAnyOf {
            for (index, branch) in v.anyOf.enumerated() { nested(branch, skipAnyOf: false, path.child("anyOf").index(index), &errors) }
        }
        for (index, branch) in v.allOf.enumerated() {
            nested(branch, skipAnyOf: skipFirstAllOfAnyOf && index == 0, path.child("allOf").index(index), &errors)
        }
        for (index, branch) in v.oneOf.enumerated() { nested(branch, skipAnyOf: false, path.child("oneOf").index(index), &errors) }
        if let not = v.not { nested(not, skipAnyOf: false, path.child("not"), &errors) }
        if !v.pattern.isEmpty, let problem = PatternCache.syntaxError(v.pattern) {
            errors.append(.invalid(path.child("pattern"), .string(v.pattern), "must be a valid regular expression, but isn't: \(problem)"))
        }
    }

    /// A node under allOf, anyOf, oneOf or not: only value validations, items and properties.
    private func nested(_ v: SchemaNode, skipAnyOf: Bool, _ path: FieldPath, _ errors: inout [FieldError]) {
        valueValidation(v, skipAnyOf: skipAnyOf, skipFirstAllOfAnyOf: false, path, &errors)
        if let items = v.itemSchema { nested(items, skipAnyOf: false, path.child("items"), &errors) }
        for (name, property) in v.orderedProperties {
            nested(property, skipAnyOf: false, path.child("properties").key(name), &errors)
        }
        if !v.type.isEmpty { errors.append(.forbidden(path.child("type"), "must be empty to be structural")) }
        if v.additionalProperties != nil {
            errors.append(.forbidden(path.child("additionalProperties"), "must be undefined to be structural"))
        }
        if v.defaultValue != nil { errors.append(.forbidden(path.child("default"), "must be undefined to be structural")) }
        if !v.title.isEmpty { errors.append(.forbidden(path.child("title"), "must be empty to be structural")) }
        if !v.description.isEmpty { errors.append(.forbidden(path.child("description"), "must be empty to be structural")) }
        if v.nullable { errors.append(.forbidden(path.child("nullable"), "must be false to be structural")) }
        if v.preservesUnknownFields {
            errors.append(.forbidden(path.child("x-kubernetes-preserve-unknown-fields"), "must be false to be structural"))
        }
        if v.embeddedResource {
            errors.append(.forbidden(path.child("x-kubernetes-embedded-resource"), "must be false to be structural"))
        }
        if v.intOrString { errors.append(.forbidden(path.child("x-kubernetes-int-or-string"), "must be false to be structural")) }
        if !v.listMapKeys.isEmpty {
            errors.append(.forbidden(path.child("x-kubernetes-list-map-keys"), "must be empty to be structural"))
        }
        if v.listType != nil { errors.append(.forbidden(path.child("x-kubernetes-list-type"), "must be undefined to be structural")) }
        if v.mapType != nil { errors.append(.forbidden(path.child("x-kubernetes-map-type"), "must be undefined to be structural")) }
        if !v.validationRules.isEmpty {
            errors.append(.forbidden(path.child("x-kubernetes-validations"), "must be empty to be structural"))
        }
        if v.properties["metadata"] != nil {
            errors.append(.forbidden(path.child("properties").key("metadata"), "must not be specified in a nested context"))
        }
    }

    // MARK: - completeness

    /// Every property or items named under the root's value validations must also be declared in
    /// the structural part (the server checks the root's value validations only).
    private func valueCompleteness(_ v: SchemaNode, _ s: SchemaNode, _ sPath: FieldPath, _ vPath: FieldPath, _ errors: inout [FieldError]) {
        if let not = v.not { nestedCompleteness(not, s, sPath, vPath.child("not"), &errors) }
        for (index, branch) in v.allOf.enumerated() { nestedCompleteness(branch, s, sPath, vPath.child("allOf").index(index), &errors) }
        for (index, branch) in v.anyOf.enumerated() { nestedCompleteness(branch, s, sPath, vPath.child("anyOf").index(index), &errors) }
        for (index, branch) in v.oneOf.enumerated() { nestedCompleteness(branch, s, sPath, vPath.child("oneOf").index(index), &errors) }
    }

    private func nestedCompleteness(_ v: SchemaNode, _ s: SchemaNode?, _ sPath: FieldPath, _ vPath: FieldPath, _ errors: inout [FieldError]) {
        guard let s else {
            errors.append(.required(sPath, "because it is defined in \(vPath.string)"))
            return
        }
        valueCompleteness(v, s, sPath, vPath, &errors)
        if let items = v.itemSchema {
            nestedCompleteness(items, s.itemSchema, sPath.child("items"), vPath.child("items"), &errors)
        }
        for (name, property) in v.orderedProperties {
            let sField = sPath.child("properties").key(name)
            let vField = vPath.child("properties").key(name)
            if let declared = s.properties[name] {
                nestedCompleteness(property, declared, sField, vField, &errors)
            } else {
                errors.append(.required(sField, "because it is defined in \(vField.string)"))
            }
        }
    }
}
