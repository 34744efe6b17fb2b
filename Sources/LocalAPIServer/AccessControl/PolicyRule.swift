import KubeJSON
import KubeSchema

/// One rule of a Role or ClusterRole (rbac.authorization.k8s.io/v1 PolicyRule), and whether it allows
/// a request, decided as kube-apiserver's RBAC authorizer decides (rbac.RuleAllows).
public struct PolicyRule: Sendable, Equatable {
    public var verbs: [String]
    public var apiGroups: [String]
    public var resources: [String]
    public var resourceNames: [String]
    public var nonResourceURLs: [String]

    public init(verbs: [String], apiGroups: [String] = [], resources: [String] = [], resourceNames: [String] = [],
                nonResourceURLs: [String] = [])
    {
        self.verbs = verbs
        self.apiGroups = apiGroups
        self.resources = resources
        self.resourceNames = resourceNames
        self.nonResourceURLs = nonResourceURLs
    }

    init(_ json: JSON) {
        func strings(_ key: String) -> [String] { (json[key]?.array ?? []).compactMap(\.string) }
        self.init(verbs: strings("verbs"), apiGroups: strings("apiGroups"), resources: strings("resources"),
                  resourceNames: strings("resourceNames"), nonResourceURLs: strings("nonResourceURLs"))
    }

    var json: JSON {
        var object: JSONObject = ["verbs": .array(verbs.map(JSON.string))]
        if !apiGroups.isEmpty || !resources.isEmpty { object["apiGroups"] = .array(apiGroups.map(JSON.string)) }
        if !resources.isEmpty { object["resources"] = .array(resources.map(JSON.string)) }
        if !resourceNames.isEmpty { object["resourceNames"] = .array(resourceNames.map(JSON.string)) }
        if !nonResourceURLs.isEmpty { object["nonResourceURLs"] = .array(nonResourceURLs.map(JSON.string)) }
        return .object(object)
    }

    public func allows(_ request: RequestAttributes) -> Bool {
        guard verbs.contains(where: { $0 == "*" || $0 == request.verb }) else { return false }
        guard request.isResourceRequest else {
            return nonResourceURLs.contains { url in
                url == "*" || url == request.path || (url.hasSuffix("*") && request.path.hasPrefix(String(url.dropLast())))
            }
        }
        guard apiGroups.contains(where: { $0 == "*" || $0 == request.apiGroup }) else { return false }
        let combined = request.subresource.isEmpty ? request.resource : "\(request.resource)/\(request.subresource)"
        let resourceMatches = resources.contains { resource in
            if resource == "*" || resource == combined { return true }
            // `*/scale` names a subresource of every resource.
            return !request.subresource.isEmpty && resource == "*/\(request.subresource)"
        }
        guard resourceMatches else { return false }
        return resourceNames.isEmpty || resourceNames.contains(request.name)
    }
}

/// A binding's subject: a User, a Group, or a ServiceAccount (whose namespace defaults to the binding's).
public struct Subject: Sendable, Equatable {
    public var kind: String
    public var name: String
    public var namespace: String

    init(_ json: JSON) {
        kind = json["kind"]?.string ?? ""
        name = json["name"]?.string ?? ""
        namespace = json["namespace"]?.string ?? ""
    }

    public init(kind: String, name: String, namespace: String = "") {
        self.kind = kind
        self.name = name
        self.namespace = namespace
    }

    /// Whether the subject names this user, as rbac's appliesToUser decides.
    public func applies(to user: UserInfo, bindingNamespace: String) -> Bool {
        switch kind {
        case "User": return user.username == name
        case "Group": return user.groups.contains(name)
        case "ServiceAccount":
            let namespace = self.namespace.isEmpty ? bindingNamespace : self.namespace
            guard !namespace.isEmpty else { return false }
            return user.username == ServiceAccountNames.username(namespace: namespace, name: name)
        default: return false
        }
    }

    /// How the authorizer's reasons describe it: `Group "system:masters"`, `ServiceAccount "name/namespace"`.
    func described(bindingNamespace: String) -> String {
        if kind == "ServiceAccount" {
            return "\(kind) \(GoText.quote(name + "/" + (namespace.isEmpty ? bindingNamespace : namespace)))"
        }
        return "\(kind) \(GoText.quote(name))"
    }
}
