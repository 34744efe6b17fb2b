import KubeSchema
import Crypto
import KubeJSON

/// Reads CustomResourceDefinitions: checks one as the real server does, and turns an accepted one
/// into the resource types it serves and the status the server reports for it.
enum CustomResourceDefinitions {
    /// The resource types a CRD serves, one per served version; throws the causes that make it invalid.
    static func resourceTypes(of crd: JSON, origin: Int64 = 0) throws(CauseList) -> [ResourceType] {
        var causes: [Cause] = []
        let name = crd["metadata"]?["name"]?.string ?? ""
        let spec = crd["spec"] ?? .object([:])
        let group = spec["group"]?.string ?? ""
        let names = spec["names"] ?? .object([:])
        let plural = names["plural"]?.string ?? ""
        let kind = names["kind"]?.string ?? ""
        let singular = names["singular"]?.string ?? kind.lowercased()
        let listKind = names["listKind"]?.string ?? kind + "List"
        let scope = spec["scope"]?.string ?? ""

        if group.isEmpty {
            causes.append(.required("spec.group"))
        } else if !group.contains(".") {
            causes.append(.invalid("spec.group", .string(group), "should be a domain with at least one dot"))
        }
        if plural.isEmpty { causes.append(.required("spec.names.plural")) }
        if kind.isEmpty { causes.append(.required("spec.names.kind")) }
        if !plural.isEmpty, !group.isEmpty, name != "\(plural).\(group)" {
            causes.append(.invalid("metadata.name", .string(name), "must be spec.names.plural+\".\"+spec.group"))
        }
        if !plural.isEmpty, !Names.isDNS1123Label(plural) {
            causes.append(.invalid("spec.names.plural", .string(plural), Names.dns1123LabelMessage))
        }
        if scope != "Namespaced" && scope != "Cluster" {
            causes.append(Cause(
                field: "spec.scope", reason: "FieldValueNotSupported",
                message: "Unsupported value: \(Cause.goValue(.string(scope))): supported values: \"Cluster\", \"Namespaced\""))
        }
        let versions = spec["versions"]?.array ?? []
        if versions.isEmpty { causes.append(.required("spec.versions", "must have exactly one version marked as storage version")) }
        let storageCount = versions.filter { $0["storage"]?.bool == true }.count
        if !versions.isEmpty && storageCount != 1 {
            causes.append(.invalid("spec.versions", .int(Int64(storageCount)), "must have exactly one version marked as storage version"))
        }

        var types: [ResourceType] = []
        for (index, version) in versions.enumerated() {
            let field = "spec.versions[\(index)]"
            guard let versionName = version["name"]?.string, !versionName.isEmpty else {
                causes.append(.required("\(field).name"))
                continue
            }
            var schema: StructuralSchema?
            if let openAPI = version["schema"]?["openAPIV3Schema"] {
                do {
                    schema = try StructuralSchema(openAPI)
                } catch {
                    causes.append(Cause(
                        field: "\(field).schema.openAPIV3Schema\(error.field.isEmpty ? "" : "." + error.field)",
                        reason: "FieldValueInvalid", message: error.message))
                }
            } else {
                causes.append(.required("\(field).schema.openAPIV3Schema", "schemas are required"))
            }
            guard version["served"]?.bool ?? false else { continue }
            let columns = (version["additionalPrinterColumns"]?.array ?? []).map { column in
                let path = column["jsonPath"]?.string ?? ""
                return PrinterColumn(
                    name: column["name"]?.string ?? "", type: column["type"]?.string ?? "string",
                    format: column["format"]?.string ?? "",
                    description: column["description"]?.string ?? "Custom resource definition column (in JSONPath format): \(path)",
                    priority: Int(column["priority"]?.int ?? 0), jsonPath: column["jsonPath"]?.string ?? "")
            }
            let selectable = (version["selectableFields"]?.array ?? []).compactMap { field -> String? in
                guard let path = field["jsonPath"]?.string else { return nil }
                return path.hasPrefix(".") ? String(path.dropFirst()) : path
            }
            types.append(ResourceType(
                group: group, version: versionName, plural: plural, singular: singular, kind: kind, listKind: listKind,
                namespaced: scope == "Namespaced",
                shortNames: (names["shortNames"]?.array ?? []).compactMap(\.string),
                categories: (names["categories"]?.array ?? []).compactMap(\.string),
                schema: schema, openAPISchema: version["schema"]?["openAPIV3Schema"], hasStatusSubresource: version["subresources"]?["status"] != nil,
                printerColumns: columns, selectableFields: selectable, isCustom: true,
                allowsUnconditionalUpdate: false, historyOrigin: origin,
                storageVersionHash: storageVersionHash(group, versionName, kind)))
        }
        if !causes.isEmpty { throw CauseList(causes: causes) }
        return types
    }

    /// The status the server gives an accepted CRD: names accepted, established, stored versions.
    static func acceptedStatus(of crd: JSON, now: String) -> JSON {
        let names = crd["spec"]?["names"] ?? .object([:])
        var accepted = names.object ?? [:]
        if accepted["singular"] == nil { accepted["singular"] = .string((names["kind"]?.string ?? "").lowercased()) }
        if accepted["listKind"] == nil { accepted["listKind"] = .string((names["kind"]?.string ?? "") + "List") }
        let storage = (crd["spec"]?["versions"]?.array ?? []).filter { $0["storage"]?.bool == true }.compactMap { $0["name"] }
        let previous = crd["status"]?["storedVersions"]?.array ?? []
        var stored = previous
        for version in storage where !stored.contains(version) { stored.append(version) }
        func condition(_ type: String, _ reason: String, _ message: String) -> JSON {
            ["type": .string(type), "status": "True", "lastTransitionTime": .string(now), "reason": .string(reason),
             "message": .string(message)]
        }
        return [
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "acceptedNames": .object(accepted),
            "storedVersions": .array(stored),
        ]
    }

    /// Discovery's storageVersionHash, computed as the real server does: the first 8 bytes of the
    /// SHA-256 of `group/version/kind`, in base64.
    static func storageVersionHash(_ group: String, _ version: String, _ kind: String) -> String {
        let digest = SHA256.hash(data: Array("\(group)/\(version)/\(kind)".utf8))
        return Base64.encode(Array(digest.prefix(8)))
    }
}

/// The causes that make an object invalid, thrown before the object's identity is at hand.
struct CauseList: Error {
    var causes: [Cause]
}

enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8], padded: Bool = true) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i]
            let b1 = i + 1 < bytes.count ? bytes[i + 1] : 0
            let b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            if i + 1 < bytes.count { out.append(alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)]) } else if padded { out.append(61) }
            if i + 2 < bytes.count { out.append(alphabet[Int(b2 & 0x3F)]) } else if padded { out.append(61) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - 48 + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "/"), UInt8(ascii: "_"): values.append(63)
            case UInt8(ascii: "="): continue
            default: return nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            out.append(values[i] << 2 | values[i + 1] >> 4)
            if i + 2 < values.count { out.append(values[i + 1] << 4 | values[i + 2] >> 2) }
            if i + 3 < values.count { out.append(values[i + 2] << 6 | values[i + 3]) }
            i += 4
        }
        return out
    }
}
