import Foundation
import KubeJSON

/// The meta.k8s.io/v1 Table form of objects, as `kubectl get` asks for it.
enum Table {
    static let nameDescription =
        "Name must be unique within a namespace. Is required when creating resources, although some resources may "
        + "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
        + "for creation idempotence and configuration definition. Cannot be updated. More info: "
        + "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"

    /// The printer columns of a resource: a CRD's own, or those of the built-in type.
    static func columns(_ type: ResourceType) -> [PrinterColumn] {
        func column(_ name: String, _ kind: String, _ path: String, description: String? = nil, format: String = "") -> PrinterColumn {
            PrinterColumn(name: name, type: kind, format: format, description: description ?? "Custom resource definition column (in JSONPath format): \(path)",
                          priority: 0, jsonPath: path)
        }
        let age = column("Age", "date", ".metadata.creationTimestamp")
        if type.isCustom { return type.printerColumns.isEmpty ? [age] : type.printerColumns }
        switch type.storageKey {
        case ResourceType.namespaces.storageKey:
            return [column("Status", "string", ".status.phase", description: "The status of the namespace"), age]
        case ResourceType.leases.storageKey:
            return [column("Holder", "string", ".spec.holderIdentity", description: "The holder of the lease"), age]
        case ResourceType.coreEvents.storageKey:
            return [column("Type", "string", ".type"), column("Reason", "string", ".reason"),
                    column("Object", "string", ".involvedObject.name"), column("Message", "string", ".message"), age]
        case ResourceType.events.storageKey:
            return [column("Type", "string", ".type"), column("Reason", "string", ".reason"),
                    column("Object", "string", ".regarding.name"), column("Note", "string", ".note"), age]
        case ResourceType.customResourceDefinitions.storageKey:
            return [column("Created At", "date", ".metadata.creationTimestamp", format: "date-time")]
        // Built-in printers' columns; those starting with `#` are computed (see `computed`).
        case ResourceType.serviceAccounts.storageKey:
            return [column("Secrets", "string", "#count:secrets", description: "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."), age]
        case ResourceType.roles.storageKey, ResourceType.clusterRoles.storageKey:
            return [column("Created At", "date", "#createdAt", description: "CreationTimestamp is a timestamp representing the server time when this object was created.")]
        case ResourceType.roleBindings.storageKey, ResourceType.clusterRoleBindings.storageKey:
            func wide(_ name: String, _ kind: String) -> PrinterColumn {
                PrinterColumn(name: name, type: "string", format: "", description: "\(kind)s in the binding's subjects", priority: 1,
                              jsonPath: "#subjects:\(kind)")
            }
            return [column("Role", "string", "#roleRef", description: "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace."),
                    age, wide("Users", "User"), wide("Groups", "Group"), wide("ServiceAccounts", "ServiceAccount")]
        default:
            return [age]
        }
    }

    static func render(_ objects: [JSON], type: ResourceType, revision: String, includeObject: String,
                       includeHeaders: Bool, now: Date) -> JSON {
        let columns = columns(type)
        var definitions: [JSON] = [
            ["name": "Name", "type": "string", "format": "name", "description": .string(nameDescription), "priority": 0]
        ]
        for column in columns {
            definitions.append([
                "name": .string(column.name), "type": .string(column.type), "format": .string(column.format),
                "description": .string(column.description), "priority": .int(Int64(column.priority)),
            ])
        }
        let rows: [JSON] = objects.map { object in
            var cells: [JSON] = [object["metadata"]?["name"] ?? ""]
            for column in columns { cells.append(cell(object, column, now: now, crdDate: type.storageKey == ResourceType.customResourceDefinitions.storageKey)) }
            var row: JSONObject = ["cells": .array(cells)]
            switch includeObject {
            case "Object": row["object"] = object
            case "None": break
            default: row["object"] = Render.partialMetadata(object)
            }
            return .object(row)
        }
        return [
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": ["resourceVersion": .string(revision)],
            "columnDefinitions": includeHeaders ? .array(definitions) : [], "rows": .array(rows),
        ]
    }

    /// The cells built-in printers compute rather than read: a count, `Kind/name` of a roleRef, a
    /// binding's subjects of one kind (`namespace/name` for service accounts), a creation time as RFC 3339.
    private static func computed(_ object: JSON, _ path: String) -> JSON {
        if path.hasPrefix("#count:") { return .int(Int64(object[String(path.dropFirst(7))]?.array?.count ?? 0)) }
        if path == "#createdAt" { return object["metadata"]?["creationTimestamp"] ?? .null }
        if path == "#roleRef" {
            return .string("\(object["roleRef"]?["kind"]?.string ?? "")/\(object["roleRef"]?["name"]?.string ?? "")")
        }
        if path.hasPrefix("#subjects:") {
            let kind = String(path.dropFirst(10))
            let names = (object["subjects"]?.array ?? []).filter { $0["kind"]?.string == kind }.map { subject in
                let name = subject["name"]?.string ?? ""
                return kind == "ServiceAccount" ? "\(subject["namespace"]?.string ?? "")/\(name)" : name
            }
            return .string(names.joined(separator: ", "))
        }
        return .null
    }

    private static func cell(_ object: JSON, _ column: PrinterColumn, now: Date, crdDate: Bool) -> JSON {
        if column.jsonPath.hasPrefix("#") { return computed(object, column.jsonPath) }
        guard let value = FieldPath.value(at: column.jsonPath, in: object), !value.isNull else { return .null }
        switch column.type {
        case "date":
            if crdDate { return value }
            guard let text = value.string, let date = Timestamp.parse(text) else { return .null }
            return .string(humanDuration(now.timeIntervalSince(date)))
        case "integer":
            return value.int.map(JSON.int) ?? .null
        case "number":
            return value.double.map(JSON.double) ?? .null
        case "boolean":
            return value.bool.map(JSON.bool) ?? .null
        default:
            switch value {
            case .string: return value
            case .array, .object: return .string(value.text)
            default: return .string(value.text)
            }
        }
    }

    /// Ages as kubectl prints them (k8s.io/apimachinery/pkg/util/duration.HumanDuration).
    static func humanDuration(_ interval: TimeInterval) -> String {
        let seconds = Int(interval.rounded(.down))
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 60 * 2 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 {
            let s = seconds % 60
            return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
        }
        if minutes < 60 * 3 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 {
            let m = minutes % 60
            return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let h = hours % 24
            return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let days = (hours / 24) % 365
            return days == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(days)d"
        }
        return "\(hours / 24 / 365)y"
    }
}
