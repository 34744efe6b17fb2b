/// A change to an informer's cache, as its handlers and subscribers are told it.
public enum InformerEvent<Object: KubeObject>: Sendable {
    case added(Object)
    case updated(old: Object, new: Object)
    /// `finalStateUnknown`: the object was found gone by a list (after a 410 or a restart of the watch), so
    /// this is its last state the cache saw, not its state when it was deleted (client-go's
    /// DeletedFinalStateUnknown).
    case deleted(Object, finalStateUnknown: Bool)

    /// The object as it is now (for a deletion, its last known state).
    public var object: Object {
        switch self {
        case .added(let object), .updated(_, let object), .deleted(let object, _): object
        }
    }
}

/// A named way to find cached objects: the values an object is filed under (client-go's IndexFunc).
public struct InformerIndex<Object: KubeObject>: Sendable {
    public let name: String
    let values: @Sendable (Object) -> [String]

    public init(_ name: String, values: @escaping @Sendable (Object) -> [String]) {
        self.name = name
        self.values = values
    }

    /// By namespace; a cluster-scoped object is filed under "".
    public static var namespace: InformerIndex { InformerIndex("namespace") { [$0.namespace ?? ""] } }

    /// By the value of one label; objects without the label are not filed.
    public static func label(_ key: String) -> InformerIndex {
        InformerIndex("label:\(key)") { object in object.labels[key].map { [$0] } ?? [] }
    }
}

public enum InformerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `known`: the names of the indexes there are, sorted.
    case unknownIndex(String, known: [String])
    case duplicateIndex(String)
    case alreadyStarted(resource: String)
    /// The informer's `run()` ended (its task was cancelled) before what was asked of it happened.
    case stopped(resource: String)
    /// `subscriberBufferLimit` must be at least 1.
    case invalidBufferLimit(Int)

    public var description: String {
        switch self {
        case .invalidBufferLimit(let limit): "an informer's subscriber buffer limit must be at least 1, got \(limit)"
        case .unknownIndex(let name, let known): "no index named \(name) (the informer has \(known.joined(separator: ", ")))"
        case .duplicateIndex(let name): "an index named \(name) is already registered"
        case .alreadyStarted(let resource): "the informer of \(resource) was started already: an informer runs once"
        case .stopped(let resource): "the informer of \(resource) stopped"
        }
    }
}

/// The objects an informer knows, by key, with their indexes; and what each change from the server means
/// to them. It decides what is news: a change it already holds (same resourceVersion) yields no event, so
/// an event the watch delivers twice, or an object a list shows again unchanged, is told once.
///
/// A value type without locking: `Informer` keeps it behind its lock.
struct InformerCache<Object: KubeObject>: Sendable {
    private(set) var objects: [String: Object] = [:]
    private var indexes: [String: InformerIndex<Object>] = [:]
    /// index name → value → keys filed under it.
    private var filed: [String: [String: Set<String>]] = [:]

    init(indexes: [InformerIndex<Object>]) throws(InformerError) {
        for index in indexes { try addIndex(index) }
    }

    mutating func addIndex(_ index: InformerIndex<Object>) throws(InformerError) {
        guard indexes[index.name] == nil else { throw .duplicateIndex(index.name) }
        indexes[index.name] = index
        var entries: [String: Set<String>] = [:]
        for (key, object) in objects {
            for value in index.values(object) { entries[value, default: []].insert(key) }
        }
        filed[index.name] = entries
    }

    func byIndex(_ name: String, _ value: String) throws(InformerError) -> [Object] {
        guard let entries = filed[name] else { throw .unknownIndex(name, known: indexes.keys.sorted()) }
        return (entries[value] ?? []).sorted().compactMap { objects[$0] }
    }

    /// The values an index holds objects under.
    func indexValues(_ name: String) throws(InformerError) -> [String] {
        guard let entries = filed[name] else { throw .unknownIndex(name, known: indexes.keys.sorted()) }
        return entries.keys.sorted()
    }

    /// What one watch event changes. Bookmarks and errors change nothing.
    mutating func apply(_ event: WatchEvent<Object>) -> [InformerEvent<Object>] {
        switch event {
        case .added(let object), .modified(let object):
            return store(object)
        case .deleted(let object):
            // Not cached: a list after a lost watch already found it gone and said so.
            guard remove(object.key) != nil else { return [] }
            return [.deleted(object, finalStateUnknown: false)]
        case .undecodable(let skipped):
            // What cannot be read is not cached: the last version that could be is gone for the receivers.
            guard let old = remove(skipped.key) else { return [] }
            return [.deleted(old, finalStateUnknown: true)]
        case .bookmark, .error:
            return []
        }
    }

    /// Makes the cache the listed state: additions and changes in list order, then the deletions of what the
    /// list no longer has, by key.
    mutating func replace(with items: [Object]) -> [InformerEvent<Object>] {
        var events: [InformerEvent<Object>] = []
        var listed = Set<String>()
        listed.reserveCapacity(items.count)
        for object in items {
            listed.insert(object.key)
            events += store(object)
        }
        for key in objects.keys.filter({ !listed.contains($0) }).sorted() {
            if let old = remove(key) { events.append(.deleted(old, finalStateUnknown: true)) }
        }
        return events
    }

    private mutating func store(_ object: Object) -> [InformerEvent<Object>] {
        // The key once: a model builds it anew at each call.
        let key = object.key
        guard let old = objects[key] else {
            objects[key] = object
            file(key, under: object)
            return [.added(object)]
        }
        if old.resourceVersion == object.resourceVersion, old.resourceVersion != nil { return [] }
        objects[key] = object
        refile(key, from: old, to: object)
        // The same name with a new uid is another object: the old one was deleted while nobody watched.
        if let oldUID = old.uid, let newUID = object.uid, oldUID != newUID {
            return [.deleted(old, finalStateUnknown: true), .added(object)]
        }
        return [.updated(old: old, new: object)]
    }

    private mutating func remove(_ key: String) -> Object? {
        guard let old = objects.removeValue(forKey: key) else { return nil }
        // Index functions are pure, so the old object's values are where it was filed.
        for (name, index) in indexes {
            for value in index.values(old) { unfile(key, index: name, value: value) }
        }
        return old
    }

    private mutating func file(_ key: String, under object: Object) {
        for (name, index) in indexes {
            for value in index.values(object) { file(key, index: name, value: value) }
        }
    }

    /// Moves `key` from the index values of `old` to those of `new`, only where they differ: most changes (a
    /// status written, say) leave every value where it was.
    private mutating func refile(_ key: String, from old: Object, to new: Object) {
        for (name, index) in indexes {
            let before = index.values(old)
            let after = index.values(new)
            guard before != after else { continue }
            for value in before where !after.contains(value) { unfile(key, index: name, value: value) }
            for value in after where !before.contains(value) { file(key, index: name, value: value) }
        }
    }

    private mutating func file(_ key: String, index name: String, value: String) {
        filed[name, default: [:]][value, default: []].insert(key)
    }

    private mutating func unfile(_ key: String, index name: String, value: String) {
        filed[name]?[value]?.remove(key)
        if filed[name]?[value]?.isEmpty == true { filed[name]?[value] = nil }
    }
}
