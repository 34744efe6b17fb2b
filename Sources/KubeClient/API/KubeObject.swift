import Foundation
import KubeJSON

/// Where a kind of resource lives in the API.
public struct ResourceDescriptor: Sendable, Hashable {
    public var group: String
    public var version: String
    /// The plural resource name in URLs, e.g. `tasks`.
    public var plural: String
    public var kind: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// The collection path (`namespace` nil lists across all namespaces), or an object's path with `name`.
    public func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { path += "/namespaces/\(namespace)" }
        path += "/\(plural)"
        if let name { path += "/\(name)" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    public static let leases = ResourceDescriptor(group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true)
    public static let events = ResourceDescriptor(group: "", version: "v1", plural: "events", kind: "Event", namespaced: true)
    public static let namespaces = ResourceDescriptor(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
}

/// An object the client can send and receive: a Codable model (`KubeResource`) or untyped `JSON`.
public protocol KubeObject: Sendable {
    static func decode(_ bytes: [UInt8]) throws -> Self
    static func decodeList(_ bytes: [UInt8]) throws -> ObjectList<Self>
    static func decodeWatchEvent(_ line: [UInt8]) throws -> WatchEvent<Self>
    func encoded() throws -> [UInt8]

    var name: String { get }
    var namespace: String? { get }
    var resourceVersion: String? { get }
    var uid: String? { get }
    var labels: [String: String] { get }
}

extension KubeObject {
    /// `namespace/name`, or `name` for a cluster-scoped object: the cache key client-go uses.
    public var key: String { namespace.map { "\($0)/\(name)" } ?? name }
}

public struct ObjectList<Object: KubeObject>: Sendable {
    public var items: [Object]
    public var resourceVersion: String
    /// The token for the next page, nil on the last one.
    public var continueToken: String?
    public var remainingItemCount: Int?
    /// Items the model could not read, left out of `items` (see `UndecodableObject`).
    public var undecodable: [UndecodableObject] = []
}

public enum WatchEvent<Object: KubeObject>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// Progress without a change; `initialEventsEnd` marks the end of the initial events of `sendInitialEvents`.
    case bookmark(resourceVersion: String, initialEventsEnd: Bool)
    case error(KubeStatus)
    /// An ADDED, MODIFIED or DELETED whose object the model cannot read: for the receiver the object is gone
    /// (until a version that reads arrives); the watch goes on past it.
    case undecodable(UndecodableObject)

    public var object: Object? {
        switch self {
        case .added(let object), .modified(let object), .deleted(let object): object
        case .bookmark, .error, .undecodable: nil
        }
    }
}

/// A Codable model of a resource with standard object metadata.
public protocol KubeResource: KubeObject, Codable {
    static var resource: ResourceDescriptor { get }
    var metadata: ObjectMeta { get set }
}

extension KubeResource {
    public var name: String { metadata.name ?? "" }
    public var namespace: String? { metadata.namespace }
    public var resourceVersion: String? { metadata.resourceVersion }
    public var uid: String? { metadata.uid }
    public var labels: [String: String] { metadata.labels ?? [:] }

    // Decoded through `JSON.parse` and `JSONValueDecoder`, about twice as fast as Foundation's JSONDecoder: the
    // controller and every agent decode each watch event and each write's answer. `ObjectMeta` has no
    // managedFields, so the parser passes over them (`unreadMembers`).
    public static func decode(_ bytes: [UInt8]) throws -> Self {
        try JSONValueDecoder.decode(Self.self, from: JSON.parse(bytes, omitting: unreadMembers))
    }

    /// `metadata.managedFields`, which no model reads (`ObjectMeta` leaves it out): a third of a Task's bytes and
    /// most of its values, as every writer adds to it.
    static var unreadMembers: [String] { ["metadata", "managedFields"] }

    /// Items that do not decode are left out and reported in `undecodable`; an item without readable
    /// metadata fails the whole list (nothing could say which object it was).
    public static func decodeList(_ bytes: [UInt8]) throws -> ObjectList<Self> {
        let list = JSON.list(try JSON.parse(bytes, omitting: ["items"] + unreadMembers))
        var items: [Self] = []
        items.reserveCapacity(list.items.count)
        var undecodable: [UndecodableObject] = []
        for item in list.items {
            do {
                items.append(try JSONValueDecoder.decode(Self.self, from: item))
            } catch {
                guard let skipped = UndecodableObject(item, error: error) else { throw error }
                undecodable.append(skipped)
            }
        }
        return ObjectList(items: items, resourceVersion: list.resourceVersion, continueToken: list.continueToken,
                          remainingItemCount: list.remainingItemCount, undecodable: undecodable)
    }

    public static func decodeWatchEvent(_ line: [UInt8]) throws -> WatchEvent<Self> {
        func typed(_ object: JSON, _ type: String, _ event: (Self) -> WatchEvent<Self>) throws -> WatchEvent<Self> {
            do {
                return event(try JSONValueDecoder.decode(Self.self, from: object))
            } catch {
                guard let skipped = UndecodableObject(object, error: error) else {
                    throw WatchProtocolError(message: "a \(type) event whose object does not decode as \(Self.self): \(error)")
                }
                return .undecodable(skipped)
            }
        }
        switch try JSON.watchEvent(JSON.parse(line, omitting: ["object"] + unreadMembers)) {
        case .added(let object): return try typed(object, "ADDED", WatchEvent.added)
        case .modified(let object): return try typed(object, "MODIFIED", WatchEvent.modified)
        case .deleted(let object): return try typed(object, "DELETED", WatchEvent.deleted)
        case .bookmark(let resourceVersion, let initialEventsEnd):
            return .bookmark(resourceVersion: resourceVersion, initialEventsEnd: initialEventsEnd)
        case .error(let status): return .error(status)
        case .undecodable(let skipped): return .undecodable(skipped)
        }
    }

    public func encoded() throws -> [UInt8] {
        try JSONValueEncoder.encode(self)
    }
}

extension JSON: KubeObject {
    public static func decode(_ bytes: [UInt8]) throws -> JSON {
        try JSON.parse(bytes)
    }

    /// A list's items, each with its `apiVersion` and `kind`. A real API server leaves both out of the items of
    /// a built-in kind's list (a `LeaseList`'s items are bare), but puts them on a custom resource's and on
    /// every watch event's object; like client-go's decoder, the client takes them from the list where missing,
    /// so an object reads the same whichever way it arrived.
    public static func decodeList(_ bytes: [UInt8]) throws -> ObjectList<JSON> {
        list(try JSON.parse(bytes))
    }

    /// The list a parsed list document holds.
    static func list(_ list: JSON) -> ObjectList<JSON> {
        let metadata = list["metadata"]
        let apiVersion = list["apiVersion"]?.string
        let kind = list["kind"]?.string.flatMap { $0.hasSuffix("List") ? String($0.dropLast(4)) : nil }
        let items = (list["items"]?.array ?? []).map { item in
            guard case .object(var fields) = item else { return item }
            if fields["apiVersion"] == nil, let apiVersion { fields["apiVersion"] = .string(apiVersion) }
            if fields["kind"] == nil, let kind { fields["kind"] = .string(kind) }
            return JSON.object(fields)
        }
        return ObjectList(items: items, resourceVersion: metadata?["resourceVersion"]?.string ?? "",
                          continueToken: metadata?["continue"]?.string.flatMap { $0.isEmpty ? nil : $0 },
                          remainingItemCount: metadata?["remainingItemCount"]?.int.map { Int($0) })
    }

    public static func decodeWatchEvent(_ line: [UInt8]) throws -> WatchEvent<JSON> {
        try watchEvent(JSON.parse(line))
    }

    /// The event a parsed watch event's envelope holds.
    static func watchEvent(_ envelope: JSON) throws -> WatchEvent<JSON> {
        let object = envelope["object"] ?? .null
        switch envelope["type"]?.string {
        case "ADDED": return .added(object)
        case "MODIFIED": return .modified(object)
        case "DELETED": return .deleted(object)
        case "BOOKMARK":
            return .bookmark(resourceVersion: object[path: ["metadata", "resourceVersion"]]?.string ?? "",
                             initialEventsEnd: object[path: ["metadata", "annotations", "k8s.io/initial-events-end"]]?.string == "true")
        case "ERROR":
            return .error(try JSONValueDecoder.decode(KubeStatus.self, from: object))
        case let other:
            throw WatchProtocolError(message: "unknown watch event type \(other ?? "nil")")
        }
    }

    public func encoded() throws -> [UInt8] { serialized() }

    public var name: String { self[path: ["metadata", "name"]]?.string ?? "" }
    public var namespace: String? { self[path: ["metadata", "namespace"]]?.string }
    public var resourceVersion: String? { self[path: ["metadata", "resourceVersion"]]?.string }
    public var uid: String? { self[path: ["metadata", "uid"]]?.string }
    public var labels: [String: String] {
        guard let labels = self[path: ["metadata", "labels"]]?.object else { return [:] }
        return labels.reduce(into: [:]) { $0[$1.key] = $1.value.string }
    }
}

public struct WatchProtocolError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
