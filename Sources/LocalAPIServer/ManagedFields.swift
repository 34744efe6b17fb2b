import KubeJSON

/// Field ownership (`metadata.managedFields`) as kube-apiserver records it for Update and Apply
/// operations: each manager owns the fields it last set; a field that changes moves to the manager
/// that changed it.
///
/// Conflict detection for server-side apply is not done: an apply always wins, as with `force=true`.
enum ManagedFields {
    /// A field path in FieldsV1 spelling: `["f:spec", "f:priority"]`, `["f:spec", "."]` for the map itself,
    /// `["f:metadata", "f:finalizers", "v:\"x\""]` for a member of a set.
    typealias Path = [String]

    enum Style {
        /// Custom resources: every object-valued field owns itself (`.`) beside its members.
        case custom
        /// Built-in types: structs own only their members; some fields are atomic.
        case builtIn(atomic: Set<String>)
        /// The applied configuration of a server-side apply: leaves only.
        case apply
    }

    /// Metadata fields that take part in ownership; identity and server-set fields do not.
    static let trackedMetadata: Set<String> = ["labels", "annotations", "finalizers", "ownerReferences", "generateName"]

    /// Every owned path of an object, with the value found there (leaves) or nil (`.` entries). With `other`, only
    /// the paths under members (and tracked metadata fields) whose values differ from `other`'s: equal members have
    /// equal paths, so an update compares only what it changed and not the whole spec again.
    static func paths(of object: JSON, style: Style, differingFrom other: JSON? = nil) -> [Path: JSON?] {
        var result: [Path: JSON?] = [:]
        guard case .object(let root) = object else { return result }
        let otherRoot = other?.object
        let otherMetadata = otherRoot?["metadata"]?.object
        for (key, value) in root where key != "apiVersion" && key != "kind" {
            if key == "metadata" {
                guard case .object(let metadata) = value else { continue }
                for (field, child) in metadata where trackedMetadata.contains(field) {
                    if let otherMetadata, otherMetadata[field] == child { continue }
                    if field == "finalizers", case .array(let items) = child {
                        let base: Path = ["f:metadata", "f:finalizers"]
                        result[base + ["."]] = .some(nil)
                        for item in items { result[base + ["v:" + item.text]] = .some(item) }
                    } else if field == "labels" || field == "annotations", case .object(let members) = child {
                        let base: Path = ["f:metadata", "f:" + field]
                        if case .apply = style {} else { result[base + ["."]] = .some(nil) }
                        for (k, v) in members { result[base + ["f:" + k]] = .some(v) }
                    } else {
                        result[["f:metadata", "f:" + field]] = .some(child)
                    }
                }
                continue
            }
            if let otherRoot, otherRoot[key] == value { continue }
            collect(value, at: ["f:" + key], style: style, into: &result)
        }
        return result
    }

    private static func collect(_ value: JSON, at path: Path, style: Style, into result: inout [Path: JSON?]) {
        switch (value, style) {
        case (.object, .builtIn(let atomic)) where atomic.contains(String(path.last!.dropFirst(2))):
            result[path] = .some(value)
        case (.object(let members), _) where !members.isEmpty:
            if case .custom = style { result[path + ["."]] = .some(nil) }
            for (k, v) in members { collect(v, at: path + ["f:" + k], style: style, into: &result) }
        default:
            result[path] = .some(value)
        }
    }

    /// FieldsV1 JSON from a set of paths.
    static func fieldsV1(_ paths: some Sequence<Path>) -> JSON {
        var root = JSON.object([:])
        for path in paths { root.set(path: path[...], to: root[path: path] ?? .object([:])) }
        return sortedObject(root)
    }

    /// Keys in FieldsV1 come sorted, `.` first, as the server writes them.
    private static func sortedObject(_ value: JSON) -> JSON {
        guard case .object(let members) = value else { return value }
        var sorted = JSONObject()
        for key in members.keys.sorted() { sorted[key] = sortedObject(members[key]!) }
        return .object(sorted)
    }

    /// The paths a FieldsV1 JSON names.
    static func paths(ofFieldsV1 fields: JSON) -> Set<Path> {
        var result = Set<Path>()
        func walk(_ value: JSON, _ path: Path) {
            guard case .object(let members) = value, !members.isEmpty else {
                if !path.isEmpty { result.insert(path) }
                return
            }
            for (k, v) in members { walk(v, path + [k]) }
        }
        walk(fields, [])
        return result
    }

    /// The managedFields after `manager` changed `old` into `new` (old is nil on create).
    static func update(
        entries: [JSON], old: JSON?, new: JSON, manager: String, operation: String, subresource: String?,
        apiVersion: String, style: Style, time: String
    ) -> [JSON] {
        // An apply owns every path it names, so it needs them all; an update owns only what it changed.
        let compared = operation == "Apply" ? nil : old
        let newPaths = paths(of: new, style: style, differingFrom: compared)
        let oldPaths = old.map { paths(of: $0, style: style, differingFrom: compared.map { _ in new }) } ?? [:]
        var changed = Set<Path>()
        for (path, value) in newPaths {
            if let previous = oldPaths[path], previous == value { continue }
            changed.insert(path)
        }
        let removed = Set(oldPaths.keys.filter { newPaths[$0] == nil })
        let released = changed.union(removed)

        var result: [JSON] = []
        var mine = Set<Path>()
        var mineTime = time
        for entry in entries {
            let isMine = entry["manager"]?.string == manager && entry["operation"]?.string == operation
                && entry["subresource"]?.string == subresource && entry["apiVersion"]?.string == apiVersion
            var owned = paths(ofFieldsV1: entry["fieldsV1"] ?? .object([:]))
            if isMine {
                mine = owned
                mineTime = entry["time"]?.string ?? time
                continue
            }
            let before = owned.count
            owned.subtract(released)
            if owned.isEmpty { continue }
            var kept = entry
            if owned.count != before { kept["fieldsV1"] = fieldsV1(owned) }
            result.append(kept)
        }
        let mineBefore = mine
        mine.subtract(removed)
        if operation == "Apply" {
            mine = Set(newPaths.keys)
        } else {
            mine.formUnion(changed)
        }
        guard !mine.isEmpty else { return result }
        let unchangedEntry = mine == mineBefore
        var entry: JSONObject = [
            "manager": .string(manager), "operation": .string(operation), "apiVersion": .string(apiVersion),
            "time": .string(unchangedEntry ? mineTime : time), "fieldsType": "FieldsV1", "fieldsV1": fieldsV1(mine),
        ]
        if let subresource { entry["subresource"] = .string(subresource) }
        if unchangedEntry, let index = entries.firstIndex(where: {
            $0["manager"]?.string == manager && $0["operation"]?.string == operation
                && $0["subresource"]?.string == subresource
        }) {
            // An owner whose fields did not change keeps its place in the list.
            result.insert(.object(entry), at: min(index, result.count))
        } else {
            result.append(.object(entry))
        }
        return result
    }
}
