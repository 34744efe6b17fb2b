import KubeJSON

/// The discovery documents: what groups, versions and resources the server serves, in the legacy
/// form and in the aggregated form (apidiscovery.k8s.io/v2) that kubectl asks for first.
enum Discovery {
    static let version: JSON = [
        "major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36", "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "35", "gitVersion": "v1.36.0+conductor", "gitCommit": "", "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z", "goVersion": "swift6", "compiler": "swiftc", "platform": "linux/amd64",
    ]

    static let aggregatedMedia = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    /// Whether the client asked for aggregated discovery, and in which version.
    static func aggregatedVersion(_ request: APIRequest) -> String? {
        for clause in (request.accept ?? "").split(separator: ",") {
            let text = clause.replacing(" ", with: "")
            guard text.contains("as=APIGroupDiscoveryList"), text.contains("g=apidiscovery.k8s.io") else {
                if text.hasPrefix("application/json") || text == "*/*" { return nil }
                continue
            }
            if text.contains("v=v2beta1") { return "v2beta1" }
            if text.contains("v=v2") { return "v2" }
        }
        return nil
    }

    static func rootPaths(_ registry: ResourceRegistry) -> APIResponse {
        var paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/readyz", "/version"]
        for (group, versions) in groupsAndVersions(registry) {
            paths.append("/apis/\(group)")
            for version in versions { paths.append("/apis/\(group)/\(version)") }
        }
        return .json(["paths": .array(paths.sorted().map(JSON.string))])
    }

    static func coreVersions(_ request: APIRequest, registry: ResourceRegistry) -> APIResponse {
        if let version = aggregatedVersion(request) {
            return aggregated(version, items: [discoveryGroup("", versions: ["v1"], registry: registry)])
        }
        return .json([
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"]],
        ])
    }

    static func groups(_ request: APIRequest, registry: ResourceRegistry) -> APIResponse {
        let all = groupsAndVersions(registry)
        if let version = aggregatedVersion(request) {
            return aggregated(version, items: all.map { discoveryGroup($0.0, versions: $0.1, registry: registry) })
        }
        return .json(["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(all.map { apiGroup($0.0, versions: $0.1, embedded: true) })])
    }

    static func group(_ name: String, registry: ResourceRegistry) -> JSON? {
        guard let versions = groupsAndVersions(registry).first(where: { $0.0 == name })?.1 else { return nil }
        return apiGroup(name, versions: versions)
    }

    static func resourceList(group: String, version: String, registry: ResourceRegistry) -> JSON {
        var resources: [JSON] = []
        for type in registry.all where type.group == group && type.version == version {
            var entry: JSONObject = [
                "name": .string(type.plural), "singularName": .string(type.singular), "namespaced": .bool(type.namespaced),
                "kind": .string(type.kind), "verbs": .array(type.verbs.map(JSON.string)),
            ]
            if !type.shortNames.isEmpty { entry["shortNames"] = .array(type.shortNames.map(JSON.string)) }
            if !type.categories.isEmpty { entry["categories"] = .array(type.categories.map(JSON.string)) }
            // Kinds that are never stored (the reviews) have no storage version to report.
            if !type.isReview { entry["storageVersionHash"] = .string(type.storageVersionHash) }
            resources.append(.object(entry))
            for subresource in type.subresources {
                var entry: JSONObject = [
                    "name": .string("\(type.plural)/\(subresource)"), "singularName": "", "namespaced": .bool(type.namespaced),
                    "kind": .string(type.kind), "verbs": subresourceVerbs(type, subresource),
                ]
                if let action = type.actionSubresources.first(where: { $0.name == subresource }) {
                    entry["group"] = .string(action.group)
                    entry["version"] = .string(action.version)
                    entry["kind"] = .string(action.kind)
                }
                resources.append(.object(entry))
            }
        }
        return [
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
            "resources": .array(resources),
        ]
    }

    /// A status subresource reads and writes; an action subresource takes a create; others an update.
    static func subresourceVerbs(_ type: ResourceType, _ subresource: String) -> JSON {
        if subresource == "status" { return ["get", "patch", "update"] }
        if type.actionSubresources.contains(where: { $0.name == subresource }) { return ["create"] }
        return ["update"]
    }

    /// Named groups (not the core group) with their versions, preferred version first.
    static func groupsAndVersions(_ registry: ResourceRegistry) -> [(String, [String])] {
        var order: [String] = []
        var versions: [String: [String]] = [:]
        for type in registry.all where !type.group.isEmpty {
            if versions[type.group] == nil { order.append(type.group) }
            if !(versions[type.group]?.contains(type.version) ?? false) { versions[type.group, default: []].append(type.version) }
        }
        return order.map { ($0, versions[$0]!.sorted(by: versionPriority)) }
    }

    /// Kubernetes version priority: GA before beta before alpha, higher numbers first.
    static func versionPriority(_ a: String, _ b: String) -> Bool {
        func rank(_ v: String) -> (Int, Int, Int) {
            let body = v.dropFirst()
            let digits = body.prefix { $0.isNumber }
            let major = Int(digits) ?? 0
            let rest = body.dropFirst(digits.count)
            if rest.isEmpty { return (3, major, 0) }
            if rest.hasPrefix("beta") { return (2, major, Int(rest.dropFirst(4)) ?? 0) }
            if rest.hasPrefix("alpha") { return (1, major, Int(rest.dropFirst(5)) ?? 0) }
            return (0, major, 0)
        }
        return rank(a) > rank(b)
    }

    /// An APIGroup; inside an APIGroupList it carries no kind and apiVersion of its own.
    static func apiGroup(_ name: String, versions: [String], embedded: Bool = false) -> JSON {
        let list: [JSON] = versions.map { ["groupVersion": .string("\(name)/\($0)"), "version": .string($0)] }
        let group: JSON = ["name": .string(name), "versions": .array(list), "preferredVersion": list[0]]
        guard !embedded, case .object(let members) = group else { return group }
        var standalone: JSONObject = ["kind": "APIGroup", "apiVersion": "v1"]
        for (key, value) in members { standalone[key] = value }
        return .object(standalone)
    }

    static func discoveryGroup(_ name: String, versions: [String], registry: ResourceRegistry) -> JSON {
        var versionEntries: [JSON] = []
        for version in versions {
            var resources: [JSON] = []
            for type in registry.all where type.group == name && type.version == version {
                let responseKind: JSON = type.isCustom
                    ? ["group": .string(type.group), "version": .string(type.version), "kind": .string(type.kind)]
                    : ["group": "", "version": "", "kind": .string(type.kind)]
                var entry: JSONObject = [
                    "resource": .string(type.plural), "responseKind": responseKind, "scope": type.namespaced ? "Namespaced" : "Cluster",
                    "singularResource": .string(type.singular), "verbs": .array(type.verbs.map(JSON.string)),
                ]
                if !type.shortNames.isEmpty { entry["shortNames"] = .array(type.shortNames.map(JSON.string)) }
                if !type.categories.isEmpty { entry["categories"] = .array(type.categories.map(JSON.string)) }
                if !type.subresources.isEmpty {
                    entry["subresources"] = .array(type.subresources.map { subresource in
                        var kind = responseKind
                        if let action = type.actionSubresources.first(where: { $0.name == subresource }) {
                            kind = ["group": .string(action.group), "version": .string(action.version), "kind": .string(action.kind)]
                        }
                        return ["subresource": .string(subresource), "responseKind": kind,
                                "verbs": subresourceVerbs(type, subresource)]
                    })
                }
                resources.append(.object(entry))
            }
            versionEntries.append(["version": .string(version), "resources": .array(resources), "freshness": "Current"])
        }
        let metadata: JSON = name.isEmpty ? [:] : ["name": .string(name)]
        return ["metadata": metadata, "versions": .array(versionEntries)]
    }

    static func aggregated(_ version: String, items: [JSON]) -> APIResponse {
        let media = "application/json;g=apidiscovery.k8s.io;v=\(version);as=APIGroupDiscoveryList"
        return .json(
            ["kind": "APIGroupDiscoveryList", "apiVersion": .string("apidiscovery.k8s.io/\(version)"), "metadata": [:],
             "items": .array(items)],
            headers: [("Vary", "Accept")], contentType: media)
    }
}
