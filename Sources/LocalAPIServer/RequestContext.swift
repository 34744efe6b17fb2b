import Foundation
import KubeJSON
import KubeSchema

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
    /// The `fieldManager` parameter, as given (checked by `checkWriteOptions`).
    var fieldManager: String?
    /// `dryRun`, `fieldValidation`, `force` and `sendInitialEvents` as given: each verb checks those it
    /// takes, since the real server decodes them into per-verb options and ignores them elsewhere.
    var dryRunParameter: String?
    var fieldValidationParameter: String?
    var forceParameter: String?
    var sendInitialEventsParameter: String?
    /// Who managedFields credits with the change: the field manager, else the user agent's program name.
    var manager: String
    /// The managedFields operation: Update, or Apply for server-side apply.
    var operation = "Update"
    var appliedConfiguration: JSON?
    /// Strict, Warn or Ignore: what unknown fields in a body cause.
    var fieldValidation = "Warn"
    var dryRun = false
    /// Members the JSON body repeats (`spec.priority`), which field validation reports with unknown fields.
    var duplicateFields: [String] = []

    /// Who asks: what RBAC's escalation checks judge a role or binding write by.
    var user: UserInfo = .loopback

    init(request: APIRequest, type: ResourceType) throws(APIError) {
        user = request.user
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
        sendInitialEventsParameter = query["sendInitialEvents"]
        sendInitialEvents = Self.flag(sendInitialEventsParameter)
        allowBookmarks = Self.flag(query["allowWatchBookmarks"])
        if let text = query["timeoutSeconds"], !text.isEmpty {
            guard let value = Int(text), value >= 0 else {
                throw APIError.badRequest("timeoutSeconds: Invalid value: \"\(text)\": must be a non-negative integer")
            }
            timeoutSeconds = value
        }
        fieldManager = query["fieldManager"]
        let agent = request.userAgent.map { String($0.split(separator: "/", maxSplits: 1).first ?? "") } ?? ""
        manager = fieldManager.flatMap { $0.isEmpty ? nil : $0 } ?? (agent.isEmpty ? "unknown" : String(agent.prefix(128)))
        fieldValidationParameter = query["fieldValidation"]
        if let validation = fieldValidationParameter, Self.fieldValidationValues.contains(validation), !validation.isEmpty {
            fieldValidation = validation
        }
        dryRunParameter = query["dryRun"]
        dryRun = dryRunParameter == "All"
        forceParameter = query["force"]
    }

    static let fieldValidationValues = ["", "Ignore", "Strict", "Warn"]

    /// ValidateCreateOptions, ValidateUpdateOptions and ValidatePatchOptions of the real server, which
    /// run before the body is read. `kind` names the options; `applyPatch` is set for PatchOptions.
    func checkWriteOptions(_ kind: String, applyPatch: Bool? = nil) throws(APIError) {
        var causes: [Cause] = []
        if let applyPatch {
            if applyPatch, (fieldManager ?? "").isEmpty {
                causes.append(.required("fieldManager", "is required for apply patch"))
            } else if !applyPatch, forceParameter != nil {
                causes.append(.forbidden("force", "may not be specified for non-apply patch"))
            }
        }
        causes += Self.fieldManagerCauses(fieldManager ?? "")
        if let dry = dryRunParameter, dry != "All" { causes.append(Self.dryRunCause([dry])) }
        if let validation = fieldValidationParameter, !Self.fieldValidationValues.contains(validation) {
            causes.append(.notSupported("fieldValidation", shown: GoText.quote(validation), supported: Self.fieldValidationValues))
        }
        if !causes.isEmpty { throw APIError.invalidOptions(kind, causes: causes) }
    }

    /// ValidateFieldManager: at most 128 bytes, all printable (positions count bytes, as Go's range does).
    static func fieldManagerCauses(_ manager: String) -> [Cause] {
        var causes: [Cause] = []
        if manager.utf8.count > 128 { causes.append(.tooLong("fieldManager", limit: 128)) }
        var position = 0
        for scalar in manager.unicodeScalars {
            if !GoText.isPrintable(scalar) {
                let code = String(scalar.value, radix: 16, uppercase: true)
                let shown = "U+" + String(repeating: "0", count: max(0, 4 - code.count)) + code
                causes.append(.invalid("fieldManager", .string(manager), "invalid character \(shown) (at position \(position))"))
            }
            position += UTF8.width(scalar)
        }
        return causes
    }

    /// ValidateDryRun: every value must be All; the list shows as Go's `%#v` of a []string.
    static func dryRunCause(_ values: [String]) -> Cause {
        .notSupported("dryRun", shown: "[]string{" + values.map(GoText.quote).joined(separator: ", ") + "}", supported: ["All"])
    }

    /// ValidateListOptions of the real server (what resourceVersionMatch and sendInitialEvents may be
    /// combined with), then the watch cache's own demand that initial events come with bookmarks.
    func checkListOptions(_ type: ResourceType) throws(APIError) {
        var causes: [Cause] = []
        let version = resourceVersion ?? ""
        let hasContinue = !(continueToken ?? "").isEmpty
        if isWatch {
            if sendInitialEventsParameter != nil, resourceVersionMatch != "NotOlderThan" {
                causes.append(.forbidden("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
            }
            if let match = resourceVersionMatch {
                if sendInitialEventsParameter == nil {
                    causes.append(.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
                }
                if match != "NotOlderThan" {
                    causes.append(.notSupported("resourceVersionMatch", shown: GoText.quote(match), supported: ["NotOlderThan"]))
                }
                if hasContinue {
                    causes.append(.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
                }
            }
        } else {
            if let match = resourceVersionMatch {
                if version.isEmpty {
                    causes.append(.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"))
                }
                if hasContinue {
                    causes.append(.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
                }
                if match != "Exact" && match != "NotOlderThan" {
                    causes.append(.notSupported("resourceVersionMatch", shown: GoText.quote(match), supported: ["Exact", "NotOlderThan", ""]))
                }
                if match == "Exact" && version == "0" {
                    causes.append(.forbidden("resourceVersionMatch", "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""))
                }
            }
            if sendInitialEventsParameter != nil {
                causes.append(.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
            }
        }
        if !causes.isEmpty { throw APIError.invalidOptions("ListOptions", causes: causes) }
        if isWatch && sendInitialEvents && !allowBookmarks {
            throw APIError.invalid(type, name: "", causes: [
                Cause.forbidden("allowWatchBookmarks", "sendInitialEvents requires setting allowWatchBookmarks to true")
            ])
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
