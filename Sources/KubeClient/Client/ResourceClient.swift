import Foundation
import KubeJSON

public struct ListOptions: Sendable {
    public var labelSelector: String?
    public var fieldSelector: String?
    public var limit: Int?
    public var continueToken: String?
    public var resourceVersion: String?
    public var resourceVersionMatch: String?

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil, continueToken: String? = nil,
                resourceVersion: String? = nil, resourceVersionMatch: String? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
        self.continueToken = continueToken
        self.resourceVersion = resourceVersion
        self.resourceVersionMatch = resourceVersionMatch
    }

    var query: [(name: String, value: String)] {
        var query: [(name: String, value: String)] = []
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        if let limit { query.append(("limit", String(limit))) }
        if let continueToken { query.append(("continue", continueToken)) }
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        if let resourceVersionMatch { query.append(("resourceVersionMatch", resourceVersionMatch)) }
        return query
    }
}

public struct DeleteOptions: Sendable {
    public enum Propagation: String, Sendable { case orphan = "Orphan", background = "Background", foreground = "Foreground" }

    /// Delete only if the object still has this uid / resourceVersion (409 Conflict otherwise).
    public var preconditionUID: String?
    public var preconditionResourceVersion: String?
    public var propagationPolicy: Propagation?
    public var gracePeriodSeconds: Int?

    public init(preconditionUID: String? = nil, preconditionResourceVersion: String? = nil,
                propagationPolicy: Propagation? = nil, gracePeriodSeconds: Int? = nil) {
        self.preconditionUID = preconditionUID
        self.preconditionResourceVersion = preconditionResourceVersion
        self.propagationPolicy = propagationPolicy
        self.gracePeriodSeconds = gracePeriodSeconds
    }

    var body: [UInt8]? {
        var object: JSONObject = ["kind": "DeleteOptions", "apiVersion": "v1"]
        var preconditions: JSONObject = [:]
        if let preconditionUID { preconditions["uid"] = .string(preconditionUID) }
        if let preconditionResourceVersion { preconditions["resourceVersion"] = .string(preconditionResourceVersion) }
        if !preconditions.isEmpty { object["preconditions"] = .object(preconditions) }
        if let propagationPolicy { object["propagationPolicy"] = .string(propagationPolicy.rawValue) }
        if let gracePeriodSeconds { object["gracePeriodSeconds"] = .int(Int64(gracePeriodSeconds)) }
        return object.count == 2 ? nil : JSON.object(object).serialized()
    }
}

/// A patch and its media type.
public enum Patch: Sendable {
    /// RFC 7386 JSON merge patch.
    case merge(JSON)
    /// RFC 6902 JSON patch: an array of operations.
    case json(JSON)
    /// Server-side apply of a full intent, as `fieldManager`.
    case apply(JSON, fieldManager: String, force: Bool)

    var contentType: String {
        switch self {
        case .merge: "application/merge-patch+json"
        case .json: "application/json-patch+json"
        case .apply: "application/apply-patch+yaml"
        }
    }

    var body: [UInt8] {
        switch self {
        case .merge(let json), .json(let json), .apply(let json, _, _): json.serialized()
        }
    }
}

/// Typed access to one kind of resource, in one namespace or (nil) across all of them.
public struct ResourceClient<Object: KubeObject>: Sendable {
    public let client: KubeClient
    public let resource: ResourceDescriptor
    public let namespace: String?

    public init(client: KubeClient, resource: ResourceDescriptor, namespace: String?) {
        self.client = client
        self.resource = resource
        self.namespace = namespace
    }

    public func get(_ name: String) async throws -> Object {
        let path = try objectPath(name)
        return try decode(try await client.perform(.init(method: "GET", path: path)), path: path, method: "GET")
    }

    /// One page of the list (all of it when `options.limit` is nil).
    public func list(_ options: ListOptions = ListOptions()) async throws -> ObjectList<Object> {
        let path = resource.path(namespace: namespace)
        let response = try await client.perform(.init(method: "GET", path: path, query: options.query))
        do {
            return try Object.decodeList(response.body)
        } catch {
            throw KubeDecodingError(what: "\(resource.kind) list", method: "GET", path: path, underlying: "\(error)")
        }
    }

    /// Every page of the list, following continue tokens; the resourceVersion is the first page's.
    public func listAll(_ options: ListOptions = ListOptions(), pageSize: Int = 500) async throws -> ObjectList<Object> {
        var options = options
        options.limit = pageSize
        var first = try await list(options)
        var token = first.continueToken
        while let next = token {
            options.continueToken = next
            let page = try await list(options)
            first.items += page.items
            first.undecodable += page.undecodable
            token = page.continueToken
        }
        first.continueToken = nil
        first.remainingItemCount = nil
        return first
    }

    public func create(_ object: Object, fieldValidation: String? = nil) async throws -> Object {
        let path = resource.path(namespace: try targetNamespace(object))
        let query = fieldValidation.map { [(name: "fieldValidation", value: $0)] } ?? []
        let response = try await client.perform(.init(method: "POST", path: path, query: query, body: try object.encoded(), contentType: "application/json"))
        return try decode(response, path: path, method: "POST")
    }

    /// Replaces the object (PUT); with its resourceVersion set this is conditional: 409 Conflict if changed.
    /// `fieldValidation` (Strict, Warn, Ignore) says what unknown fields cause, as for `create`.
    public func update(_ object: Object, fieldValidation: String? = nil) async throws -> Object {
        try await put(object, subresource: nil, fieldValidation: fieldValidation)
    }

    /// Replaces the object's status (PUT on the status subresource).
    public func updateStatus(_ object: Object, fieldValidation: String? = nil) async throws -> Object {
        try await put(object, subresource: "status", fieldValidation: fieldValidation)
    }

    public func patch(_ name: String, _ patch: Patch, subresource: String? = nil) async throws -> Object {
        let path = try objectPath(name, subresource: subresource)
        var query: [(name: String, value: String)] = []
        if case .apply(_, let manager, let force) = patch {
            query.append(("fieldManager", manager))
            if force { query.append(("force", "true")) }
        }
        let response = try await client.perform(.init(method: "PATCH", path: path, query: query, body: patch.body, contentType: patch.contentType))
        return try decode(response, path: path, method: "PATCH")
    }

    public func patchStatus(_ name: String, _ patch: Patch) async throws -> Object {
        try await self.patch(name, patch, subresource: "status")
    }

    public func delete(_ name: String, options: DeleteOptions = DeleteOptions()) async throws {
        let path = try objectPath(name)
        let body = options.body
        _ = try await client.perform(.init(method: "DELETE", path: path, body: body, contentType: body == nil ? nil : "application/json"))
    }

    public func deleteCollection(_ options: ListOptions = ListOptions()) async throws {
        guard namespace != nil || !resource.namespaced else {
            throw KubeUsageError(message: "deletecollection of \(resource.plural) needs a namespace: the server does not delete across namespaces")
        }
        _ = try await client.perform(.init(method: "DELETE", path: resource.path(namespace: namespace), query: options.query))
    }

    // MARK: Helpers

    private func put(_ object: Object, subresource: String?, fieldValidation: String?) async throws -> Object {
        let path = resource.path(namespace: try targetNamespace(object), name: object.name, subresource: subresource)
        let query = fieldValidation.map { [(name: "fieldValidation", value: $0)] } ?? []
        let response = try await client.perform(.init(method: "PUT", path: path, query: query, body: try object.encoded(),
                                                      contentType: "application/json"))
        return try decode(response, path: path, method: "PUT")
    }

    private func objectPath(_ name: String, subresource: String? = nil) throws -> String {
        guard !name.isEmpty else { throw KubeUsageError(message: "a \(resource.kind) name must not be empty") }
        if resource.namespaced && namespace == nil {
            throw KubeUsageError(message: "\(resource.plural) are namespaced: make the client with a namespace to address \(name)")
        }
        return resource.path(namespace: namespace, name: name, subresource: subresource)
    }

    private func targetNamespace(_ object: Object) throws -> String? {
        guard resource.namespaced else { return nil }
        guard let namespace = namespace ?? object.namespace else {
            throw KubeUsageError(message: "\(resource.kind) \(object.name) has no namespace and the client has none")
        }
        return namespace
    }

    private func decode(_ response: TransportResponse, path: String, method: String) throws -> Object {
        do {
            return try Object.decode(response.body)
        } catch {
            throw KubeDecodingError(what: resource.kind, method: method, path: path, underlying: "\(error)")
        }
    }
}

/// A call the client refuses before sending anything, because it cannot be right.
public struct KubeUsageError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
