import KubeJSON

/// An error as kube-openapi's validator reports it (an `errors.Validation`, or a composite error for
/// `anyOf`, `oneOf`, `allOf` and `not`), and how the API server turns it into a field error
/// (apiextensions' `kubeOpenAPIResultToFieldErrors`).
struct OpenAPIError {
    enum Code {
        case invalidType, required, tooLong, tooShort, pattern, enumFail, multipleOf, maximum, minimum, unique
        case maxItems, minItems, tooFewProperties, tooManyProperties, propertyNotAllowed, multipleOfMustBePositive
        case composite
    }

    let code: Code
    /// The path of the value in kube-openapi's spelling (`spec.items[2].name`; `.spec` for a missing
    /// required field at the root; empty for the root itself).
    let name: String
    /// The offending value; null stands for Go's nil.
    var value: JSON = .null
    /// The allowed values of an enum.
    var allowed: [JSON] = []
    /// The limit reported beside the value (maxLength, maxItems, maxProperties).
    var limit: Int64?
    /// kube-openapi's own text, which becomes the detail of the field error.
    let message: String

    /// The field error the server reports, for a value validated at `base` (the nil path for a whole
    /// object; a default value's path when checking defaults).
    func fieldError(under base: FieldPath) -> FieldError {
        if code == .composite { return .invalid(base, "", message) }
        let trimmed = name.hasPrefix(".") ? String(name.dropFirst()) : name
        let path = trimmed.isEmpty ? base : base.child(trimmed)
        // Where the server has no value it prints the empty string.
        let shown: JSON = value.isNull ? "" : value
        switch code {
        case .required:
            return .required(path)
        case .enumFail:
            let supported = allowed.map { allowed -> String in
                if case .string(let s) = allowed { return s }
                return GoText.marshal(allowed)
            }
            return .notSupported(path, value, supported)
        case .tooLong:
            return .tooLong(path, maximum: limit)
        case .maxItems, .tooManyProperties:
            return .tooMany(path, actual: value.int, maximum: limit)
        case .invalidType:
            return .typeInvalid(path, shown, message)
        default:
            return .invalid(path, shown, message)
        }
    }
}

/// kube-openapi's error constructors, with its wording. Errors always name the value's place "in body".
extension OpenAPIError {
    static func invalidType(_ name: String, type: String, found: String) -> OpenAPIError {
        OpenAPIError(code: .invalidType, name: name, value: .string(found),
                     message: "\(name) in body must be of type \(type): \(GoText.quote(found))")
    }

    static func required(_ name: String) -> OpenAPIError {
        OpenAPIError(code: .required, name: name, message: "\(name) in body is required")
    }

    /// A length or count beyond its bound: "\(name) in body should \(expectation)". Only an upper
    /// bound is kept as the limit, which the server's TooLong and TooMany errors print.
    private static func outOfBounds(
        _ code: Code, _ name: String, value: JSON, upperBound: Int64? = nil, should expectation: String
    ) -> OpenAPIError {
        OpenAPIError(code: code, name: name, value: value, limit: upperBound, message: "\(name) in body should \(expectation)")
    }

    static func tooLong(_ name: String, maximum: Int64, value: String) -> OpenAPIError {
        outOfBounds(.tooLong, name, value: .string(value), upperBound: maximum, should: "be at most \(maximum) chars long")
    }

    static func tooShort(_ name: String, minimum: Int64, value: String) -> OpenAPIError {
        outOfBounds(.tooShort, name, value: .string(value), should: "be at least \(minimum) chars long")
    }

    static func pattern(_ name: String, pattern: String, value: String) -> OpenAPIError {
        OpenAPIError(code: .pattern, name: name, value: .string(value), message: "\(name) in body should match '\(pattern)'")
    }

    static func enumFail(_ name: String, value: JSON, allowed: [JSON]) -> OpenAPIError {
        let listed = allowed.map { GoText.goValue($0) }.joined(separator: " ")
        return OpenAPIError(code: .enumFail, name: name, value: value, allowed: allowed,
                            message: "\(name) in body should be one of [\(listed)]")
    }

    static func multipleOf(_ name: String, factor: JSON, value: JSON) -> OpenAPIError {
        OpenAPIError(code: .multipleOf, name: name, value: value,
                     message: "\(name) in body should be a multiple of \(GoText.number(factor))")
    }

    static func multipleOfMustBePositive(_ name: String, factor: JSON) -> OpenAPIError {
        OpenAPIError(code: .multipleOfMustBePositive, name: name, value: factor,
                     message: "factor MultipleOf declared for \(name) must be positive: \(GoText.number(factor))")
    }

    static func maximum(_ name: String, bound: JSON, exclusive: Bool, value: JSON) -> OpenAPIError {
        let relation = exclusive ? "less than" : "less than or equal to"
        return outOfBounds(.maximum, name, value: value, should: "be \(relation) \(GoText.number(bound))")
    }

    static func minimum(_ name: String, bound: JSON, exclusive: Bool, value: JSON) -> OpenAPIError {
        let relation = exclusive ? "greater than" : "greater than or equal to"
        return outOfBounds(.minimum, name, value: value, should: "be \(relation) \(GoText.number(bound))")
    }

    static func duplicateItems(_ name: String) -> OpenAPIError {
        OpenAPIError(code: .unique, name: name, message: "\(name) in body shouldn't contain duplicates")
    }

    static func tooManyItems(_ name: String, maximum: Int64, size: Int64) -> OpenAPIError {
        outOfBounds(.maxItems, name, value: .int(size), upperBound: maximum, should: "have at most \(maximum) items")
    }

    static func tooFewItems(_ name: String, minimum: Int64, size: Int64) -> OpenAPIError {
        outOfBounds(.minItems, name, value: .int(size), should: "have at least \(minimum) items")
    }

    static func tooManyProperties(_ name: String, maximum: Int64, size: Int64) -> OpenAPIError {
        outOfBounds(.tooManyProperties, name, value: .int(size), upperBound: maximum, should: "have at most \(maximum) properties")
    }

    static func tooFewProperties(_ name: String, minimum: Int64, size: Int64) -> OpenAPIError {
        outOfBounds(.tooFewProperties, name, value: .int(size), should: "have at least \(minimum) properties")
    }

    static func propertyNotAllowed(_ name: String, key: String) -> OpenAPIError {
        OpenAPIError(code: .propertyNotAllowed, name: name, value: .string(key), message: "\(name).\(key) in body is a forbidden property")
    }

    static func composite(_ message: String) -> OpenAPIError {
        OpenAPIError(code: .composite, name: "", message: message)
    }
}

extension GoText {
    /// `%v` of a decoded JSON value inside a slice (as in an enum's `should be one of [...]`).
    static func goValue(_ value: JSON) -> String {
        switch value {
        case .null: return "<nil>"
        case .string(let s): return s
        case .array(let elements): return "[" + elements.map(goValue).joined(separator: " ") + "]"
        case .object(let members):
            return "map[" + members.keys.sorted(by: goLess).map { "\($0):\(goValue(members[$0] ?? .null))" }.joined(separator: " ") + "]"
        default: return number(value)
        }
    }
}
