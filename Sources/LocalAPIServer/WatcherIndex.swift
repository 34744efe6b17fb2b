import KubeJSON

/// Which watches a change can concern, found without visiting the others.
///
/// A watch is filed under its resource. One whose field selector pins a field to a value (an agent's
/// `status.assignedAgent=<agent>`, a `metadata.name=` watch) is filed under that value instead, and is handed
/// only the changes of objects that had the value before the change or have it after: no other change can
/// pass its selector, so handing it one would only wake its writer to drop it. kube-apiserver's watch cache
/// indexes its watchers by a pod's node for the same reason. With a thousand agents watching their tasks, a
/// change to one task then wakes one agent's watch instead of a thousand.
struct WatcherIndex {
    /// A field a watch's selector pins to one value, as `FieldPath` reads it (a missing field reads as "").
    struct Pin: Hashable, Sendable {
        var path: [String]
        var value: String
    }

    private var unpinned: [String: Set<Int>] = [:]
    /// Resource → pinned field → value → watches.
    private var pinned: [String: [[String]: [String: Set<Int>]]] = [:]

    mutating func insert(_ id: Int, resource: String, pin: Pin?) {
        if let pin {
            pinned[resource, default: [:]][pin.path, default: [:]][pin.value, default: []].insert(id)
        } else {
            unpinned[resource, default: []].insert(id)
        }
    }

    /// Forgets a watch; tables left empty are dropped, so the index holds only what open watches need.
    mutating func remove(_ id: Int, resource: String, pin: Pin?) {
        guard let pin else {
            unpinned[resource]?.remove(id)
            if unpinned[resource]?.isEmpty == true { unpinned[resource] = nil }
            return
        }
        pinned[resource]?[pin.path]?[pin.value]?.remove(id)
        if pinned[resource]?[pin.path]?[pin.value]?.isEmpty == true { pinned[resource]?[pin.path]?[pin.value] = nil }
        if pinned[resource]?[pin.path]?.isEmpty == true { pinned[resource]?[pin.path] = nil }
        if pinned[resource]?.isEmpty == true { pinned[resource] = nil }
    }

    /// Calls `body` once for each watch that `event` can concern.
    func forEachWatcher(of event: StoreEvent, _ body: (Int) -> Void) {
        unpinned[event.resource]?.forEach(body)
        guard let fields = pinned[event.resource] else { return }
        for (path, byValue) in fields {
            let now = FieldPath.string(at: path, in: event.object)
            byValue[now]?.forEach(body)
            if let previous = event.previous {
                let before = FieldPath.string(at: path, in: previous)
                if before != now { byValue[before]?.forEach(body) }
            }
        }
    }

    var isEmpty: Bool { unpinned.isEmpty && pinned.isEmpty }
}
