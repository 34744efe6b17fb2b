import KubeJSON

/// Fills in schema defaults as apiextensions does when it reads an object.
///
/// First, nulls are dropped where the schema neither allows null (`nullable`) nor has a default to
/// put in their place. Then, for every object the value has, each declared property that is absent,
/// or null without being nullable, gets its default; defaults of nested properties then apply inside
/// whatever is there, defaults included. Array items and `additionalProperties` values that are null
/// without being nullable get their schema's default.
///
/// New members are added after the existing ones, in the order the schema declares them; the server
/// writes object members sorted by name anyway.
struct Defaulter {
    /// Values built in code may nest deeper than parsed JSON can; walks stop there.
    private static let maximumDepth = JSON.maximumDepth + 8

    func apply(_ value: inout JSON, _ schema: SchemaNode) {
        dropNulls(&value, schema, depth: 0)
        fill(&value, schema, depth: 0)
    }

    /// apiextensions' `PruneNonNullableNullsWithoutDefaults`: only object members are dropped; null
    /// array items stay for validation to report.
    private func dropNulls(_ value: inout JSON, _ schema: SchemaNode?, depth: Int) {
        guard depth < Self.maximumDepth else { return }
        switch value {
        case .object(var members):
            for key in Array(members.keys) {
                let child = Self.schema(for: key, in: schema)
                if members[key] == .null, let child, !child.nullable, child.defaultValue == nil {
                    members.removeValue(forKey: key)
                } else {
                    dropNulls(&members[key]!, child, depth: depth + 1)
                }
            }
            value = .object(members)
        case .array(var items):
            for index in items.indices { dropNulls(&items[index], schema?.itemSchema, depth: depth + 1) }
            value = .array(items)
        default:
            break
        }
    }

    private static func schema(for key: String, in schema: SchemaNode?) -> SchemaNode? {
        guard let schema else { return nil }
        return schema.properties[key] ?? schema.additionalSchema
    }

    /// apiextensions' `Default`.
    private func fill(_ value: inout JSON, _ schema: SchemaNode, depth: Int) {
        guard depth < Self.maximumDepth else { return }
        switch value {
        case .object(var members):
            for (name, property) in schema.orderedProperties {
                guard let defaultValue = property.defaultValue else { continue }
                if let present = members[name], !Self.isNonNullableNull(present, property) { continue }
                members[name] = defaultValue
            }
            for key in Array(members.keys) {
                if let property = schema.properties[key] {
                    fill(&members[key]!, property, depth: depth + 1)
                } else if let additional = schema.additionalSchema {
                    if Self.isNonNullableNull(members[key]!, additional) { members[key] = additional.defaultValue ?? .null }
                    fill(&members[key]!, additional, depth: depth + 1)
                }
            }
            value = .object(members)
        case .array(var items):
            guard let itemSchema = schema.itemSchema else { return }
            for index in items.indices {
                if Self.isNonNullableNull(items[index], itemSchema) { items[index] = itemSchema.defaultValue ?? .null }
                fill(&items[index], itemSchema, depth: depth + 1)
            }
            value = .array(items)
        default:
            break
        }
    }

    private static func isNonNullableNull(_ value: JSON, _ schema: SchemaNode) -> Bool {
        value.isNull && !schema.nullable
    }
}
