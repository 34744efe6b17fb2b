import KubeJSON

/// One reason an object (or a schema) is invalid, as a cause of a Kubernetes `Status`: the field, the
/// reason, and the message the real server writes (apimachinery's `field.Error.ErrorBody()`).
public struct FieldError: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case invalid = "FieldValueInvalid"
        case typeInvalid = "FieldValueTypeInvalid"
        case notSupported = "FieldValueNotSupported"
        case required = "FieldValueRequired"
        case tooLong = "FieldValueTooLong"
        case tooMany = "FieldValueTooMany"
        case duplicate = "FieldValueDuplicate"
        case forbidden = "FieldValueForbidden"
    }

    /// e.g. `spec.priority`, `spec.items[2].name`; `<nil>` where the server has no field to name.
    public var field: String
    public var reason: Reason
    /// e.g. `Invalid value: 11: spec.priority in body should be less than or equal to 10`.
    public var message: String

    public init(field: String, reason: Reason, message: String) {
        self.field = field
        self.reason = reason
        self.message = message
    }

    /// `field: message`, as the server joins them in a `Status` message.
    public var description: String { "\(field): \(message)" }

    /// The text the server puts after `... is invalid: ` in a `Status` message for these errors:
    /// one error alone, or several in brackets, each distinct text once (apimachinery's aggregate).
    public static func aggregate(_ errors: [FieldError]) -> String {
        var seen = Set<String>()
        var texts: [String] = []
        for error in errors where seen.insert(error.description).inserted {
            texts.append(error.description)
        }
        return texts.count == 1 ? texts[0] : "[" + texts.joined(separator: ", ") + "]"
    }
}

extension FieldError {
    /// The ways apimachinery's `field` package words each kind of error, so every producer here
    /// spells them alike.
    static func invalid(_ path: FieldPath, _ value: JSON, _ detail: String) -> FieldError {
        FieldError(field: path.string, reason: .invalid, message: "Invalid value: \(badValue(value))" + suffix(detail))
    }

    static func typeInvalid(_ path: FieldPath, _ value: JSON, _ detail: String) -> FieldError {
        FieldError(field: path.string, reason: .typeInvalid, message: "Invalid value: \(badValue(value))" + suffix(detail))
    }

    static func required(_ path: FieldPath, _ detail: String = "") -> FieldError {
        FieldError(field: path.string, reason: .required, message: "Required value" + suffix(detail))
    }

    static func forbidden(_ path: FieldPath, _ detail: String) -> FieldError {
        FieldError(field: path.string, reason: .forbidden, message: "Forbidden" + suffix(detail))
    }

    static func notSupported(_ path: FieldPath, _ value: JSON, _ supported: [String]) -> FieldError {
        let detail = supported.isEmpty ? "" : "supported values: " + supported.map(GoText.quote).joined(separator: ", ")
        return FieldError(field: path.string, reason: .notSupported, message: "Unsupported value: \(badValue(value))" + suffix(detail))
    }

    static func duplicate(_ path: FieldPath, _ value: JSON) -> FieldError {
        FieldError(field: path.string, reason: .duplicate, message: "Duplicate value: \(badValue(value))")
    }

    /// `field.TooLong`: the value itself is left out of the message.
    static func tooLong(_ path: FieldPath, maximum: Int64?) -> FieldError {
        let detail = maximum.map { "may not be more than \($0) bytes" } ?? "value is too long"
        return FieldError(field: path.string, reason: .tooLong, message: "Too long: " + detail)
    }

    static func tooMany(_ path: FieldPath, actual: Int64?, maximum: Int64?) -> FieldError {
        let detail = maximum.map { "must have at most \($0) items" } ?? "too many items"
        let value = actual.map { "Too many: \($0)" } ?? "Too many"
        return FieldError(field: path.string, reason: .tooMany, message: value + ": " + detail)
    }

    private static func suffix(_ detail: String) -> String { detail.isEmpty ? "" : ": " + detail }

    /// How `ErrorBody` prints a bad value held in an `interface{}`: numbers and booleans bare,
    /// strings quoted, nil as the quoted word null, maps and slices in Go syntax.
    static func badValue(_ value: JSON) -> String {
        switch value {
        case .null: return GoText.quote("null")
        case .bool, .int, .double: return GoText.number(value)
        case .string(let s): return GoText.quote(s)
        case .array, .object: return GoText.goSyntax(value)
        }
    }
}
