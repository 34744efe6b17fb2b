import KubeJSON

/// A small JSON Schema check of tool arguments against a tool's inputSchema: `type`, `enum`, `const`,
/// `required`, `properties`, `additionalProperties: false`, `items`, and the numeric, length and count bounds.
/// Enough to tell a model which field is wrong and why; keywords it does not know pass (the agent is the
/// final judge of its input).
enum ArgumentCheck {
    /// The first violation, worded for the model (`` `city`: expected string, got integer ``); nil when none.
    static func violation(of value: JSON, against schema: JSON, at path: String = "") -> String? {
        guard case .object(let rules) = schema else { return nil }
        let place = path.isEmpty ? "the arguments" : "`\(path)`"
        if let expected = rules["type"] {
            let names = expected.array?.compactMap(\.string) ?? expected.string.map { [$0] } ?? []
            if !names.isEmpty, !names.contains(where: { matches(value, type: $0) }) {
                return "\(place): expected \(names.joined(separator: " or ")), got \(value.typeName)"
            }
        }
        if let options = rules["enum"]?.array, !options.contains(value) {
            return "\(place): must be one of \(JSON.array(options).text), got \(value.text)"
        }
        if let constant = rules["const"], constant != value {
            return "\(place): must be \(constant.text), got \(value.text)"
        }
        switch value {
        case .object(let members):
            for name in rules["required"]?.array?.compactMap(\.string) ?? [] where members[name] == nil {
                return "`\(join(path, name))` is required"
            }
            let properties = rules["properties"]?.object ?? [:]
            for (name, member) in members {
                if let rule = properties[name] {
                    if let problem = violation(of: member, against: rule, at: join(path, name)) { return problem }
                } else if rules["additionalProperties"] == .bool(false) {
                    return "`\(join(path, name))` is not an accepted argument (accepted: \(properties.keys.sorted().joined(separator: ", ")))"
                } else if let rule = rules["additionalProperties"], rule.object != nil,
                          let problem = violation(of: member, against: rule, at: join(path, name)) {
                    return problem
                }
            }
        case .array(let elements):
            if let minimum = rules["minItems"]?.int, elements.count < minimum { return "\(place): needs at least \(minimum) items" }
            if let maximum = rules["maxItems"]?.int, elements.count > maximum { return "\(place): takes at most \(maximum) items" }
            if let rule = rules["items"] {
                for (index, element) in elements.enumerated() {
                    if let problem = violation(of: element, against: rule, at: "\(path)[\(index)]") { return problem }
                }
            }
        case .string(let text):
            let length = text.count
            if let minimum = rules["minLength"]?.int, length < minimum { return "\(place): must be at least \(minimum) characters" }
            if let maximum = rules["maxLength"]?.int, length > maximum { return "\(place): must be at most \(maximum) characters" }
        case .int, .double:
            let number = value.double ?? 0
            if let minimum = rules["minimum"]?.double, number < minimum { return "\(place): must be at least \(JSON.format(minimum))" }
            if let maximum = rules["maximum"]?.double, number > maximum { return "\(place): must be at most \(JSON.format(maximum))" }
        default:
            break
        }
        return nil
    }

    private static func matches(_ value: JSON, type: String) -> Bool {
        switch type {
        case "integer": value.int != nil
        case "number": value.double != nil
        case "null": value.isNull
        default: value.typeName == type
        }
    }

    private static func join(_ path: String, _ member: String) -> String {
        path.isEmpty ? member : "\(path).\(member)"
    }
}

extension JSON {
    /// Numbers as the writer spells them, for messages.
    fileprivate static func format(_ number: Double) -> String {
        JSON.double(number).text
    }
}
