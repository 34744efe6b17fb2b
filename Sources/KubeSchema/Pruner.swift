import KubeJSON

/// Drops the object fields a schema does not declare, as apiextensions' pruning does, and says where
/// each was.
///
/// Kept: fields the schema declares; any field of an object with `additionalProperties`; everything
/// under `x-kubernetes-preserve-unknown-fields` (though declared fields below it are still pruned
/// inside); and `apiVersion`, `kind` and `metadata` of the resource itself and of every
/// `x-kubernetes-embedded-resource` object.
struct Pruner {
    /// Values built in code may nest deeper than parsed JSON can; walks stop there.
    private static let maximumDepth = JSON.maximumDepth + 8
    private static let metaFields: Set<String> = ["apiVersion", "kind", "metadata"]

    /// The paths removed, in the order met (depth first, members in the order written).
    private(set) var removed: [String] = []

    /// Prunes a whole resource: its root counts as an embedded resource, so its type and object
    /// metadata are left alone.
    mutating func prune(resource value: inout JSON, _ schema: SchemaNode) {
        prune(&value, schema, embedded: true, path: "", depth: 0)
    }

    /// Prunes a value that is not a resource root (a default value).
    mutating func prune(value: inout JSON, _ schema: SchemaNode) {
        prune(&value, schema, embedded: schema.embeddedResource, path: "", depth: 0)
    }

    /// `preserving` is set below `x-kubernetes-preserve-unknown-fields`: there unknown fields stay,
    /// declared ones are still pruned inside (where preservation stops unless their own schema says
    /// it), and arrays carry the preservation down to their items.
    private mutating func prune(
        _ value: inout JSON, _ schema: SchemaNode?, embedded: Bool, path: String, depth: Int, preserving: Bool = false
    ) {
        guard depth < Self.maximumDepth else { return }
        let preserving = preserving || (schema?.preservesUnknownFields ?? false)
        // Preserved and described no further: kept as it is.
        if preserving && schema == nil { return }
        switch value {
        case .object(var members):
            guard let schema else {
                for key in members.keys { removed.append(join(path, key)) }
                value = .object([:])
                return
            }
            for key in Array(members.keys) {
                if embedded && Self.metaFields.contains(key) { continue }
                if let property = schema.properties[key] {
                    prune(&members[key]!, property, embedded: property.embeddedResource, path: join(path, key), depth: depth + 1)
                } else if let additional = schema.additionalProperties {
                    let child: SchemaNode? = if case .schema(let node) = additional { node } else { nil }
                    prune(&members[key]!, child, embedded: child?.embeddedResource ?? false, path: join(path, key), depth: depth + 1)
                } else if !preserving {
                    removed.append(join(path, key))
                    members.removeValue(forKey: key)
                }
            }
            value = .object(members)
        case .array(var items):
            let itemSchema = schema?.itemSchema
            for index in items.indices {
                prune(&items[index], itemSchema, embedded: itemSchema?.embeddedResource ?? false,
                      path: "\(path)[\(index)]", depth: depth + 1, preserving: preserving)
            }
            value = .array(items)
        default:
            break
        }
    }

    private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }
}
