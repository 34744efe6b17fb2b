import KubeJSON
import Yams

/// A value of the configuration file with its path (`capabilities[1].http`), so that every error names
/// the field it is about and the line it is on.
struct YAMLField {
    let node: Node
    let path: String
    let file: String

    func error(_ reason: String) -> ConfigurationError {
        ConfigurationError(field: path.isEmpty ? "(top level)" : path, reason: reason,
                           source: node.mark.map { "\(file), line \($0.line)" } ?? file)
    }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The fields of a mapping by key, in file order; any key not in `known` is an error (a misspelt
    /// field would otherwise be ignored without a word).
    func mapping(known: [String]) throws(ConfigurationError) -> [String: YAMLField] {
        guard case .mapping(let mapping) = resolved else { throw error("must be a mapping (key: value), not \(kind)") }
        var fields: [String: YAMLField] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw error("has a key that is not a string") }
            guard known.contains(name) else {
                throw YAMLField(node: key, path: child(name), file: file).error("unknown field; known here: \(known.joined(separator: ", "))")
            }
            guard fields[name] == nil else { throw YAMLField(node: key, path: child(name), file: file).error("given twice") }
            fields[name] = YAMLField(node: value, path: child(name), file: file)
        }
        return fields
    }

    func sequence() throws(ConfigurationError) -> [YAMLField] {
        guard case .sequence(let sequence) = resolved else { throw error("must be a list, not \(kind)") }
        return sequence.enumerated().map { YAMLField(node: $1, path: "\(path)[\($0)]", file: file) }
    }

    func string() throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = resolved, tagName != .null else { throw error("must be a string, not \(kind)") }
        return scalar.string
    }

    func strings() throws(ConfigurationError) -> [String] {
        var values: [String] = []
        for item in try sequence() { values.append(try item.string()) }
        return values
    }

    func stringMap() throws(ConfigurationError) -> [String: String] {
        guard case .mapping(let mapping) = resolved else { throw error("must be a mapping (key: value), not \(kind)") }
        var values: [String: String] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw error("has a key that is not a string") }
            values[name] = try YAMLField(node: value, path: child(name), file: file).string()
        }
        return values
    }

    func int() throws(ConfigurationError) -> Int {
        guard tagName == .int, let value = node.int else { throw error("must be a whole number, not \(describedValue)") }
        return value
    }

    func number() throws(ConfigurationError) -> Double {
        guard tagName == .int || tagName == .float, let value = node.float else {
            throw error("must be a number, not \(describedValue)")
        }
        return value
    }

    func bool() throws(ConfigurationError) -> Bool {
        guard tagName == .bool, let value = node.bool else { throw error("must be true or false, not \(describedValue)") }
        return value
    }

    /// The value as JSON, for schemas: scalars by their YAML type.
    func json() throws(ConfigurationError) -> JSON {
        switch resolved {
        case .scalar(let scalar):
            switch tagName {
            case .null: return .null
            case .bool: return node.bool.map(JSON.bool) ?? .string(scalar.string)
            case .int: return node.int.map { .int(Int64($0)) } ?? .string(scalar.string)
            case .float: return node.float.map(JSON.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence:
            var items: [JSON] = []
            for item in try sequence() { items.append(try item.json()) }
            return .array(items)
        case .mapping(let mapping):
            var object: JSONObject = [:]
            for (key, value) in mapping {
                guard let name = key.string else { throw error("has a key that is not a string") }
                object[name] = try YAMLField(node: value, path: child(name), file: file).json()
            }
            return .object(object)
        case .alias:
            throw error("aliases are not supported here")
        }
    }

    private var resolved: Node { node }

    /// The scalar's resolved YAML type (`Tag.name` is not public).
    private var tagName: Tag.Name { Tag.Name(rawValue: node.tag.rawValue) }

    private var kind: String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar: tagName == .null ? "empty" : "a scalar"
        }
    }

    private var describedValue: String {
        if case .scalar(let scalar) = node { return "\"\(scalar.string)\"" }
        return kind
    }
}
