import KubeJSON

/// The rules a CustomResourceDefinition's openAPIV3Schema must follow beyond being structural
/// (apiextensions' `ValidateCustomResourceDefinitionOpenAPISchema`): JSON Schema keywords Kubernetes
/// does not support, `uniqueItems`, `additionalProperties` beside `properties`, defaults in object
/// metadata, and the well-formedness of the list, map and preserve-unknown-fields extensions.
///
/// `x-kubernetes-validations` rules are checked for presence and shape only; their CEL is never
/// compiled or evaluated.
struct DefinitionCheck {
    private static let types = ["array", "boolean", "integer", "number", "object", "string"]
    private static let metaFields: Set<String> = ["apiVersion", "kind", "metadata"]
    private static let ruleReasons = ["FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"]

    /// What holds for a subtree: whether defaults are allowed in it (and why not), and whether it
    /// describes a resource's type or object metadata.
    private struct Context {
        var forbiddenDefaultsReason: String?
        var insideResourceMeta = false
    }

    func errors(_ root: SchemaNode, at base: FieldPath) -> [FieldError] {
        var errors: [FieldError] = []
        check(root, base, Context(), isRoot: true, &errors)
        return errors
    }

    private func check(_ s: SchemaNode, _ path: FieldPath, _ context: Context, isRoot: Bool, _ errors: inout [FieldError]) {
        keywords(s, path, context, &errors)
        if s.uniqueItems {
            errors.append(.forbidden(path.child("uniqueItems"), "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
        }
        if let additional = s.additionalProperties {
            // `additionalProperties: true` alone may sit beside properties; a schema or false may not.
            let allowsAnything: Bool = if case .allows(true) = additional { true } else { false }
            if !s.properties.isEmpty && !allowsAnything {
                errors.append(.forbidden(path.child("additionalProperties"), "additionalProperties and properties are mutual exclusive"))
            }
            if case .schema(let node) = additional {
                var inner = context
                // Pruning without a value is ambiguous there, so defaults are out.
                if context.insideResourceMeta { inner.forbiddenDefaultsReason = "inside additionalProperties applying to object metadata" }
                check(node, path.child("additionalProperties"), inner, isRoot: false, &errors)
            }
        }
        for (name, property) in s.orderedProperties {
            var inner = context
            if (isRoot || s.embeddedResource) && Self.metaFields.contains(name) {
                inner.insideResourceMeta = true
                if isRoot { inner.forbiddenDefaultsReason = "in top-level \(name)" }
            }
            check(property, path.child("properties").key(name), inner, isRoot: false, &errors)
        }
        if let not = s.not { check(not, path.child("not"), context, isRoot: false, &errors) }
        for (index, branch) in s.allOf.enumerated() { check(branch, path.child("allOf").index(index), context, isRoot: false, &errors) }
        for (index, branch) in s.oneOf.enumerated() { check(branch, path.child("oneOf").index(index), context, isRoot: false, &errors) }
        for (index, branch) in s.anyOf.enumerated() { check(branch, path.child("anyOf").index(index), context, isRoot: false, &errors) }
        switch s.items {
        case .schema(let items)?: check(items, path.child("items"), context, isRoot: false, &errors)
        case .array(let tuple)?:
            for (index, items) in tuple.enumerated() { check(items, path.child("items").index(index), context, isRoot: false, &errors) }
        case nil: break
        }
        if s.preserveUnknownFields == false {
            errors.append(.invalid(path.child("x-kubernetes-preserve-unknown-fields"), false, "must be true or undefined"))
        }
        mapType(s, path, &errors)
        listType(s, path, &errors)
        rules(s, path, &errors)
    }

    /// The generic keyword rules (apiextensions' `specStandardValidatorV3.validate`).
    private func keywords(_ s: SchemaNode, _ path: FieldPath, _ context: Context, _ errors: inout [FieldError]) {
        if !s.type.isEmpty && !Self.types.contains(s.type) {
            errors.append(.notSupported(path.child("type"), .string(s.type), Self.types))
        }
        if s.defaultValue != nil, let reason = context.forbiddenDefaultsReason {
            errors.append(.forbidden(path.child("default"), "must not be set " + reason))
        }
        if !s.id.isEmpty { errors.append(.forbidden(path.child("id"), "id is not supported")) }
        if s.additionalItems { errors.append(.forbidden(path.child("additionalItems"), "additionalItems is not supported")) }
        if s.patternProperties { errors.append(.forbidden(path.child("patternProperties"), "patternProperties is not supported")) }
        if s.definitions { errors.append(.forbidden(path.child("definitions"), "definitions is not supported")) }
        if s.dependencies { errors.append(.forbidden(path.child("dependencies"), "dependencies is not supported")) }
        if s.ref != nil { errors.append(.forbidden(path.child("$ref"), "$ref is not supported")) }
        if s.type == "null" {
            errors.append(.forbidden(path.child("type"), "type cannot be set to null, use nullable as an alternative"))
        }
        if case .array? = s.items {
            errors.append(.forbidden(path.child("items"), "items must be a schema object and not an array"))
        }
        if context.insideResourceMeta && s.embeddedResource {
            errors.append(.forbidden(path.child("x-kubernetes-embedded-resource"), "must not be used inside of resource meta"))
        }
    }

    private func mapType(_ s: SchemaNode, _ path: FieldPath, _ errors: inout [FieldError]) {
        guard let mapType = s.mapType else { return }
        if s.type != "object" {
            let detail = "must be object if x-kubernetes-map-type is specified"
            errors.append(s.type.isEmpty ? .required(path.child("type"), detail) : .invalid(path.child("type"), .string(s.type), detail))
        }
        if mapType != "atomic" && mapType != "granular" {
            errors.append(.notSupported(path.child("x-kubernetes-map-type"), .string(mapType), ["atomic", "granular"]))
        }
    }

    private func listType(_ s: SchemaNode, _ path: FieldPath, _ errors: inout [FieldError]) {
        let listType = s.listType
        let items = s.itemSchema
        if listType != nil, s.type != "array" {
            let detail = "must be array if x-kubernetes-list-type is specified"
            errors.append(s.type.isEmpty ? .required(path.child("type"), detail) : .invalid(path.child("type"), .string(s.type), detail))
        } else if listType == "set", let items {
            // A set compares whole items, so compound items must be atomic.
            let detail = "must be atomic as item of a list with x-kubernetes-list-type=set"
            let shown: JSON = items.listType.map { .string($0) } ?? .null
            if items.type == "array", let itemList = items.listType, itemList != "atomic" {
                errors.append(.invalid(path.child("items").child("x-kubernetes-list-type"), .string(itemList), detail))
            } else if items.type == "object", items.mapType != "atomic" {
                // The server reports the items' list type here, not their map type.
                errors.append(.invalid(path.child("items").child("x-kubernetes-map-type"), shown, detail))
            }
        }
        if let listType, !["atomic", "set", "map"].contains(listType) {
            errors.append(.notSupported(path.child("x-kubernetes-list-type"), .string(listType), ["atomic", "set", "map"]))
        }
        let keys = s.listMapKeys
        if !keys.isEmpty {
            let detail = "must be map if x-kubernetes-list-map-keys is non-empty"
            if let listType {
                if listType != "map" { errors.append(.invalid(path.child("x-kubernetes-list-type"), .string(listType), detail)) }
            } else {
                errors.append(.required(path.child("x-kubernetes-list-type"), detail))
            }
        }
        if listType == "map" {
            if keys.isEmpty {
                errors.append(.required(path.child("x-kubernetes-list-map-keys"), "must not be empty if x-kubernetes-list-type is map"))
            }
            switch s.items {
            case nil:
                errors.append(.required(path.child("items"), "must have a schema if x-kubernetes-list-type is map"))
            case .array?:
                errors.append(.invalid(path.child("items"), "", "must only have a single schema if x-kubernetes-list-type is map"))
            case .schema(let items)?:
                if items.type != "object" {
                    errors.append(.invalid(path.child("items").child("type"), .string(items.type),
                                           "must be object if parent array's x-kubernetes-list-type is map"))
                } else {
                    mapKeys(keys, items, path, &errors)
                }
            }
        }
        mapOrSetItems(s, path, &errors)
    }

    private func mapKeys(_ keys: [String], _ items: SchemaNode, _ path: FieldPath, _ errors: inout [FieldError]) {
        // Go prints a []string with %#v.
        let shownKeys = "[]string{" + keys.map(GoText.quote).joined(separator: ", ") + "}"
        var seen = Set<String>()
        for key in keys {
            if let property = items.properties[key] {
                if property.type == "array" || property.type == "object" {
                    // The server reports the items' type here, not the key property's.
                    errors.append(.invalid(path.child("items").child("properties").key(key).child("type"), .string(items.type),
                                           "must be a scalar type if parent array's x-kubernetes-list-type is map"))
                }
            } else {
                errors.append(FieldError(field: path.child("x-kubernetes-list-map-keys").string, reason: .invalid,
                                         message: "Invalid value: \(shownKeys): entries must all be names of item properties"))
            }
            if !seen.insert(key).inserted {
                errors.append(FieldError(field: path.child("x-kubernetes-list-map-keys").string, reason: .invalid,
                                         message: "Invalid value: \(shownKeys): must not contain duplicate entries"))
            }
        }
    }

    /// Items of sets and maps cannot be null, and map keys must always have a value.
    private func mapOrSetItems(_ s: SchemaNode, _ path: FieldPath, _ errors: inout [FieldError]) {
        guard let items = s.itemSchema, let listType = s.listType, listType == "set" || listType == "map" else { return }
        if items.nullable {
            errors.append(.forbidden(path.child("items").child("nullable"), "cannot be nullable when x-kubernetes-list-type is \(listType)"))
        }
        guard listType == "map" else { return }
        for key in s.listMapKeys {
            guard let property = items.properties[key] else { continue }
            let keyPath = path.child("items").child("properties").key(key)
            if !items.required.contains(key) && property.defaultValue == nil {
                errors.append(.required(keyPath.child("default"),
                    "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property"))
            }
            if property.nullable {
                errors.append(.forbidden(keyPath.child("nullable"), "this property is in x-kubernetes-list-map-keys, so it cannot be nullable"))
            }
        }
    }

    /// The shape of `x-kubernetes-validations` rules (their CEL is not looked at).
    private func rules(_ s: SchemaNode, _ path: FieldPath, _ errors: inout [FieldError]) {
        for (index, rule) in s.validationRules.enumerated() {
            let here = path.child("x-kubernetes-validations").index(index)
            let text = rule["rule"]?.string ?? ""
            let message = rule["message"]?.string ?? ""
            let trimmedRule = Self.trimmed(text)
            let trimmedMessage = Self.trimmed(message)
            if trimmedRule.isEmpty {
                errors.append(.required(here.child("rule"), "rule is not specified"))
            } else if !message.isEmpty && trimmedMessage.isEmpty {
                errors.append(.invalid(here.child("message"), .string(message), "message must be non-empty if specified"))
            } else if trimmedMessage.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
                errors.append(.invalid(here.child("message"), .string(message), "message must not contain line breaks"))
            } else if trimmedRule.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) && trimmedMessage.isEmpty {
                errors.append(.required(here.child("message"), "message must be specified if rule contains line breaks"))
            }
            if let expression = rule["messageExpression"]?.string, !expression.isEmpty, Self.trimmed(expression).isEmpty {
                errors.append(.required(here.child("messageExpression"), "messageExpression must be non-empty if specified"))
            }
            if let reason = rule["reason"]?.string, !Self.ruleReasons.contains(reason) {
                errors.append(.notSupported(here.child("reason"), .string(reason), Self.ruleReasons))
            }
        }
    }

    /// Go's `strings.TrimSpace`.
    private static func trimmed(_ text: String) -> Substring {
        var rest = Substring(text)
        while let first = rest.first, first.isWhitespace { rest.removeFirst() }
        while let last = rest.last, last.isWhitespace { rest.removeLast() }
        return rest
    }
}
