import Foundation
import KubeJSON
import Logging

/// The Kubernetes API, served from one process: routing, content negotiation and the verbs on
/// resources. HTTP, TLS and authentication live in `HTTPServer`; storage in `ObjectStore`.
public final class APIServer: Sendable {
    public let store: ObjectStore
    public let registry: ResourceRegistry
    let clock: @Sendable () -> Date
    let logger: Logger
    /// How often an idle watch that asked for bookmarks gets one.
    let bookmarkInterval: Duration
    /// The largest request body accepted, as kube-apiserver's 3 MiB.
    public static let maxRequestBodyBytes = 3 * 1024 * 1024

    /// Who may call, and what they may do.
    public let accessControl: AccessControl
    /// Service-account tokens whose signature was checked, with their claims.
    let verifiedTokens = VerifiedTokens()

    public init(
        store: ObjectStore, logger: Logger = Logger(label: "apiserver"), bookmarkInterval: Duration = .seconds(60),
        accessControl: AccessControl = AccessControl(), clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.accessControl = accessControl
        self.registry = ResourceRegistry()
        self.clock = clock
        self.logger = logger
        self.bookmarkInterval = bookmarkInterval
        loadCustomResourceDefinitions()
    }

    /// Serves the CRDs found in storage, as after a restart.
    private func loadCustomResourceDefinitions() {
        for (_, stored) in store.list(ResourceType.customResourceDefinitions.storageKey, namespace: nil).objects {
            if let name = stored.object["metadata"]?["name"]?.string,
                let types = try? CustomResourceDefinitions.resourceTypes(of: stored.object, origin: stored.revision)
            {
                registry.serve(crd: name, types: types)
            }
        }
    }

    var now: String { KubeTimestamp.time(clock()) }

    // MARK: Dispatch

    /// Answers a request from an authenticated user: impersonation first, then authorization of the
    /// request as the user it acts as, then the request itself.
    public func handle(_ request: APIRequest) async -> APIResponse {
        var request = request
        do throws(APIError) {
            if let impersonation = request.impersonation, !impersonation.isEmpty {
                request.user = try impersonate(impersonation, by: request.user)
            }
            let attributes = RequestAttributes(method: request.method, path: request.path, query: request.query, user: request.user)
            let decision = authorize(attributes)
            guard decision.allowed else { throw APIError.forbidden(attributes, reason: decision.reason) }
            return try await route(request)
        } catch {
            return .error(error)
        }
    }

    private func route(_ request: APIRequest) async throws(APIError) -> APIResponse {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let first = segments.first else { return Discovery.rootPaths(registry) }
        switch first {
        case "healthz", "livez", "readyz":
            return .text("ok")
        case "version":
            return .json(Discovery.version)
        case "openapi":
            return try OpenAPI.handle(segments: segments, query: request.query, registry: registry)
        case "api":
            if segments.count == 1 { return Discovery.coreVersions(request, registry: registry) }
            if segments.count == 2 {
                guard segments[1] == "v1" else { throw APIError.pathNotFound() }
                return .json(Discovery.resourceList(group: "", version: "v1", registry: registry))
            }
            guard segments[1] == "v1" else { throw APIError.pathNotFound() }
            return try await resource(request, group: "", version: segments[1], rest: Array(segments[2...]))
        case "apis":
            if segments.count == 1 { return Discovery.groups(request, registry: registry) }
            if segments.count == 2 {
                guard let group = Discovery.group(segments[1], registry: registry) else { throw APIError.pathNotFound() }
                return .json(group)
            }
            if segments.count == 3 {
                let list = Discovery.resourceList(group: segments[1], version: segments[2], registry: registry)
                guard !(list["resources"]?.array ?? []).isEmpty else { throw APIError.pathNotFound() }
                return .json(list)
            }
            return try await resource(request, group: segments[1], version: segments[2], rest: Array(segments[3...]))
        default:
            throw APIError.pathNotFound()
        }
    }

    /// The parts of a resource path after the group and version.
    struct Target {
        var type: ResourceType
        var namespace: String?
        var name: String?
        var subresource: String?
    }

    private func target(group: String, version: String, rest: [String]) throws(APIError) -> Target {
        var rest = rest
        var namespace: String?
        let isNamespaceSubresource =
            group.isEmpty && rest.count == 3 && rest[0] == "namespaces" && ["status", "finalize"].contains(rest[2])
        if rest.count >= 3, rest[0] == "namespaces", !isNamespaceSubresource {
            namespace = rest[1]
            rest.removeFirst(2)
        }
        guard rest.count >= 1, rest.count <= 3,
            let type = registry.lookup(group: group, version: version, plural: rest[0])
        else { throw APIError.pathNotFound() }
        if namespace != nil, !type.namespaced { throw APIError.pathNotFound() }
        let name = rest.count > 1 ? rest[1] : nil
        let subresource = rest.count > 2 ? rest[2] : nil
        if let subresource, !type.subresources.contains(subresource) { throw APIError.pathNotFound() }
        if let name, name.isEmpty { throw APIError.pathNotFound() }
        return Target(type: type, namespace: namespace, name: name, subresource: subresource)
    }

    private func resource(_ request: APIRequest, group: String, version: String, rest: [String]) async throws(APIError) -> APIResponse {
        let target = try target(group: group, version: version, rest: rest)
        if target.type.isReview {
            guard request.method == "POST", target.name == nil else {
                throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
            }
            return try review(target, request: request)
        }
        if let subresource = target.subresource, target.type.actionSubresources.contains(where: { $0.name == subresource }) {
            guard request.method == "POST", let name = target.name else {
                throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
            }
            return try tokenRequest(target, name: name, request: request)
        }
        var context = try RequestContext(request: request, type: target.type)
        // A namespaced resource's path without a namespace serves only list and watch (the real
        // server registers no create or deletecollection route there).
        let acrossNamespaces = target.type.namespaced && target.namespace == nil
        switch (request.method, target.name) {
        case ("GET", nil) where context.isWatch:
            try context.checkListOptions(target.type)
            return try watch(target, context)
        case ("GET", nil):
            try context.checkListOptions(target.type)
            return try list(target, context)
        case ("GET", let name?):
            return try get(target, name: name, context)
        case ("POST", nil) where !acrossNamespaces:
            try context.checkWriteOptions("CreateOptions")
            let body = try decodeObject(request, type: target.type, duplicates: &context.duplicateFields)
            return try create(target, context, body: body)
        case ("PUT", let name?):
            try context.checkWriteOptions("UpdateOptions")
            let body = try decodeObject(request, type: target.type, duplicates: &context.duplicateFields)
            return try update(target, name: name, context, body: body)
        case ("PATCH", let name?):
            return try patch(target, name: name, context, request: request)
        case ("DELETE", let name?):
            return try await delete(target, name: name, context, request: request)
        case ("DELETE", nil) where !acrossNamespaces:
            return try await deleteCollection(target, context, request: request)
        default:
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    // MARK: Reading

    private func get(_ target: Target, name: String, _ context: RequestContext) throws(APIError) -> APIResponse {
        guard let stored = store.get(target.type.storageKey, namespace: target.namespace ?? "", name: name) else {
            throw APIError.notFound(target.type, name: name)
        }
        let object = Render.inVersion(stored.object, target.type)
        switch context.format {
        case .table(let includeObject):
            return .json(Table.render([object], type: target.type, revision: String(stored.revision),
                                      includeObject: includeObject, includeHeaders: true, now: clock()))
        case .metadata:
            return .json(Render.partialMetadata(object))
        case .json:
            return .json(object)
        }
    }

    private func list(_ target: Target, _ context: RequestContext) throws(APIError) -> APIResponse {
        let page = try ListPage.read(store: store, target: target, context: context)
        switch context.format {
        case .table(let includeObject):
            var table = Table.render(page.items.map { Render.inVersion($0, target.type) }, type: target.type,
                                     revision: String(page.revision), includeObject: includeObject,
                                     includeHeaders: true, now: clock())
            if let token = page.continueToken { table["metadata"]?["continue"] = .string(token) }
            return .json(table)
        case .metadata:
            return .json(Render.list(page, type: target.type, partialMetadata: true))
        case .json:
            return .json(Render.list(page, type: target.type, partialMetadata: false))
        }
    }

    private func watch(_ target: Target, _ context: RequestContext) throws(APIError) -> APIResponse {
        let (stream, close) = try WatchStream.open(server: self, target: target, context: context)
        return APIResponse(status: 200, contentType: "application/json", body: .stream(stream, onClose: close))
    }

    // MARK: Writing

    /// Reads a request body as an object of the resource's kind; notes the members a JSON body
    /// repeats, which strict field validation reports.
    func decodeObject(_ request: APIRequest, type: ResourceType, duplicates: inout [String]) throws(APIError) -> JSON {
        let media = MediaType.essence(request.contentType)
        let value: JSON
        switch media {
        case "application/json", "", "*/*":
            value = try parseBody(request.body, type: type, duplicates: &duplicates)
        case "application/yaml":
            value = try YAMLBody.parse(request.body, type: type)
        case ProtobufBody.mediaType:
            value = try ProtobufBody.decode(request.body, type: type)
        default:
            throw APIError.unsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                    + "application/json, application/yaml")
        }
        guard case .object = value else {
            throw APIError.badRequest(
                "the object provided is unrecognized (must be of type \(type.kind)): couldn't get version/kind; "
                    + "json parse error: json: cannot unmarshal \(Render.goTypeName(value)) into Go value of type struct "
                    + "{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }")
        }
        return value
    }

    func parseBody(_ body: [UInt8], type: ResourceType, duplicates: inout [String]) throws(APIError) -> JSON {
        do {
            return try JSON.parse(body, duplicateKeys: &duplicates)
        } catch {
            let snippet = String(decoding: body.prefix(50), as: UTF8.self)
            throw APIError.badRequest(
                "the object provided is unrecognized (must be of type \(type.kind)): couldn't get version/kind; "
                    + "json parse error: \(error.message) (\(snippet))")
        }
    }

    private func create(_ target: Target, _ context: RequestContext, body: JSON) throws(APIError) -> APIResponse {
        guard target.subresource == nil else {
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
        let namespace = target.namespace ?? ""
        try checkNamespaceAcceptsContent(target)
        var warnings: [String] = []
        let prepared = try Strategy.prepareForCreate(
            body, type: target.type, namespace: target.namespace, context: context, now: now, warnings: &warnings)
        var object = target.type.storedAs?.toStorage(prepared) ?? prepared
        var name = object["metadata"]?["name"]?.string ?? ""
        if let check = escalationCheck(target, user: context.user, name: name, body: prepared),
            let error = check.check(prepared, old: nil, name: name)
        {
            throw error
        }
        let generatePrefix = object["metadata"]?["generateName"]?.string
        // A generated name that happens to be taken is drawn again, as the real server retries.
        for attempt in 0..<8 {
            if attempt > 0, let generatePrefix {
                name = Names.generate(prefix: generatePrefix)
                object.set(path: ["metadata", "name"], to: .string(name))
            }
            if context.dryRun {
                if store.get(target.type.storageKey, namespace: namespace, name: name) != nil {
                    if generatePrefix != nil { continue }
                    throw APIError.alreadyExists(target.type, name: name)
                }
                return .json(Render.inVersion(object, target.type), status: 201, headers: Render.warningHeaders(warnings))
            }
            do throws(APIError) {
                let outcome = try store.mutate(target.type.storageKey, namespace: namespace, name: name) {
                    current throws(APIError) -> Mutation in
                    if current != nil { throw APIError.alreadyExists(target.type, name: name) }
                    return .put(object)
                }
                guard case .stored(let stored, _) = outcome else { throw APIError.internalError("create stored nothing") }
                afterWrite(target.type, stored.object, deleted: false)
                return .json(Render.inVersion(stored.object, target.type), status: 201, headers: Render.warningHeaders(warnings))
            } catch where error.reason == "AlreadyExists" && generatePrefix != nil && attempt < 7 {
                continue
            }
        }
        throw APIError.alreadyExists(target.type, name: name)
    }

    /// Refuses content in a namespace that does not exist or is being deleted.
    func checkNamespaceAcceptsContent(_ target: Target) throws(APIError) {
        guard let namespace = target.namespace else { return }
        guard let stored = store.get(ResourceType.namespaces.storageKey, namespace: "", name: namespace) else {
            throw APIError.namespaceNotFound(namespace)
        }
        if stored.object["metadata"]?["deletionTimestamp"] != nil {
            throw APIError.forbidden(
                target.type, name: "",
                message: "unable to create new content in namespace \(namespace) because it is being terminated")
        }
    }

    private func update(_ target: Target, name: String, _ context: RequestContext, body: JSON) throws(APIError) -> APIResponse {
        let metadata = body["metadata"]
        if let bodyName = metadata?["name"]?.string, bodyName != name {
            throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if let bodyNamespace = metadata?["namespace"]?.string, !bodyNamespace.isEmpty, let namespace = target.namespace,
            bodyNamespace != namespace
        {
            throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        let precondition = metadata?["resourceVersion"]?.string ?? ""
        return try write(target, name: name, context) { current throws(APIError) -> JSON in
            if precondition.isEmpty && !target.type.allowsUnconditionalUpdate {
                throw APIError.invalid(target.type, name: name, causes: [
                    Cause(field: "metadata.resourceVersion", reason: "FieldValueInvalid",
                          message: "Invalid value: 0x0: must be specified for an update")
                ])
            }
            if !precondition.isEmpty && precondition != String(current.revision) {
                throw APIError.conflict(target.type, name: name)
            }
            return body
        }
    }

    private func patch(_ target: Target, name: String, _ context: RequestContext, request: APIRequest) throws(APIError) -> APIResponse {
        let media = MediaType.essence(request.contentType)
        switch media {
        case "application/merge-patch+json", "application/json-patch+json":
            try context.checkWriteOptions("PatchOptions", applyPatch: false)
        case "application/strategic-merge-patch+json" where !target.type.isCustom:
            try context.checkWriteOptions("PatchOptions", applyPatch: false)
        case "application/apply-patch+yaml", "application/apply-patch+json":
            try context.checkWriteOptions("PatchOptions", applyPatch: true)
            return try apply(target, name: name, context, request: request)
        default:
            throw APIError.unsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: "
                    + (target.type.isCustom
                        ? "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                        : "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"))
        }
        let patchDocument: JSON
        do {
            patchDocument = try JSON.parse(request.body)
        } catch {
            throw APIError.badRequest("error decoding patch: \(error.message)")
        }
        if media == "application/json-patch+json", patchDocument.array == nil {
            throw APIError.badRequest("json: cannot unmarshal \(Render.goTypeName(patchDocument)) into Go value of type jsonpatch.Patch")
        }
        if media != "application/json-patch+json", patchDocument.object == nil {
            throw APIError.badRequest("json: cannot unmarshal \(Render.goTypeName(patchDocument)) into Go value of type map[string]interface {}")
        }
        return try write(target, name: name, context) { current throws(APIError) -> JSON in
            var patched: JSON
            if media == "application/json-patch+json" {
                do {
                    patched = try current.object.jsonPatched(with: patchDocument)
                } catch {
                    throw APIError(code: 422, reason: "Invalid",
                                   message: "the server rejected our request due to an error in our request", details: [:])
                }
            } else {
                patched = current.object.mergePatched(with: patchDocument)
            }
            // A resourceVersion the patch carries is a precondition; one it does not carry is the current one.
            let version = patched["metadata"]?["resourceVersion"]?.string ?? ""
            if !version.isEmpty && version != String(current.revision) {
                throw APIError.conflict(target.type, name: name)
            }
            patched.set(path: ["metadata", "resourceVersion"], to: .string(String(current.revision)))
            return patched
        }
    }

    /// Server-side apply, simplified: a missing object is created from the applied configuration;
    /// an existing one has the configuration merged in. The applying manager owns what it applied
    /// (`checkWriteOptions` has made sure there is one).
    private func apply(_ target: Target, name: String, _ context: RequestContext, request: APIRequest) throws(APIError) -> APIResponse {
        let applied = try YAMLBody.parse(request.body, type: target.type)
        guard case .object = applied else { throw APIError.badRequest("apply configuration must be an object") }
        var applyContext = context
        applyContext.operation = "Apply"
        applyContext.appliedConfiguration = applied
        if store.get(target.type.storageKey, namespace: target.namespace ?? "", name: name) == nil {
            var object = applied
            object.set(path: ["metadata", "name"], to: .string(name))
            return try create(target, applyContext, body: object)
        }
        return try write(target, name: name, applyContext) { current throws(APIError) -> JSON in
            var merged = current.object.mergePatched(with: applied)
            merged.set(path: ["metadata", "resourceVersion"], to: .string(String(current.revision)))
            return merged
        }
    }

    /// The shared path of update and patch: `change` turns the stored object into the requested one
    /// (and checks preconditions); the resource's strategy then decides what is kept.
    private func write(
        _ target: Target, name: String, _ context: RequestContext,
        change: (StoredObject) throws(APIError) -> JSON
    ) throws(APIError) -> APIResponse {
        let namespace = target.namespace ?? ""
        var warnings: [String] = []
        var response: JSON?
        let now = self.now
        let escalation = escalationCheck(target, user: context.user, name: name, body: nil)
        var outcome: MutationOutcome
        // The write is prepared outside the store's lock, from the object as read, and stored only if the object is
        // still at that revision; otherwise it is prepared again from the newer one (kube-apiserver's
        // GuaranteedUpdate over etcd's compare of the key's revision). Writers then wait on each other only for
        // the store's own step, not for each other's validation, defaults and managed fields.
        while true {
            guard let current = store.get(target.type.storageKey, namespace: namespace, name: name) else {
                throw APIError.notFound(target.type, name: name)
            }
            warnings = []
            response = nil
            // The change and the strategy see the object as this resource serves it; the store keeps its own shape.
            var served = current
            if let shape = target.type.storedAs { served.object = shape.fromStorage(current.object) }
            let requested = try change(served)
            var updated = try Strategy.prepareForUpdate(
                requested, old: served.object, type: target.type, subresource: target.subresource,
                context: context, now: now, warnings: &warnings)
            if let shape = target.type.storedAs { updated = shape.toStorage(updated) }
            if let error = escalation?.check(updated, old: served.object, name: name) { throw error }
            let decision: Mutation
            if Strategy.isUnchanged(updated, current.object) {
                decision = .unchanged
            } else if context.dryRun {
                response = updated
                decision = .unchanged
            } else if Strategy.isFinalized(updated) {
                response = updated
                decision = .delete
            } else {
                decision = .put(updated)
            }
            var moved = false
            outcome = try store.mutate(target.type.storageKey, namespace: namespace, name: name) {
                latest throws(APIError) -> Mutation in
                guard latest?.revision == current.revision else {
                    moved = true
                    return .unchanged
                }
                return decision
            }
            if !moved { break }
        }
        let headers = Render.warningHeaders(warnings)
        switch outcome {
        case .stored(let stored, _):
            afterWrite(target.type, stored.object, deleted: false)
            return .json(Render.inVersion(stored.object, target.type), headers: headers)
        case .deleted(let final):
            afterWrite(target.type, final.object, deleted: true)
            // The answer is the object as the request left it, before it went.
            return .json(Render.inVersion(response ?? final.object, target.type), headers: headers)
        case .unchanged(let stored):
            return .json(Render.inVersion(response ?? stored?.object ?? .null, target.type), headers: headers)
        }
    }

    // MARK: Deleting

    private func delete(_ target: Target, name: String, _ context: RequestContext, request: APIRequest) async throws(APIError) -> APIResponse {
        let options = try DeleteOptions(request: request)
        let outcome = try deleteObject(target.type, namespace: target.namespace ?? "", name: name, options: options,
                                       dryRun: options.isDryRun)
        switch outcome {
        case .deleted(let final):
            if target.type.deleteReturnsObject { return .json(Render.inVersion(final.object, target.type)) }
            var details: JSONObject = ["name": .string(name)]
            if !target.type.group.isEmpty { details["group"] = .string(target.type.group) }
            details["kind"] = .string(target.type.plural)
            if let uid = final.object["metadata"]?["uid"] { details["uid"] = uid }
            return .json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "details": .object(details)])
        case .stored(let stored, _):
            return .json(Render.inVersion(stored.object, target.type))
        case .unchanged(let stored):
            return .json(Render.inVersion(stored?.object ?? .null, target.type))
        }
    }

    /// Deletes one object: marks it for deletion while finalizers remain, removes it once none do.
    func deleteObject(_ type: ResourceType, namespace: String, name: String, options: DeleteOptions, dryRun: Bool) throws(APIError) -> MutationOutcome {
        if type.storageKey == ResourceType.customResourceDefinitions.storageKey {
            removeCustomResources(ofCRD: name)
        }
        let now = self.now
        let outcome = try store.mutate(type.storageKey, namespace: namespace, name: name) { current throws(APIError) -> Mutation in
            guard let current else { throw APIError.notFound(type, name: name) }
            try options.check(current, type: type, name: name)
            if dryRun { return .unchanged }
            return Strategy.deletion(of: current.object, type: type, now: now)
        }
        switch outcome {
        case .deleted(let final): afterWrite(type, final.object, deleted: true)
        case .stored(let stored, _): afterWrite(type, stored.object, deleted: false)
        case .unchanged: break
        }
        return outcome
    }

    private func deleteCollection(_ target: Target, _ context: RequestContext, request: APIRequest) async throws(APIError) -> APIResponse {
        try context.checkListOptions(target.type)
        let options = try DeleteOptions(request: request)
        var listContext = context
        listContext.limit = nil
        listContext.continueToken = nil
        let page = try ListPage.read(store: store, target: target, context: listContext)
        var deleted: [JSON] = []
        for object in page.items {
            let name = object["metadata"]?["name"]?.string ?? ""
            let namespace = object["metadata"]?["namespace"]?.string ?? ""
            do {
                _ = try deleteObject(target.type, namespace: namespace, name: name, options: options, dryRun: options.isDryRun)
                deleted.append(object)
            } catch where error.code == 404 {
                continue
            }
        }
        let result = ListPage(items: deleted, revision: store.currentRevision, continueToken: nil, remaining: nil)
        return .json(Render.list(result, type: target.type, partialMetadata: false))
    }

    /// What follows a write beyond storage: CRDs start or stop serving, namespaces finalize, aggregated
    /// ClusterRoles gather their rules again.
    func afterWrite(_ type: ResourceType, _ object: JSON, deleted: Bool) {
        let name = object["metadata"]?["name"]?.string ?? ""
        if type.storageKey == ResourceType.clusterRoles.storageKey {
            aggregateClusterRoles()
        } else if type.storageKey == ResourceType.customResourceDefinitions.storageKey {
            if deleted {
                registry.stopServing(crd: name)
            } else {
                let served = registry.all.first { $0.isCustom && "\($0.plural).\($0.group)" == name }
                let origin = served?.historyOrigin ?? Int64(object["metadata"]?["resourceVersion"]?.string ?? "") ?? 0
                if let types = try? CustomResourceDefinitions.resourceTypes(of: object, origin: origin) {
                    registry.serve(crd: name, types: types)
                }
            }
        } else if type.storageKey == ResourceType.namespaces.storageKey, !deleted,
            object["metadata"]?["deletionTimestamp"] != nil
        {
            finalizeNamespace(name)
        } else if type.namespaced, deleted, let namespace = object["metadata"]?["namespace"]?.string,
            let ns = store.get(ResourceType.namespaces.storageKey, namespace: "", name: namespace),
            ns.object["metadata"]?["deletionTimestamp"] != nil
        {
            finalizeNamespace(namespace)
        }
    }

    /// The namespace controller's job, done in place: delete what a terminating namespace holds,
    /// and the namespace itself once it is empty.
    func finalizeNamespace(_ namespace: String) {
        var remaining = false
        for resource in store.resources(inNamespace: namespace) {
            guard let type = registry.all.first(where: { $0.storageKey == resource }) else { continue }
            for (_, stored) in store.list(resource, namespace: namespace).objects {
                let name = stored.object["metadata"]?["name"]?.string ?? ""
                if stored.object["metadata"]?["deletionTimestamp"] != nil {
                    remaining = true
                    continue
                }
                if case .stored = try? deleteObject(type, namespace: namespace, name: name, options: DeleteOptions(), dryRun: false) {
                    remaining = true
                }
            }
        }
        guard !remaining else { return }
        _ = try? store.mutate(ResourceType.namespaces.storageKey, namespace: "", name: namespace) { current throws(APIError) -> Mutation in
            guard let current, current.object["metadata"]?["deletionTimestamp"] != nil else { return .unchanged }
            return .delete
        }
    }

    /// Deletes every object a CRD defines, before the CRD goes.
    private func removeCustomResources(ofCRD name: String) {
        guard let type = registry.all.first(where: { $0.isCustom && "\($0.plural).\($0.group)" == name }) else { return }
        for (_, stored) in store.list(type.storageKey, namespace: nil).objects {
            let metadata = stored.object["metadata"]
            _ = try? store.mutate(type.storageKey, namespace: metadata?["namespace"]?.string ?? "",
                                  name: metadata?["name"]?.string ?? "") { _ throws(APIError) -> Mutation in .delete }
        }
    }
}

/// Timestamps as clients send them, read with `KubeTimestamp` (which also writes the server's).
enum Timestamp {
    /// Parses RFC 3339 (with or without fractional seconds); nil for anything else.
    static func parse(_ text: String) -> Date? {
        guard let (seconds, nanoseconds) = try? KubeTimestamp.parse(text) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds) + TimeInterval(nanoseconds) / 1e9)
    }
}

/// Media types as Content-Type and Accept carry them.
enum MediaType {
    /// The type without parameters, lowercased: `application/json`.
    static func essence(_ value: String?) -> String {
        guard let value else { return "" }
        return value.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
    }
}
