import Foundation
import KubeJSON

/// What the query string and headers of a resource request ask for, checked once.
struct RequestContext {
    enum Format: Equatable {
        case json
        /// A meta.k8s.io Table; `includeObject` is None, Metadata (the default) or Object.
        case table(includeObject: String)
        /// PartialObjectMetadata(List).
        case metadata
    }

    var format: Format = .json
    var isWatch = false
    var labelSelector = try! LabelSelector(parsing: "")
    var fieldSelector: FieldSelector
    var limit: Int?
    var continueToken: String?
    var resourceVersion: String?
    var resourceVersionMatch: String?
    var sendInitialEvents = false
    var allowBookmarks = false
    var timeoutSeconds: Int?
    /// The `fieldManager` parameter, as given.
    var fieldManager: String?
    /// Who managedFields credits with the change: the field manager, else the user agent's program name.
    var manager: String
    /// The managedFields operation: Update, or Apply for server-side apply.
    var operation = "Update"
    var appliedConfiguration: JSON?
    /// Strict, Warn or Ignore: what unknown fields in a body cause.
    var fieldValidation = "Warn"
    var dryRun = false

    init(request: APIRequest, type: ResourceType) throws(APIError) {
        let query = request.query
        format = try Self.negotiate(request.accept, includeObject: query["includeObject"])
        isWatch = Self.flag(query["watch"])
        labelSelector = try LabelSelector(parsing: query["labelSelector"] ?? "")
        fieldSelector = try FieldSelector(parsing: query["fieldSelector"] ?? "", supported: type.fieldLabels)
        if let text = query["limit"], !text.isEmpty {
            guard let value = Int(text) else { throw APIError.badRequest("limit: Invalid value: \"\(text)\": must be an integer") }
            limit = value > 0 ? value : nil
        }
        continueToken = query["continue"].flatMap { $0.isEmpty ? nil : $0 }
        resourceVersion = query["resourceVersion"]
        resourceVersionMatch = query["resourceVersionMatch"].flatMap { $0.isEmpty ? nil : $0 }
        if let match = resourceVersionMatch, match != "NotOlderThan", match != "Exact" {
            throw APIError.badRequest("resourceVersionMatch: Unsupported value: \"\(match)\": supported values: \"Exact\", \"NotOlderThan\"")
        }
        sendInitialEvents = Self.flag(query["sendInitialEvents"])
        allowBookmarks = Self.flag(query["allowWatchBookmarks"])
        if let text = query["timeoutSeconds"], !text.isEmpty {
            guard let value = Int(text), value >= 0 else {
                throw APIError.badRequest("timeoutSeconds: Invalid value: \"\(text)\": must be a non-negative integer")
            }
            timeoutSeconds = value
        }
        if sendInitialEvents {
            guard isWatch else { throw APIError.badRequest("sendInitialEvents is only supported for watch requests") }
            guard allowBookmarks else {
                throw APIError.invalid(type, name: "", causes: [
                    Cause.forbidden("allowWatchBookmarks", "sendInitialEvents requires setting allowWatchBookmarks to true")
                ])
            }
        }
        fieldManager = query["fieldManager"]
        if let fieldManager, fieldManager.utf8.count > 128 {
            throw APIError.badRequest("fieldManager: Too long: may not be more than 128 bytes")
        }
        let agent = request.userAgent.map { String($0.split(separator: "/", maxSplits: 1).first ?? "") } ?? ""
        manager = fieldManager.flatMap { $0.isEmpty ? nil : $0 } ?? (agent.isEmpty ? "unknown" : String(agent.prefix(128)))
        if let validation = query["fieldValidation"], !validation.isEmpty {
            guard ["Strict", "Warn", "Ignore"].contains(validation) else {
                throw APIError.badRequest("fieldValidation: Unsupported value: \"\(validation)\": supported values: \"Ignore\", \"Strict\", \"Warn\"")
            }
            fieldValidation = validation
        }
        if let dry = query["dryRun"], !dry.isEmpty {
            guard dry == "All" else { throw APIError.badRequest("dryRun: Unsupported value: \"\(dry)\": supported values: \"All\"") }
            dryRun = true
        }
    }

    /// Go's strconv.ParseBool, as the server reads boolean parameters.
    static func flag(_ value: String?) -> Bool {
        ["1", "t", "T", "true", "TRUE", "True"].contains(value ?? "")
    }

    /// Chooses the answer's form from the Accept header, in the client's order of preference.
    static func negotiate(_ accept: String?, includeObject: String?) throws(APIError) -> Format {
        guard let accept, !accept.isEmpty else { return .json }
        for clause in accept.split(separator: ",") {
            let parts = clause.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let media = parts.first?.lowercased() ?? ""
            var parameters: [String: String] = [:]
            for part in parts.dropFirst() {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { parameters[pair[0].lowercased()] = pair[1] }
            }
            guard ["application/json", "application/*", "*/*", "application/yaml"].contains(media) else { continue }
            switch parameters["as"] {
            case nil:
                return .json
            case "Table" where parameters["g"] == "meta.k8s.io" && ["v1", "v1beta1"].contains(parameters["v"] ?? ""):
                let include = includeObject ?? "Metadata"
                guard ["None", "Metadata", "Object"].contains(include) else {
                    throw APIError.badRequest("includeObject: Unsupported value: \"\(include)\"")
                }
                return .table(includeObject: include)
            case "PartialObjectMetadata", "PartialObjectMetadataList":
                if parameters["g"] == "meta.k8s.io" { return .metadata }
            default:
                continue
            }
        }
        throw APIError.notAcceptable(
            "only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io")
    }
}
