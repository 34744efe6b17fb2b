import KubeJSON
import KubeSchema

/// A failed request, as the Kubernetes `Status` object the server answers with.
///
/// Every constructor words its message the way kube-apiserver does, since clients (kubectl, client-go)
/// show these messages to people and sometimes match on them.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var code: Int
    public var reason: String
    public var message: String
    public var details: JSON?
    /// Extra response headers, such as Retry-After.
    public var headers: [(String, String)] = []

    public init(code: Int, reason: String, message: String, details: JSON? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
    }

    public var description: String { "\(code) \(reason): \(message)" }

    /// The Status object.
    public var status: JSON {
        var object: JSONObject = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason),
        ]
        if let details { object["details"] = details }
        object["code"] = .int(Int64(code))
        return .object(object)
    }

    // MARK: Constructors named after the reasons

    static func details(_ resource: ResourceType?, name: String, kind: String? = nil) -> JSON {
        var d: JSONObject = ["name": .string(name)]
        if let resource, !resource.group.isEmpty { d["group"] = .string(resource.group) }
        d["kind"] = .string(kind ?? resource?.plural ?? "")
        return .object(d)
    }

    public static func notFound(_ resource: ResourceType, name: String) -> APIError {
        APIError(
            code: 404, reason: "NotFound", message: "\(resource.groupResource) \"\(name)\" not found",
            details: details(resource, name: name))
    }

    public static func namespaceNotFound(_ namespace: String) -> APIError {
        APIError(
            code: 404, reason: "NotFound", message: "namespaces \"\(namespace)\" not found",
            details: ["name": .string(namespace), "kind": "namespaces"])
    }

    public static func alreadyExists(_ resource: ResourceType, name: String) -> APIError {
        APIError(
            code: 409, reason: "AlreadyExists", message: "\(resource.groupResource) \"\(name)\" already exists",
            details: details(resource, name: name))
    }

    public static func conflict(_ resource: ResourceType, name: String) -> APIError {
        APIError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(resource.groupResource) \"\(name)\": the object has been "
                + "modified; please apply your changes to the latest version and try again",
            details: details(resource, name: name))
    }

    public static func preconditionFailed(_ resource: ResourceType, name: String, message: String) -> APIError {
        APIError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(resource.groupKind) \"\(name)\": \(message)",
            details: details(resource, name: name, kind: resource.kind))
    }

    public static func invalid(_ resource: ResourceType, name: String, causes: [Cause]) -> APIError {
        invalid(group: resource.group, kind: resource.kind, name: name, causes: causes)
    }

    /// Invalid request options (CreateOptions, ListOptions, DeleteOptions, ...): the real handlers
    /// report them as an unnamed object of group meta.k8s.io.
    public static func invalidOptions(_ kind: String, causes: [Cause]) -> APIError {
        invalid(group: "meta.k8s.io", kind: kind, name: "", causes: causes)
    }

    static func invalid(group: String, kind: String, name: String, causes: [Cause]) -> APIError {
        let joined =
            causes.count == 1
            ? causes[0].text : "[" + causes.map(\.text).joined(separator: ", ") + "]"
        var d: JSONObject = [
            "causes": .array(
                causes.map { .object(["field": .string($0.field), "message": .string($0.message), "reason": .string($0.reason)]) })
        ]
        if !group.isEmpty { d["group"] = .string(group) }
        d["kind"] = .string(kind)
        d["name"] = .string(name)
        let groupKind = group.isEmpty ? kind : "\(kind).\(group)"
        return APIError(
            code: 422, reason: "Invalid", message: "\(groupKind) \"\(name)\" is invalid: \(joined)",
            details: .object(d))
    }

    public static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    public static func methodNotAllowed(_ message: String) -> APIError {
        APIError(code: 405, reason: "MethodNotAllowed", message: message)
    }

    public static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    public static func notAcceptable(_ message: String) -> APIError {
        APIError(code: 406, reason: "NotAcceptable", message: message)
    }

    public static func unsupportedMediaType(_ message: String) -> APIError {
        APIError(code: 415, reason: "UnsupportedMediaType", message: message)
    }

    public static func tooLarge(limit: Int) -> APIError {
        APIError(code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: limit is \(limit)")
    }

    /// kube-apiserver's answer when more requests are in flight than `--max-requests-inflight` allows.
    public static var tooManyRequests: APIError {
        var error = APIError(code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.",
                             details: ["retryAfterSeconds": 1])
        error.headers = [("Retry-After", "1")]
        return error
    }

    public static func expired(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    public static func pathNotFound() -> APIError {
        APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: [:])
    }

    public static func internalError(_ message: String) -> APIError {
        APIError(
            code: 500, reason: "InternalError",
            message: "Internal error occurred: \(message)",
            details: ["causes": [["message": .string(message)]]])
    }

    public static func timeout(_ message: String, retryAfterSeconds: Int) -> APIError {
        var error = APIError(
            code: 504, reason: "Timeout", message: message,
            details: ["retryAfterSeconds": .int(Int64(retryAfterSeconds))])
        error.headers = [("Retry-After", String(retryAfterSeconds))]
        return error
    }

    public static func forbidden(_ resource: ResourceType, name: String, message: String) -> APIError {
        APIError(
            code: 403, reason: "Forbidden",
            message: "\(resource.groupResource) \"\(name)\" is forbidden: \(message)",
            details: details(resource, name: name))
    }
}

/// One reason an object is invalid, as a Status cause.
public struct Cause: Sendable, Equatable {
    public var field: String
    public var reason: String
    /// The text after the field, e.g. `Invalid value: 11: spec.priority in body should be ...`.
    public var message: String

    public init(field: String, reason: String, message: String) {
        self.field = field
        self.reason = reason
        self.message = message
    }

    var text: String { field.isEmpty ? message : "\(field): \(message)" }

    static func required(_ field: String, _ detail: String = "") -> Cause {
        Cause(field: field, reason: "FieldValueRequired", message: detail.isEmpty ? "Required value" : "Required value: \(detail)")
    }

    static func invalid(_ field: String, _ value: JSON, _ detail: String) -> Cause {
        Cause(field: field, reason: "FieldValueInvalid", message: "Invalid value: \(goValue(value)): \(detail)")
    }

    static func forbidden(_ field: String, _ detail: String) -> Cause {
        Cause(field: field, reason: "FieldValueForbidden", message: "Forbidden: \(detail)")
    }

    /// Go's field.NotSupported: the value as `%#v` shows it (`"x"` for a string, `[]string{"x"}` for
    /// a list), then the supported values, each quoted.
    static func notSupported(_ field: String, shown value: String, supported: [String]) -> Cause {
        Cause(field: field, reason: "FieldValueNotSupported",
              message: "Unsupported value: \(value): supported values: " + supported.map(GoText.quote).joined(separator: ", "))
    }

    /// Go's field.TooLong, which leaves the value out of the message.
    static func tooLong(_ field: String, limit: Int) -> Cause {
        Cause(field: field, reason: "FieldValueTooLong", message: "Too long: may not be more than \(limit) bytes")
    }

    /// Formats a value as Go's field errors print it: strings quoted as `%q` does, other values bare.
    static func goValue(_ value: JSON) -> String {
        switch value {
        case .string(let s): return GoText.quote(s)
        default: return value.text
        }
    }
}
