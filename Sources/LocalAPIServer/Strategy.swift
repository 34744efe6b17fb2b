import KubeSchema
import Foundation
import KubeJSON

/// What the server does to an object on its way into storage, per resource: the checks on
/// metadata, the schema of a custom resource, defaults, generation, managedFields, and which parts
/// a write through the main resource or the status subresource may change.
enum Strategy {
    /// Metadata fields the server sets; a client's values for them are dropped on create.
    static let serverSetMetadata = [
        "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
        "managedFields", "selfLink",
    ]

    /// Fields ObjectMeta has; any other member of metadata is unknown.
    static let objectMetaFields: Set<String> = [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
        "managedFields",
    ]

    static func managedFieldsStyle(_ type: ResourceType) -> ManagedFields.Style {
        if type.isCustom { return .custom }
        return .builtIn(atomic: ["involvedObject", "regarding", "related"])
    }

    // MARK: Create

    static func prepareForCreate(
        _ body: JSON, type: ResourceType, namespace: String?, context: RequestContext, now: String, warnings: inout [String]
    ) throws(APIError) -> JSON {
        var object = body
        var metadata = object["metadata"]?.object ?? [:]
        let providedName = metadata["name"]?.string ?? ""
        try checkTypeMeta(object, type: type, name: providedName)
        try checkMetadataTypes(metadata, type: type)

        if let namespace {
            if let given = metadata["namespace"]?.string, !given.isEmpty, given != namespace {
                throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
        }
        var name = providedName
        if name.isEmpty, let prefix = metadata["generateName"]?.string, !prefix.isEmpty {
            name = Names.generate(prefix: prefix)
        }
        for field in serverSetMetadata { metadata[field] = nil }
        var rebuilt: JSONObject = [:]
        rebuilt["name"] = .string(name)
        if let generateName = metadata["generateName"] { rebuilt["generateName"] = generateName }
        if let namespace { rebuilt["namespace"] = .string(namespace) }
        for (key, value) in metadata where rebuilt[key] == nil && key != "namespace" { rebuilt[key] = value }
        object["metadata"] = .object(rebuilt)
        object["apiVersion"] = .string(type.apiVersion)
        object["kind"] = .string(type.kind)

        var causes = metadataCauses(object["metadata"] ?? [:], type: type, creating: true)
        if type.isCustom && type.hasStatusSubresource { object["status"] = nil }
        if type.storageKey == ResourceType.namespaces.storageKey {
            object.set(path: ["metadata", "labels", "kubernetes.io/metadata.name"], to: .string(name))
        }
        if type.isCustom {
            causes += try applySchema(&object, type: type, context: context, warnings: &warnings)
        } else {
            try pruneUnknownMetadata(&object, type: type, context: context, warnings: &warnings)
        }
        if type.storageKey == ResourceType.customResourceDefinitions.storageKey {
            do {
                _ = try CustomResourceDefinitions.resourceTypes(of: object)
            } catch {
                causes += error.causes
            }
        }
        causes += sizeCapCauses(object, old: nil, type: type)
        if !causes.isEmpty { throw APIError.invalid(type, name: name, causes: causes) }

        let tracked = context.appliedConfiguration ?? object
        object.set(path: ["metadata", "managedFields"], to: .array(ManagedFields.update(
            entries: [], old: nil, new: tracked, manager: context.manager, operation: context.operation, subresource: nil,
            apiVersion: type.apiVersion, style: context.operation == "Apply" ? .apply : managedFieldsStyle(type), time: now)))
        object.set(path: ["metadata", "creationTimestamp"], to: .string(now))
        object.set(path: ["metadata", "uid"], to: .string(UUID().uuidString.lowercased()))
        if type.isCustom || type.storageKey == ResourceType.customResourceDefinitions.storageKey {
            object.set(path: ["metadata", "generation"], to: 1)
        }
        if object["metadata"]?["managedFields"]?.array?.isEmpty == true { object.set(path: ["metadata", "managedFields"], to: nil) }
        applyBuiltInDefaults(&object, type: type, now: now)
        return orderMetadata(object)
    }

    /// Defaults that built-in types get from their Go structs and registry strategies.
    static func applyBuiltInDefaults(_ object: inout JSON, type: ResourceType, now: String) {
        switch type.groupResource {
        case ResourceType.namespaces.groupResource:
            if object["spec"]?["finalizers"] == nil { object.set(path: ["spec", "finalizers"], to: ["kubernetes"]) }
            if object["status"]?["phase"] == nil { object.set(path: ["status", "phase"], to: "Active") }
        case ResourceType.coreEvents.groupResource:
            for field in ["firstTimestamp", "lastTimestamp"] {
                if let text = object[field]?.string, let date = Timestamp.parse(text) {
                    object[field] = .string(KubeTimestamp.time(date))
                }
            }
            if object["eventTime"] == nil { object["eventTime"] = .null }
            if object["reportingComponent"] == nil { object["reportingComponent"] = "" }
            if object["reportingInstance"] == nil { object["reportingInstance"] = "" }
        case ResourceType.events.groupResource:
            if object["deprecatedFirstTimestamp"] == nil { object["deprecatedFirstTimestamp"] = .null }
            if object["deprecatedLastTimestamp"] == nil { object["deprecatedLastTimestamp"] = .null }
            if object["deprecatedSource"] == nil { object["deprecatedSource"] = .object([:]) }
        case ResourceType.customResourceDefinitions.groupResource:
            object["status"] = CustomResourceDefinitions.acceptedStatus(of: object, now: now)
        case ResourceType.secrets.groupResource:
            foldStringData(&object)
            if object["type"] == nil { object["type"] = "Opaque" }
        default:
            break
        }
    }

    /// A Secret's write-only `stringData` goes into `data`, base64-encoded, over the same keys; it is never stored.
    static func foldStringData(_ secret: inout JSON) {
        guard let strings = secret["stringData"]?.object else { return }
        var data = secret["data"]?.object ?? [:]
        for (key, value) in strings {
            if let text = value.string { data[key] = .string(Data(text.utf8).base64EncodedString()) }
        }
        secret["data"] = .object(data)
        secret["stringData"] = nil
    }

    // MARK: Update

    static func prepareForUpdate(
        _ requested: JSON, old: JSON, type: ResourceType, subresource: String?, context: RequestContext, now: String,
        warnings: inout [String]
    ) throws(APIError) -> JSON {
        let name = old["metadata"]?["name"]?.string ?? ""
        try checkTypeMeta(requested, type: type, name: name)
        try checkMetadataTypes(requested["metadata"]?.object ?? [:], type: type)
        var object: JSON
        if subresource == "status" {
            // Through /status only the status changes; everything else stays as it was.
            object = old
            object["status"] = requested["status"]
        } else {
            object = requested
            object["apiVersion"] = .string(type.apiVersion)
            object["kind"] = .string(type.kind)
            if type.hasStatusSubresource { object["status"] = old["status"] }
            if type.groupResource == ResourceType.secrets.groupResource { foldStringData(&object) }
            // Identity and server-set metadata cannot be changed by a client.
            var metadata = object["metadata"]?.object ?? [:]
            let oldMetadata = old["metadata"]?.object ?? [:]
            for field in ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                          "generation", "managedFields", "resourceVersion"]
            {
                metadata[field] = oldMetadata[field]
            }
            object["metadata"] = .object(metadata)
        }
        var causes = metadataCauses(object["metadata"] ?? [:], type: type, creating: false)
        if old["metadata"]?["deletionTimestamp"] != nil {
            let before = Set((old["metadata"]?["finalizers"]?.array ?? []).compactMap(\.string))
            let after = Set((object["metadata"]?["finalizers"]?.array ?? []).compactMap(\.string))
            if !after.isSubset(of: before) {
                causes.append(.forbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted, found new finalizers \(after.subtracting(before).sorted())"))
            }
        }
        if type.isCustom {
            causes += try applySchema(&object, old: old, type: type, context: context, warnings: &warnings)
        } else {
            try pruneUnknownMetadata(&object, type: type, context: context, warnings: &warnings)
        }
        if type.storageKey == ResourceType.customResourceDefinitions.storageKey, subresource == nil {
            do {
                _ = try CustomResourceDefinitions.resourceTypes(of: object)
                if object["spec"]?["group"] != old["spec"]?["group"] {
                    causes.append(.invalid("spec.group", object["spec"]?["group"] ?? .null, "field is immutable"))
                }
                if object["spec"]?["scope"] != old["spec"]?["scope"] {
                    causes.append(.invalid("spec.scope", object["spec"]?["scope"] ?? .null, "field is immutable"))
                }
            } catch {
                causes += error.causes
            }
        }
        causes += sizeCapCauses(object, old: old, type: type)
        if !causes.isEmpty { throw APIError.invalid(type, name: name, causes: causes) }

        if let generation = old["metadata"]?["generation"]?.int, specChanged(object, old) {
            object.set(path: ["metadata", "generation"], to: .int(generation + 1))
        }
        if type.storageKey == ResourceType.customResourceDefinitions.storageKey, subresource == nil {
            object["status"] = CustomResourceDefinitions.acceptedStatus(of: object, now: old["status"]?["conditions"]?.array?.first?["lastTransitionTime"]?.string ?? now)
        }
        let style: ManagedFields.Style = context.operation == "Apply" ? .apply : managedFieldsStyle(type)
        let entries = ManagedFields.update(
            entries: old["metadata"]?["managedFields"]?.array ?? [], old: context.operation == "Apply" ? nil : old,
            new: context.appliedConfiguration ?? object, manager: context.manager, operation: context.operation,
            subresource: subresource, apiVersion: type.apiVersion, style: style, time: now)
        object.set(path: ["metadata", "managedFields"], to: entries.isEmpty ? nil : .array(entries))
        return orderMetadata(object)
    }

    /// Whether anything but metadata and status differs: what raises metadata.generation.
    static func specChanged(_ new: JSON, _ old: JSON) -> Bool {
        var a = new.object ?? [:]
        var b = old.object ?? [:]
        for key in ["metadata", "status", "apiVersion", "kind"] {
            a[key] = nil
            b[key] = nil
        }
        return JSON.object(a) != JSON.object(b)
    }

    /// An update that would store the same object is no write at all: it keeps the resourceVersion.
    static func isUnchanged(_ new: JSON, _ old: JSON) -> Bool {
        func essence(_ value: JSON) -> JSON {
            var copy = value
            copy.set(path: ["metadata", "managedFields"], to: nil)
            copy.set(path: ["metadata", "resourceVersion"], to: nil)
            return copy
        }
        return essence(new) == essence(old)
    }

    /// Marked for deletion and holding no finalizer: the object goes.
    static func isFinalized(_ object: JSON) -> Bool {
        object["metadata"]?["deletionTimestamp"] != nil && (object["metadata"]?["finalizers"]?.array ?? []).isEmpty
            && (object["spec"]?["finalizers"]?.array ?? []).isEmpty
    }

    // MARK: Delete

    static func deletion(of object: JSON, type: ResourceType, now: String) -> Mutation {
        let finalizers = object["metadata"]?["finalizers"]?.array ?? []
        let namespaceFinalizers =
            type.storageKey == ResourceType.namespaces.storageKey ? (object["spec"]?["finalizers"]?.array ?? []) : []
        guard !finalizers.isEmpty || !namespaceFinalizers.isEmpty else { return .delete }
        if object["metadata"]?["deletionTimestamp"] != nil { return .unchanged }
        var marked = object
        marked.set(path: ["metadata", "deletionTimestamp"], to: .string(now))
        marked.set(path: ["metadata", "deletionGracePeriodSeconds"], to: 0)
        if let generation = object["metadata"]?["generation"]?.int {
            marked.set(path: ["metadata", "generation"], to: .int(generation + 1))
        }
        if type.storageKey == ResourceType.namespaces.storageKey {
            marked.set(path: ["status", "phase"], to: "Terminating")
        }
        return .put(orderMetadata(marked))
    }

    // MARK: Checks

    /// Fields of this project's own resources that are capped in size, by group and kind: a Task's
    /// payload and result (DESIGN.md, Limits: etcd keeps objects under about 1.5 MiB, so each is held
    /// well below that). Other resources, built-in or custom, keep only the server's own limits.
    static let sizeCaps: [String: [[String]]] = ["Task.mcp.io": [["spec", "payload"], ["status", "result"]]]
    static let sizeCapBytes = 256 * 1024

    /// Capped fields over their cap, measured as JSON is stored. On update a field the request leaves
    /// as it was is not judged again, so an object stored before a cap still takes other changes.
    static func sizeCapCauses(_ object: JSON, old: JSON?, type: ResourceType) -> [Cause] {
        guard let paths = sizeCaps[type.groupKind] else { return [] }
        var causes: [Cause] = []
        for path in paths {
            guard let value = object[path: path], value != old?[path: path] else { continue }
            let size = value.serialized().count
            if size > sizeCapBytes {
                causes.append(Cause(
                    field: path.joined(separator: "."), reason: "FieldValueTooLong",
                    message: "Too long: may not be more than \(sizeCapBytes) bytes (256 KiB) serialized, and is \(size) bytes"))
            }
        }
        return causes
    }

    static func checkTypeMeta(_ object: JSON, type: ResourceType, name: String) throws(APIError) {
        let kind = object["kind"]?.string ?? ""
        let apiVersion = object["apiVersion"]?.string ?? ""
        if kind.isEmpty {
            throw APIError.badRequest("Object 'Kind' is missing in '\(String(object.text.prefix(200)))'")
        }
        if kind != type.kind {
            throw APIError.invalid(
                ResourceType(group: type.group, version: type.version, plural: type.plural, singular: type.singular,
                             kind: kind, listKind: type.listKind, namespaced: type.namespaced,
                             hasStatusSubresource: false, isCustom: type.isCustom, allowsUnconditionalUpdate: false),
                name: name, causes: [Cause.invalid("kind", .string(kind), "must be \(type.kind)")])
        }
        if !apiVersion.isEmpty && apiVersion != type.apiVersion {
            throw APIError.invalid(type, name: name, causes: [
                Cause.invalid("apiVersion", .string(apiVersion), "must be \(type.apiVersion)")
            ])
        }
    }

    /// Members of metadata of the wrong JSON type cannot be decoded at all: 400, as the real server.
    static func checkMetadataTypes(_ metadata: JSONObject, type: ResourceType) throws(APIError) {
        func fail(_ field: String, _ value: JSON, _ goType: String) throws(APIError) {
            throw APIError.badRequest(
                "\(type.kind) in version \"\(type.version)\" cannot be handled as a \(type.kind): json: cannot unmarshal "
                    + "\(Render.goTypeName(value)) into Go struct field ObjectMeta.metadata.\(field) of type \(goType)")
        }
        for field in ["name", "generateName", "namespace", "resourceVersion", "uid"] {
            if let value = metadata[field], value.string == nil, !value.isNull { try fail(field, value, "string") }
        }
        for field in ["labels", "annotations"] {
            guard let value = metadata[field], !value.isNull else { continue }
            guard let members = value.object else { try fail(field, value, "map[string]string"); continue }
            for (_, member) in members where member.string == nil && !member.isNull { try fail(field, member, "string") }
        }
        if let value = metadata["finalizers"], !value.isNull {
            guard let items = value.array else { try fail("finalizers", value, "[]string"); return }
            for item in items where item.string == nil { try fail("finalizers", item, "string") }
        }
    }

    /// What is wrong with an object's metadata: its name, labels, annotations and finalizers.
    static func metadataCauses(_ metadata: JSON, type: ResourceType, creating: Bool) -> [Cause] {
        var causes: [Cause] = []
        let name = metadata["name"]?.string ?? ""
        if creating {
            if name.isEmpty {
                causes.append(.required("metadata.name", "name or generateName is required"))
            } else {
                let problems: [String]
                if type.storageKey == ResourceType.namespaces.storageKey {
                    problems = Names.labelProblems(name)
                } else if type.storageKey == ResourceType.coreEvents.storageKey || type.storageKey == ResourceType.events.storageKey {
                    // Events are named after their object plus a suffix; any subdomain-like path segment will do.
                    problems = name.contains("/") || name == "." || name == ".." ? ["may not contain '/'"] : []
                } else if type.group == ResourceType.roles.group {
                    problems = Names.pathSegmentProblems(name)
                } else {
                    problems = Names.subdomainProblems(name)
                }
                for problem in problems { causes.append(.invalid("metadata.name", .string(name), problem)) }
            }
        }
        for (key, value) in metadata["labels"]?.object ?? [:] {
            if let problem = Names.qualifiedNameProblem(key) {
                causes.append(.invalid("metadata.labels", .string(key), problem))
            }
            if let text = value.string, let problem = Names.labelValueProblem(text) {
                causes.append(.invalid("metadata.labels", .string(text), problem))
            }
        }
        var annotationBytes = 0
        for (key, value) in metadata["annotations"]?.object ?? [:] {
            if let problem = Names.qualifiedNameProblem(key.lowercased()) {
                causes.append(.invalid("metadata.annotations", .string(key), problem))
            }
            annotationBytes += key.utf8.count + (value.string?.utf8.count ?? 0)
        }
        if annotationBytes > 256 * 1024 {
            causes.append(Cause(field: "metadata.annotations", reason: "FieldValueTooLong",
                                message: "Too long: may not be more than 262144 bytes"))
        }
        for (index, finalizer) in (metadata["finalizers"]?.array ?? []).enumerated() {
            if let text = finalizer.string, let problem = Names.qualifiedNameProblem(text) {
                causes.append(.invalid("metadata.finalizers[\(index)]", .string(text), problem))
            }
        }
        return causes
    }

    /// Prunes, defaults and validates a custom resource against its schema; returns the causes of invalidity.
    static func applySchema(_ object: inout JSON, old: JSON? = nil, type: ResourceType, context: RequestContext, warnings: inout [String]) throws(APIError) -> [Cause] {
        guard let schema = type.schema else { return [] }
        var unknown = schema.prune(&object)
        unknown += pruneMetadata(&object)
        try report(unknown, type: type, context: context, warnings: &warnings)
        schema.applyDefaults(&object)
        return schema.validate(object, old: old).map { Cause(field: $0.field, reason: $0.reason.rawValue, message: $0.message) }
    }

    static func pruneUnknownMetadata(_ object: inout JSON, type: ResourceType, context: RequestContext, warnings: inout [String]) throws(APIError) {
        try report(pruneMetadata(&object), type: type, context: context, warnings: &warnings)
    }

    private static func pruneMetadata(_ object: inout JSON) -> [String] {
        guard var metadata = object["metadata"]?.object else { return [] }
        let unknown = metadata.keys.filter { !objectMetaFields.contains($0) }
        guard !unknown.isEmpty else { return [] }
        for key in unknown { metadata[key] = nil }
        object["metadata"] = .object(metadata)
        return unknown.map { "metadata.\($0)" }
    }

    /// Repeated and unknown fields are an error under Strict validation, a warning under Warn,
    /// nothing under Ignore. The repeated come first, as the decoder finds them before pruning.
    private static func report(_ unknown: [String], type: ResourceType, context: RequestContext, warnings: inout [String]) throws(APIError) {
        let texts = context.duplicateFields.map { "duplicate field \"\($0)\"" } + unknown.map { "unknown field \"\($0)\"" }
        guard !texts.isEmpty else { return }
        switch context.fieldValidation {
        case "Strict":
            throw APIError.badRequest(
                "\(type.kind) in version \"\(type.version)\" cannot be handled as a \(type.kind): strict decoding error: "
                    + texts.joined(separator: ", "))
        case "Warn":
            warnings += texts
        default:
            break
        }
    }

    /// Puts metadata members in the order the real server writes them, for readable output.
    static func orderMetadata(_ object: JSON) -> JSON {
        guard var root = object.object, let metadata = root["metadata"]?.object else { return object }
        let order = [
            "name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
            "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
            "managedFields",
        ]
        var sorted = JSONObject()
        for key in order { if let value = metadata[key] { sorted[key] = value } }
        for (key, value) in metadata where sorted[key] == nil { sorted[key] = value }
        root["metadata"] = .object(sorted)
        var ordered = JSONObject()
        for key in ["apiVersion", "kind", "metadata"] { if let value = root[key] { ordered[key] = value } }
        for (key, value) in root where ordered[key] == nil { ordered[key] = value }
        return .object(ordered)
    }
}
