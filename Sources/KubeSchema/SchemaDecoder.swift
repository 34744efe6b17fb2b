import KubeJSON

/// Reads an openAPIV3Schema written as JSON into schema nodes, with the types apiextensions'
/// `JSONSchemaProps` gives each keyword. A keyword of the wrong JSON type is refused, worded as Go's
/// encoding/json words it; a null keyword counts as absent and an unknown one is dropped, as the
/// server's decoding does.
struct SchemaDecoder {
    /// Schemas nest at most this deep, which keeps every recursive walk over them bounded.
    static let maximumDepth = JSON.maximumDepth

    func decode(_ json: JSON, at path: FieldPath = .none, depth: Int = 0) throws(SchemaError) -> SchemaNode {
        guard depth <= Self.maximumDepth else {
            throw SchemaError(causes: [.forbidden(path, "must not nest more than \(Self.maximumDepth) schemas deep")])
        }
        guard case .object(let members) = json else {
            throw mismatch(json, key: nil, goType: "v1.JSONSchemaProps", path: path)
        }
        var fields = SchemaFields()
        for (key, value) in members where !value.isNull {
            fields.keywords.insert(key)
            let here = path.child(key)
            switch key {
            case "type": fields.type = try string(value, key, here)
            case "format": fields.format = try string(value, key, here)
            case "title": fields.title = try string(value, key, here)
            case "description": fields.description = try string(value, key, here)
            case "pattern": fields.pattern = try string(value, key, here)
            case "id": fields.id = try string(value, key, here)
            case "$schema": _ = try string(value, key, here)
            case "$ref": fields.ref = try string(value, key, here)
            case "nullable": fields.nullable = try bool(value, key, here)
            case "uniqueItems": fields.uniqueItems = try bool(value, key, here)
            case "exclusiveMaximum": fields.exclusiveMaximum = try bool(value, key, here)
            case "exclusiveMinimum": fields.exclusiveMinimum = try bool(value, key, here)
            case "x-kubernetes-embedded-resource": fields.embeddedResource = try bool(value, key, here)
            case "x-kubernetes-int-or-string": fields.intOrString = try bool(value, key, here)
            case "x-kubernetes-preserve-unknown-fields": fields.preserveUnknownFields = try bool(value, key, here)
            case "maximum": fields.maximum = try number(value, key, here)
            case "minimum": fields.minimum = try number(value, key, here)
            case "multipleOf": fields.multipleOf = try number(value, key, here)
            case "maxLength": fields.maxLength = try integer(value, key, here)
            case "minLength": fields.minLength = try integer(value, key, here)
            case "maxItems": fields.maxItems = try integer(value, key, here)
            case "minItems": fields.minItems = try integer(value, key, here)
            case "maxProperties": fields.maxProperties = try integer(value, key, here)
            case "minProperties": fields.minProperties = try integer(value, key, here)
            case "default": fields.defaultValue = value
            case "example": break
            case "enum":
                guard case .array(let values) = value else { throw mismatch(value, key: key, goType: "[]v1.JSON", path: here) }
                fields.enumValues = values
            case "required": fields.required = try strings(value, key, here)
            case "x-kubernetes-list-map-keys": fields.listMapKeys = try strings(value, key, here)
            case "x-kubernetes-list-type": fields.listType = try string(value, key, here)
            case "x-kubernetes-map-type": fields.mapType = try string(value, key, here)
            case "x-kubernetes-validations":
                guard case .array(let rules) = value else {
                    throw mismatch(value, key: key, goType: "v1.ValidationRules", path: here)
                }
                fields.validationRules = rules
            case "allOf": fields.allOf = try schemas(value, key, here, depth)
            case "anyOf": fields.anyOf = try schemas(value, key, here, depth)
            case "oneOf": fields.oneOf = try schemas(value, key, here, depth)
            case "not": fields.not = try decode(value, at: here, depth: depth + 1)
            case "items":
                if case .array = value {
                    fields.items = .array(try schemas(value, key, here, depth))
                } else {
                    fields.items = .schema(try decode(value, at: here, depth: depth + 1))
                }
            case "properties":
                guard case .object(let properties) = value else {
                    throw mismatch(value, key: key, goType: "map[string]v1.JSONSchemaProps", path: here)
                }
                for (name, schema) in properties {
                    fields.properties[name] = try decode(schema, at: path.child(key).key(name), depth: depth + 1)
                    fields.propertyOrder.append(name)
                }
            case "additionalProperties":
                switch value {
                case .bool(let allows): fields.additionalProperties = .allows(allows)
                default: fields.additionalProperties = .schema(try decode(value, at: here, depth: depth + 1))
                }
            case "patternProperties", "definitions":
                guard case .object(let schemas) = value else {
                    throw mismatch(value, key: key, goType: "v1.JSONSchemaDefinitions", path: here)
                }
                if key == "definitions" { fields.definitions = !schemas.isEmpty } else { fields.patternProperties = !schemas.isEmpty }
            case "dependencies":
                guard case .object = value else { throw mismatch(value, key: key, goType: "v1.JSONSchemaDependencies", path: here) }
                fields.dependencies = true
            case "additionalItems":
                fields.additionalItems = true
            case "externalDocs":
                guard case .object = value else { throw mismatch(value, key: key, goType: "v1.ExternalDocumentation", path: here) }
            default:
                // Unknown keywords are dropped, as the server drops unknown fields when decoding.
                fields.keywords.remove(key)
            }
            // Go cannot tell `false` or `""` from an absent keyword, so neither counts as written.
            if value == .bool(false) || value == .string("") { fields.keywords.remove(key) }
        }
        return SchemaNode(fields)
    }

    private func string(_ value: JSON, _ key: String, _ path: FieldPath) throws(SchemaError) -> String {
        guard case .string(let s) = value else { throw mismatch(value, key: key, goType: "string", path: path) }
        return s
    }

    private func bool(_ value: JSON, _ key: String, _ path: FieldPath) throws(SchemaError) -> Bool {
        guard case .bool(let b) = value else { throw mismatch(value, key: key, goType: "bool", path: path) }
        return b
    }

    private func number(_ value: JSON, _ key: String, _ path: FieldPath) throws(SchemaError) -> Double {
        guard let d = value.double else { throw mismatch(value, key: key, goType: "float64", path: path) }
        return d
    }

    private func integer(_ value: JSON, _ key: String, _ path: FieldPath) throws(SchemaError) -> Int64 {
        guard case .int(let i) = value else { throw mismatch(value, key: key, goType: "int64", path: path) }
        return i
    }

    private func strings(_ value: JSON, _ key: String, _ path: FieldPath) throws(SchemaError) -> [String] {
        guard case .array(let elements) = value else { throw mismatch(value, key: key, goType: "[]string", path: path) }
        var out: [String] = []
        for element in elements {
            guard case .string(let s) = element else { throw mismatch(element, key: key, goType: "string", path: path) }
            out.append(s)
        }
        return out
    }

    private func schemas(_ value: JSON, _ key: String, _ path: FieldPath, _ depth: Int) throws(SchemaError) -> [SchemaNode] {
        guard case .array(let elements) = value else {
            throw mismatch(value, key: key, goType: "[]v1.JSONSchemaProps", path: path)
        }
        var out: [SchemaNode] = []
        for (index, element) in elements.enumerated() {
            out.append(try decode(element, at: path.index(index), depth: depth + 1))
        }
        return out
    }

    /// encoding/json's `UnmarshalTypeError` text: what the JSON held, and the Go type it could not fill.
    private func mismatch(_ value: JSON, key: String?, goType: String, path: FieldPath) -> SchemaError {
        let found: String
        switch value {
        case .null: found = "null"
        case .bool: found = "bool"
        case .int, .double: found = goType.hasPrefix("int") ? "number \(GoText.marshal(value))" : "number"
        case .string: found = "string"
        case .array: found = "array"
        case .object: found = "object"
        }
        let field = key.map { " into Go struct field JSONSchemaProps.\($0)" } ?? " into Go value"
        return SchemaError(causes: [FieldError(
            field: path.relative, reason: .typeInvalid,
            message: "json: cannot unmarshal \(found)\(field) of type \(goType)")])
    }
}
