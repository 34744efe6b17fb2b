import KubeJSON
import Synchronization

/// The resources the server serves right now: the built-in ones, and one per served version of
/// every established CustomResourceDefinition.
public final class ResourceRegistry: Sendable {
    private let resources = Mutex<[String: ResourceType]>([:])

    public init() {
        resources.withLock { map in
            for type in ResourceType.builtIns { map[Self.key(type.group, type.version, type.plural)] = type }
        }
    }

    static func key(_ group: String, _ version: String, _ plural: String) -> String { "\(group)/\(version)/\(plural)" }

    public func lookup(group: String, version: String, plural: String) -> ResourceType? {
        resources.withLock { $0[Self.key(group, version, plural)] }
    }

    /// Every served resource, ordered by group, version and name.
    public var all: [ResourceType] {
        resources.withLock { Array($0.values) }.sorted {
            ($0.group, $0.version, $0.plural) < ($1.group, $1.version, $1.plural)
        }
    }

    /// Replaces what a CRD serves with `types`.
    func serve(crd name: String, types: [ResourceType]) {
        resources.withLock { map in
            map = map.filter { !($0.value.isCustom && "\($0.value.plural).\($0.value.group)" == name) }
            for type in types { map[Self.key(type.group, type.version, type.plural)] = type }
        }
    }

    func stopServing(crd name: String) { serve(crd: name, types: []) }

    /// Whether another CRD or a built-in already uses this plural in this group.
    func isTaken(group: String, plural: String, byOtherThan crdName: String) -> Bool {
        resources.withLock { map in
            map.values.contains { $0.group == group && $0.plural == plural && "\($0.plural).\($0.group)" != crdName }
        }
    }
}
