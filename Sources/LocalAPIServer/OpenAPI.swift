import KubeJSON

/// OpenAPI v3 documents per group version, derived from the CRD schemas (and a sketch of the
/// built-in types): what `kubectl explain` reads, and what `kubectl apply` consults.
///
/// OpenAPI v2 is not served (404): kubectl then falls back to JSON merge patch for custom
/// resources, which is what it would choose anyway.
enum OpenAPI {
    static func handle(segments: [String], query: [String: String], registry: ResourceRegistry) throws(APIError) -> APIResponse {
        guard segments.count >= 2, segments[1] == "v3" else { throw APIError.pathNotFound() }
        let documents = groupVersions(registry)
        if segments.count == 2 {
            var paths = JSONObject()
            for (path, document) in documents {
                paths[path] = ["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(hash(document))")]
            }
            return .json(["paths": .object(paths)])
        }
        let path = segments.dropFirst(2).joined(separator: "/")
        guard let document = documents.first(where: { $0.0 == path })?.1 else { throw APIError.pathNotFound() }
        return .json(document, headers: [("Etag", "\"\(hash(document))\""), ("Vary", "Accept")])
    }

    /// `api/v1`, `apis/GROUP/VERSION` with their documents.
    static func groupVersions(_ registry: ResourceRegistry) -> [(String, JSON)] {
        var byPath: [String: [ResourceType]] = [:]
        for type in registry.all {
            let path = type.group.isEmpty ? "api/\(type.version)" : "apis/\(type.group)/\(type.version)"
            byPath[path, default: []].append(type)
        }
        return byPath.keys.sorted().map { ($0, document(byPath[$0]!)) }
    }

    /// `io.mcp.v1.Task` for mcp.io/v1 Task, as the real server names definitions.
    static func definitionName(_ type: ResourceType) -> String {
        if type.group.isEmpty { return "io.k8s.api.core.v1.\(type.kind)" }
        if !type.isCustom {
            let short = type.group.split(separator: ".").first.map(String.init) ?? type.group
            return "io.k8s.api.\(short).\(type.version).\(type.kind)"
        }
        return type.group.split(separator: ".").reversed().joined(separator: ".") + ".\(type.version).\(type.kind)"
    }

    static let objectMetaName = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    static let listMetaName = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"

    static func document(_ types: [ResourceType]) -> JSON {
        var schemas = JSONObject()
        var paths = JSONObject()
        for type in types {
            let name = definitionName(type)
            let gvk: JSON = [["group": .string(type.group), "kind": .string(type.kind), "version": .string(type.version)]]
            var schema = (type.openAPISchema ?? ["type": "object", "x-kubernetes-preserve-unknown-fields": true]).object ?? [:]
            var properties = schema["properties"]?.object ?? [:]
            properties["apiVersion"] = [
                "type": "string",
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.",
            ]
            properties["kind"] = [
                "type": "string",
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.",
            ]
            properties["metadata"] = [
                "description": "Standard object's metadata.", "default": [:],
                "allOf": [["$ref": .string("#/components/schemas/\(objectMetaName)")]],
            ]
            schema["properties"] = .object(properties)
            schema["type"] = "object"
            schema["x-kubernetes-group-version-kind"] = gvk
            schemas[name] = .object(schema)
            schemas[name + "List"] = [
                "type": "object", "required": ["items"],
                "description": .string("\(type.listKind) is a list of \(type.kind)"),
                "properties": [
                    "apiVersion": ["type": "string"], "kind": ["type": "string"],
                    "items": ["type": "array", "items": ["$ref": .string("#/components/schemas/\(name)")]],
                    "metadata": ["allOf": [["$ref": .string("#/components/schemas/\(listMetaName)")]], "default": [:]],
                ],
                "x-kubernetes-group-version-kind": [["group": .string(type.group), "kind": .string(type.listKind), "version": .string(type.version)]],
            ]
            let base = (type.group.isEmpty ? "/api/" : "/apis/\(type.group)/") + type.version
            let collection = base + (type.namespaced ? "/namespaces/{namespace}/" : "/") + type.plural
            let ref: JSON = ["$ref": .string("#/components/schemas/\(name)")]
            paths[collection] = ["get": ["description": .string("list objects of kind \(type.kind)"),
                                         "responses": ["200": ["description": "OK", "content": ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(name)List")]]]]]]]
            // kubectl looks for the PATCH operation of a kind and its `fieldValidation` parameter to decide
            // that the server validates fields itself (and then skips client-side validation).
            let operationGVK: JSON = ["group": .string(type.group), "kind": .string(type.kind), "version": .string(type.version)]
            let parameters: JSON = .array(["dryRun", "fieldManager", "fieldValidation", "force"].map { name in
                ["name": .string(name), "in": "query", "schema": ["type": "string", "uniqueItems": true]]
            })
            let okObject: JSON = ["200": ["description": "OK", "content": ["application/json": ["schema": ref]]]]
            paths[collection + "/{name}"] = [
                "get": ["description": .string("read the specified \(type.kind)"), "responses": okObject,
                        "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": operationGVK],
                "put": ["description": .string("replace the specified \(type.kind)"), "parameters": parameters,
                        "responses": okObject, "x-kubernetes-action": "put", "x-kubernetes-group-version-kind": operationGVK],
                "patch": ["description": .string("partially update the specified \(type.kind)"), "parameters": parameters,
                          "responses": okObject, "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": operationGVK],
            ]
        }
        schemas[objectMetaName] = objectMeta
        schemas[listMetaName] = [
            "type": "object", "description": "ListMeta describes metadata that synthetic resources must have.",
            "properties": ["continue": ["type": "string"], "remainingItemCount": ["type": "integer", "format": "int64"],
                           "resourceVersion": ["type": "string"]],
        ]
        return [
            "openapi": "3.0.0", "info": ["title": "Kubernetes CRD Swagger", "version": "v0.1.0"],
            "paths": .object(paths), "components": ["schemas": .object(schemas)],
        ]
    }

    static let objectMeta: JSON = [
        "type": "object",
        "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
        "properties": [
            "annotations": ["type": "object", "additionalProperties": ["type": "string", "default": ""],
                            "description": "Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata."],
            "creationTimestamp": ["type": "string", "format": "date-time",
                                  "description": "CreationTimestamp is a timestamp representing the server time when this object was created."],
            "deletionGracePeriodSeconds": ["type": "integer", "format": "int64",
                                           "description": "Number of seconds allowed for this object to gracefully terminate before it will be removed from the system."],
            "deletionTimestamp": ["type": "string", "format": "date-time",
                                  "description": "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted."],
            "finalizers": ["type": "array", "items": ["type": "string", "default": ""], "x-kubernetes-list-type": "set",
                           "description": "Must be empty before the object is deleted from the registry."],
            "generateName": ["type": "string",
                             "description": "GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided."],
            "generation": ["type": "integer", "format": "int64",
                           "description": "A sequence number representing a specific generation of the desired state."],
            "labels": ["type": "object", "additionalProperties": ["type": "string", "default": ""],
                       "description": "Map of string keys and values that can be used to organize and categorize (scope and select) objects."],
            "name": ["type": "string", "description": "Name must be unique within a namespace."],
            "namespace": ["type": "string", "description": "Namespace defines the space within which each name must be unique."],
            "resourceVersion": ["type": "string",
                                "description": "An opaque value that represents the internal version of this object."],
            "uid": ["type": "string", "description": "UID is the unique in time and space value for this object."],
        ],
    ]

    /// A stable digest of a document, for the `hash` query and the Etag.
    static func hash(_ document: JSON) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in document.serialized() {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b &+ UInt64(byte)) &* 0x9E37_79B9_7F4A_7C15
        }
        let hex = String(a, radix: 16, uppercase: true) + String(b, radix: 16, uppercase: true)
        return hex
    }
}
