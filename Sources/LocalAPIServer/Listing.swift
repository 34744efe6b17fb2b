import Foundation
import KubeJSON
import KubeSchema
import Yams

/// One page of a list: the selected objects, the revision they are consistent with, and how to go on.
struct ListPage {
    var items: [JSON]
    var revision: Int64
    var continueToken: String?
    var remaining: Int?

    /// Reads a page, applying selectors, `limit` and `continue`.
    ///
    /// A continued list reads the store as it is now, from the key after the last one returned; the
    /// real server reads the snapshot of the first page. Objects changed between pages therefore show
    /// their newer state (none is returned twice or skipped because of it).
    static func read(store: ObjectStore, target: APIServer.Target, context: RequestContext) throws(APIError) -> ListPage {
        let current = store.currentRevision
        if let text = context.resourceVersion, !text.isEmpty, text != "0" {
            guard let requested = Int64(text) else {
                throw APIError.badRequest("resourceVersion: Invalid value: \"\(text)\": must be an integer")
            }
            if requested > current {
                throw APIError.timeout("Too large resource version: \(requested), current: \(current)", retryAfterSeconds: 1)
            }
        }
        var startAfter: String?
        var revision: Int64?
        if let token = context.continueToken {
            let decoded = try ContinueToken.decode(token)
            startAfter = decoded.start
            revision = decoded.revision
        }
        let (objects, listRevision) = store.list(target.type.storageKey, namespace: target.namespace, sorted: false)
        let prefixLength = target.namespace.map { $0.utf8.count + 1 } ?? 0
        var page = objects.filter { entry in
            if let startAfter, String(entry.key.utf8.dropFirst(prefixLength))! <= startAfter { return false }
            return Render.selected(entry.value.object, target.type, context)
        }
        // Only the page is put in order: a list read in pages of 500 would otherwise sort the whole table for each.
        var remaining = 0
        if let limit = context.limit, page.count > limit {
            remaining = page.count - limit
            page.keepSmallest(limit) { $0.key < $1.key }
        } else {
            page.sort { $0.key < $1.key }
        }
        let truncated = remaining > 0
        let items = page.map(\.value.object)
        let lastKey = page.last.map { String($0.key.utf8.dropFirst(prefixLength))! } ?? ""
        let pageRevision = revision ?? listRevision
        let token = truncated ? ContinueToken.encode(revision: pageRevision, start: lastKey) : nil
        let selective = !context.labelSelector.isEmpty || !context.fieldSelector.isEmpty
        return ListPage(items: items, revision: pageRevision, continueToken: token,
                        remaining: truncated && !selective ? remaining : nil)
    }
}

/// The opaque `continue` token, in the real server's form: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"KEY\u0000"}`.
enum ContinueToken {
    static func encode(revision: Int64, start: String) -> String {
        let json: JSON = ["v": "meta.k8s.io/v1", "rv": .int(revision), "start": .string("/" + start + "\u{0}")]
        return Base64.encode(json.serialized(), padded: false)
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    static func decode(_ token: String) throws(APIError) -> (revision: Int64, start: String) {
        guard let bytes = Base64.decode(token), let json = try? JSON.parse(bytes),
            json["v"]?.string == "meta.k8s.io/v1", let revision = json["rv"]?.int, var start = json["start"]?.string,
            start.hasPrefix("/")
        else {
            throw APIError.badRequest("continue key is not valid: the continue token is not a token this server issued")
        }
        start.removeFirst()
        if start.hasSuffix("\u{0}") { start.removeLast() }
        return (revision, start)
    }
}

/// Shapes of answers: objects in the requested version, lists, partial metadata, warnings.
enum Render {
    static func inVersion(_ object: JSON, _ type: ResourceType) -> JSON {
        if let shape = type.storedAs { return shape.fromStorage(object) }
        guard type.isCustom, object["apiVersion"]?.string != type.apiVersion, case .object = object else { return object }
        var copy = object
        copy["apiVersion"] = .string(type.apiVersion)
        return copy
    }

    static func labels(_ object: JSON) -> [String: String] {
        var labels: [String: String] = [:]
        for (key, value) in object["metadata"]?["labels"]?.object ?? [:] { labels[key] = value.string ?? "" }
        return labels
    }

    static func partialMetadata(_ object: JSON) -> JSON {
        ["apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": object["metadata"] ?? [:]]
    }

    static func list(_ page: ListPage, type: ResourceType, partialMetadata: Bool) -> JSON {
        var metadata: JSONObject = [:]
        if let token = page.continueToken {
            metadata["continue"] = .string(token)
        } else if type.isCustom {
            metadata["continue"] = ""
        }
        if let remaining = page.remaining { metadata["remainingItemCount"] = .int(Int64(remaining)) }
        metadata["resourceVersion"] = .string(String(page.revision))
        if partialMetadata {
            return [
                "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList", "metadata": .object(metadata),
                "items": .array(page.items.map(Self.partialMetadata)),
            ]
        }
        return [
            "apiVersion": .string(type.apiVersion), "items": .array(page.items.map { listItem($0, type) }),
            "kind": .string(type.listKind), "metadata": .object(metadata),
        ]
    }

    /// An item of a list: a custom resource's carries its `apiVersion` and `kind`, a built-in kind's does not
    /// (the list names them once), as kube-apiserver answers; a watch event's object always carries both.
    static func listItem(_ object: JSON, _ type: ResourceType) -> JSON {
        var item = inVersion(object, type)
        if !type.isCustom, case .object(var fields) = item {
            fields["apiVersion"] = nil
            fields["kind"] = nil
            item = .object(fields)
        }
        return item
    }

    /// Whether a stored object passes a request's selectors, read in the shape the request's resource serves
    /// (an events.k8s.io selector on `regarding.name` reads a core Event's `involvedObject.name`).
    /// Without selectors (an informer's watch and list, `kubectl get`) every object passes at once: the labels are read
    /// into a dictionary only for a label selector, on every event of every watch that has one.
    static func selected(_ object: JSON, _ type: ResourceType, _ context: RequestContext) -> Bool {
        let (labelSelector, fieldSelector) = (context.labelSelector, context.fieldSelector)
        if labelSelector.isEmpty && fieldSelector.isEmpty { return true }
        let served = type.storedAs == nil ? object : inVersion(object, type)
        return (labelSelector.isEmpty || labelSelector.matches(labels(served))) && fieldSelector.matches(served)
    }

    /// Warning headers (RFC 7234 warn-code 299), as the server sends for unknown fields.
    static func warningHeaders(_ warnings: [String]) -> [(String, String)] {
        warnings.map { ("Warning", "299 - " + JSON.string($0).text) }
    }

    /// The word Go's JSON decoder uses for a value's type in its errors.
    static func goTypeName(_ value: JSON) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// YAML request bodies (application/yaml, server-side apply), read into JSON.
enum YAMLBody {
    static func parse(_ body: [UInt8], type: ResourceType) throws(APIError) -> JSON {
        let text = String(decoding: body, as: UTF8.self)
        do {
            guard let node = try Yams.compose(yaml: text) else { return .null }
            return try convert(node, depth: 0)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("error converting YAML to JSON: \(error)")
        }
    }

    private static func convert(_ node: Node, depth: Int) throws -> JSON {
        if depth > JSON.maximumDepth { throw APIError.badRequest("error converting YAML to JSON: nested too deeply") }
        switch node {
        case .scalar(let scalar):
            // Quoted scalars are strings; plain ones resolve as YAML 1.1 core types.
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { return .string(scalar.string) }
            if node.null != nil { return .null }
            if let bool = node.bool { return .bool(bool) }
            if let int = node.int { return .int(Int64(int)) }
            if let float = node.float, scalar.string.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .double(float) }
            return .string(scalar.string)
        case .mapping(let mapping):
            var object = JSONObject()
            for (key, value) in mapping {
                object[key.string ?? ""] = try convert(value, depth: depth + 1)
            }
            return .object(object)
        case .sequence(let sequence):
            return .array(try sequence.map { try convert($0, depth: depth + 1) })
        default:
            return .null
        }
    }
}

/// The options of a delete: preconditions, grace period, propagation, dry run. Read as the real
/// handler reads them: from the body when there is one, else from the query; then checked as
/// ValidateDeleteOptions checks them, before the object is looked at.
struct DeleteOptions {
    var uid: String?
    var resourceVersion: String?
    var propagationPolicy: String?
    var orphanDependents: Bool?
    var gracePeriodSeconds: Int64?
    var dryRun: [String]?

    /// Validation lets only `All` through, so any dry run value means a dry run.
    var isDryRun: Bool { !(dryRun ?? []).isEmpty }

    init() {}

    init(request: APIRequest) throws(APIError) {
        if request.body.isEmpty {
            try readQuery(request.query)
        } else {
            try readBody(request.body, contentType: request.contentType)
        }
        try validate()
    }

    /// The query's values, converted as the real server's url.Values conversion does: a number that
    /// does not parse is a 400; a boolean is true unless it is `0` or `false`.
    private mutating func readQuery(_ query: [String: String]) throws(APIError) {
        if let text = query["gracePeriodSeconds"] {
            gracePeriodSeconds = try GoStrconv.parseInt64(text)
        }
        if let text = query["orphanDependents"] {
            orphanDependents = !(text == "0" || text.lowercased() == "false")
        }
        propagationPolicy = query["propagationPolicy"]
        dryRun = query["dryRun"].map { [$0] }
    }

    private mutating func readBody(_ body: [UInt8], contentType: String?) throws(APIError) {
        let options: JSON
        if MediaType.essence(contentType) == ProtobufBody.mediaType {
            options = try ProtobufBody.decode(body, kindLabel: "DeleteOptions")
        } else {
            do {
                options = try JSON.parse(body)
            } catch {
                throw APIError.badRequest("the object provided is unrecognized (must be of type DeleteOptions): \(error.message)")
            }
        }
        guard case .object = options else {
            throw APIError.badRequest("the object provided is unrecognized (must be of type DeleteOptions)")
        }
        func mismatch(_ field: String, _ value: JSON, _ goType: String) -> APIError {
            let shown = value.int == nil && value.double != nil ? "number \(value.text)" : Render.goTypeName(value)
            return APIError.badRequest("json: cannot unmarshal \(shown) into Go struct field DeleteOptions.\(field) of type \(goType)")
        }
        if let value = options["gracePeriodSeconds"], !value.isNull {
            guard let seconds = value.int else { throw mismatch("gracePeriodSeconds", value, "int64") }
            gracePeriodSeconds = seconds
        }
        if let value = options["orphanDependents"], !value.isNull {
            guard case .bool(let flag) = value else { throw mismatch("orphanDependents", value, "bool") }
            orphanDependents = flag
        }
        if let value = options["propagationPolicy"], !value.isNull {
            guard let policy = value.string else { throw mismatch("propagationPolicy", value, "v1.DeletionPropagation") }
            propagationPolicy = policy
        }
        if let value = options["dryRun"], !value.isNull {
            guard let items = value.array else { throw mismatch("dryRun", value, "[]string") }
            var values: [String] = []
            for item in items {
                guard let text = item.string else { throw mismatch("dryRun", item, "string") }
                values.append(text)
            }
            dryRun = values
        }
        if let preconditions = options["preconditions"], !preconditions.isNull {
            guard case .object = preconditions else { throw mismatch("preconditions", preconditions, "v1.Preconditions") }
            for field in ["uid", "resourceVersion"] {
                if let value = preconditions[field], !value.isNull, value.string == nil {
                    throw mismatch("preconditions.\(field)", value, field == "uid" ? "types.UID" : "string")
                }
            }
            uid = preconditions["uid"]?.string
            resourceVersion = preconditions["resourceVersion"]?.string
        }
    }

    /// ValidateDeleteOptions of the real server.
    private func validate() throws(APIError) {
        var causes: [Cause] = []
        if orphanDependents != nil, let propagationPolicy {
            causes.append(.invalid("propagationPolicy", .string(propagationPolicy),
                                   "orphanDependents and deletionPropagation cannot be both set"))
        }
        if let propagationPolicy, !["Foreground", "Background", "Orphan"].contains(propagationPolicy) {
            causes.append(.notSupported("propagationPolicy", shown: GoText.quote(propagationPolicy),
                                        supported: ["Foreground", "Background", "Orphan", "nil"]))
        }
        if let dryRun, dryRun.contains(where: { $0 != "All" }) {
            causes.append(RequestContext.dryRunCause(dryRun))
        }
        if !causes.isEmpty { throw APIError.invalidOptions("DeleteOptions", causes: causes) }
    }

    func check(_ current: StoredObject, type: ResourceType, name: String) throws(APIError) {
        if let uid, let actual = current.object["metadata"]?["uid"]?.string, uid != actual {
            throw APIError.preconditionFailed(
                type, name: name,
                message: "Precondition failed: UID in precondition: \(uid), UID in object meta: \(actual)")
        }
        if let resourceVersion, resourceVersion != String(current.revision) {
            throw APIError.preconditionFailed(
                type, name: name,
                message: "the ResourceVersion in the precondition (\(resourceVersion)) does not match the "
                    + "ResourceVersion in record (\(current.revision)). The object might have been modified")
        }
    }
}

/// Go's strconv, where the real server's messages quote it.
enum GoStrconv {
    /// strconv.ParseInt(text, 10, 64), failing with Go's words as a 400, as a query parameter
    /// that does not convert is answered.
    static func parseInt64(_ text: String) throws(APIError) -> Int64 {
        if let value = Int64(text) { return value }
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        let reason = !digits.isEmpty && digits.allSatisfy({ $0.isASCII && $0.isNumber }) ? "value out of range" : "invalid syntax"
        throw APIError.badRequest("strconv.ParseInt: parsing \(GoText.quote(text)): \(reason)")
    }
}
