import KubeJSON

/// The uniqueness that `x-kubernetes-list-type` promises: whole items of a `set`, the key fields of a
/// `map` (apiextensions' listtype validation). The server checks this after schema validation and
/// reports it after the schema's errors; so does this.
struct ListTypeValidator {
    /// Walks below this depth are cut short, for values built in code deeper than JSON allows.
    private static let maximumDepth = JSON.maximumDepth + 8

    func validate(_ value: JSON, against schema: SchemaNode) -> [FieldError] {
        guard case .object(let members) = value else { return [] }
        var errors: [FieldError] = []
        visitObject(members, schema, .none, 0, &errors)
        return errors
    }

    private func visitObject(_ members: JSONObject, _ schema: SchemaNode, _ path: FieldPath, _ depth: Int, _ errors: inout [FieldError]) {
        guard depth < Self.maximumDepth else { return }
        for (key, value) in members {
            if let property = schema.properties[key] {
                visit(value, property, path.child(key), depth + 1, &errors)
            } else if let additional = schema.additionalSchema {
                visit(value, additional, path.key(key), depth + 1, &errors)
            }
        }
    }

    private func visit(_ value: JSON, _ schema: SchemaNode, _ path: FieldPath, _ depth: Int, _ errors: inout [FieldError]) {
        switch value {
        case .object(let members): visitObject(members, schema, path, depth, &errors)
        case .array(let items): visitArray(items, schema, path, depth, &errors)
        default: break
        }
    }

    private func visitArray(_ items: [JSON], _ schema: SchemaNode, _ path: FieldPath, _ depth: Int, _ errors: inout [FieldError]) {
        switch schema.listType {
        case "set"?:
            for index in repeatedIndices(items.map(Self.identity)) { errors.append(.duplicate(path.index(index), items[index])) }
        case "map"?:
            errors += mapErrors(items, schema.listMapKeys, path)
        default:
            break
        }
        guard let itemSchema = schema.itemSchema, depth < Self.maximumDepth else { return }
        for (index, item) in items.enumerated() {
            visit(item, itemSchema, path.index(index), depth + 1, &errors)
        }
    }

    /// A text equal for values Go deems equal: scalars by Go type and value, compound values by their
    /// JSON encoding (object keys sorted), as the server compares them.
    private static func identity(_ value: JSON) -> String {
        switch value {
        case .null: return "nil"
        case .bool(let b): return "bool:\(b)"
        case .int(let i): return "int64:\(i)"
        case .double(let d): return "float64:\(d)"
        case .string(let s): return "string:" + s
        case .array, .object: return "json:" + GoText.marshal(value)
        }
    }

    private func mapErrors(_ items: [JSON], _ keys: [String], _ path: FieldPath) -> [FieldError] {
        for (index, item) in items.enumerated() {
            switch item {
            case .null, .object: continue
            default: return [.invalid(path.index(index), item, "must be an object for an array of list-type map")]
            }
        }
        guard items.count > 1 else { return [] }
        if keys.count == 1 {
            // With one key, an item without it (or a null item) has an "unspecified" key, which is
            // equal to other unspecified keys only.
            let field = keys[0]
            let values: [JSON?] = items.map { $0[field] }
            return repeatedIndices(values.map { $0.map(Self.identity) ?? "unspecified" }).map { index in
                let key: JSON = values[index].map { .object([field: $0]) } ?? .object([:])
                return .duplicate(path.index(index), key)
            }
        }
        let tuples: [JSON] = items.map { item in
            var key: JSONObject = [:]
            for field in keys { if let value = item[field] { key[field] = value } }
            return .object(key)
        }
        return repeatedIndices(tuples.map(Self.identity)).map { .duplicate(path.index($0), tuples[$0]) }
    }

    /// The index of each value's second appearance (later repeats are not reported again).
    private func repeatedIndices(_ identities: [String]) -> [Int] {
        var seen: [String: Int] = [:]
        var repeats: [Int] = []
        for (index, identity) in identities.enumerated() {
            let times = seen[identity, default: 0]
            seen[identity] = times + 1
            if times == 1 { repeats.append(index) }
        }
        return repeats
    }
}
