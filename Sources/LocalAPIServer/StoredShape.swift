import KubeJSON

/// How a resource that shares another's storage is kept there: in the storing resource's shape, converted
/// on the way in and out. kube-apiserver keeps events.k8s.io/v1 Events in the core v1 Events' storage, so
/// each API lists, gets and watches what the other wrote, translated into its own fields.
struct StoredShape: Sendable {
    /// The storage of the resource that owns it.
    var storageKey: String
    /// A stored object in the shape the resource serves.
    var fromStorage: @Sendable (JSON) -> JSON
    /// A served object in the shape the storage keeps.
    var toStorage: @Sendable (JSON) -> JSON
}

/// The two shapes of an Event, as kube-apiserver converts between them (k8s.io/api events/v1 and core/v1).
/// Fields keep their Go omitempty rules on each side: core always has `reportingComponent` and
/// `reportingInstance` (empty strings) and drops a zero `count`; events.k8s.io drops empty strings and a zero
/// `deprecatedCount`; both answer null for unset timestamps and an empty object for an unset source.
enum EventShapes {
    /// core/v1 → events.k8s.io/v1.
    static func eventsV1(_ core: JSON) -> JSON {
        guard case .object(let fields) = core else { return core }
        var out: JSONObject = ["apiVersion": "events.k8s.io/v1", "kind": "Event"]
        out["metadata"] = fields["metadata"] ?? .object([:])
        out["eventTime"] = fields["eventTime"] ?? .null
        copy(fields["series"], into: &out, as: "series")
        copyNonEmpty(fields["reportingComponent"], into: &out, as: "reportingController")
        copyNonEmpty(fields["reportingInstance"], into: &out, as: "reportingInstance")
        copyNonEmpty(fields["action"], into: &out, as: "action")
        copyNonEmpty(fields["reason"], into: &out, as: "reason")
        out["regarding"] = fields["involvedObject"] ?? .object([:])
        copy(fields["related"], into: &out, as: "related")
        copyNonEmpty(fields["message"], into: &out, as: "note")
        copyNonEmpty(fields["type"], into: &out, as: "type")
        out["deprecatedSource"] = fields["source"] ?? .object([:])
        out["deprecatedFirstTimestamp"] = fields["firstTimestamp"] ?? .null
        out["deprecatedLastTimestamp"] = fields["lastTimestamp"] ?? .null
        copyNonZero(fields["count"], into: &out, as: "deprecatedCount")
        return .object(out)
    }

    /// events.k8s.io/v1 → core/v1.
    static func coreV1(_ event: JSON) -> JSON {
        guard case .object(let fields) = event else { return event }
        var out: JSONObject = ["apiVersion": "v1", "kind": "Event"]
        out["metadata"] = fields["metadata"] ?? .object([:])
        out["involvedObject"] = fields["regarding"] ?? .object([:])
        copyNonEmpty(fields["reason"], into: &out, as: "reason")
        copyNonEmpty(fields["note"], into: &out, as: "message")
        out["source"] = fields["deprecatedSource"] ?? .object([:])
        out["firstTimestamp"] = fields["deprecatedFirstTimestamp"] ?? .null
        out["lastTimestamp"] = fields["deprecatedLastTimestamp"] ?? .null
        copyNonZero(fields["deprecatedCount"], into: &out, as: "count")
        copyNonEmpty(fields["type"], into: &out, as: "type")
        out["eventTime"] = fields["eventTime"] ?? .null
        copy(fields["series"], into: &out, as: "series")
        copyNonEmpty(fields["action"], into: &out, as: "action")
        copy(fields["related"], into: &out, as: "related")
        out["reportingComponent"] = fields["reportingController"] ?? ""
        out["reportingInstance"] = fields["reportingInstance"] ?? ""
        return .object(out)
    }

    private static func copy(_ value: JSON?, into out: inout JSONObject, as key: String) {
        if let value, value != .null { out[key] = value }
    }

    private static func copyNonEmpty(_ value: JSON?, into out: inout JSONObject, as key: String) {
        if let value, value != .null, value != "" { out[key] = value }
    }

    private static func copyNonZero(_ value: JSON?, into out: inout JSONObject, as key: String) {
        if let value, value != .null, value != .int(0) { out[key] = value }
    }
}
