import KubeJSON
import KubeSchema

extension PolicyRule {
    /// Whether this rule grants everything `sub` does, as rbac's ruleCovers decides (used on atomic
    /// rules: one verb, group, resource or URL, and name each).
    func covers(_ sub: PolicyRule) -> Bool {
        func hasAll(_ set: [String], _ items: [String]) -> Bool { items.allSatisfy(set.contains) }
        let verbs = verbs.contains("*") || hasAll(verbs, sub.verbs)
        let groups = apiGroups.contains("*") || hasAll(apiGroups, sub.apiGroups)
        let resourcesCovered = resources.contains("*") || sub.resources.allSatisfy { resource in
            if resources.contains(resource) { return true }
            // `*/scale` covers every resource's scale subresource.
            guard let slash = resource.firstIndex(of: "/") else { return false }
            return resources.contains("*" + resource[slash...])
        }
        let urls = sub.nonResourceURLs.allSatisfy { url in
            nonResourceURLs.contains { $0 == url || ($0.hasSuffix("*") && url.hasPrefix(String($0.dropLast()))) }
        }
        let names = sub.resourceNames.isEmpty ? resourceNames.isEmpty : (resourceNames.isEmpty || hasAll(resourceNames, sub.resourceNames))
        return verbs && groups && resourcesCovered && urls && names
    }

    /// The rule cut into rules of one verb, group, resource or URL, and name each.
    var atoms: [PolicyRule] {
        var atoms: [PolicyRule] = []
        for group in apiGroups {
            for resource in resources {
                for verb in verbs {
                    if resourceNames.isEmpty {
                        atoms.append(PolicyRule(verbs: [verb], apiGroups: [group], resources: [resource]))
                    } else {
                        for name in resourceNames {
                            atoms.append(PolicyRule(verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name]))
                        }
                    }
                }
            }
        }
        for url in nonResourceURLs {
            for verb in verbs { atoms.append(PolicyRule(verbs: [verb], nonResourceURLs: [url])) }
        }
        return atoms
    }

    /// rbac's CompactString: `{APIGroups:["mcp.io"], Resources:["tasks"], Verbs:["delete"]}`.
    var compactString: String {
        func list(_ items: [String]) -> String { APIServer.goQuotedList(items) }
        var parts: [String] = []
        if !apiGroups.isEmpty { parts.append("APIGroups:\(list(apiGroups))") }
        if !resources.isEmpty { parts.append("Resources:\(list(resources))") }
        if !nonResourceURLs.isEmpty { parts.append("NonResourceURLs:\(list(nonResourceURLs))") }
        if !resourceNames.isEmpty { parts.append("ResourceNames:\(list(resourceNames))") }
        if !verbs.isEmpty { parts.append("Verbs:\(list(verbs))") }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// What setting an aggregation rule is judged as granting: it can gather anything.
    static let fullAuthority = [
        PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]), PolicyRule(verbs: ["*"], nonResourceURLs: ["*"]),
    ]
}

/// RBAC's escalation prevention, as its storage for roles and bindings applies it: a user may write a
/// Role or ClusterRole only with rules it holds itself (or with the `escalate` verb on it), and a binding
/// only to a role whose rules it holds (or with the `bind` verb on that role). Everything that needs the
/// store is read before the write, since the store's write lock must not be taken twice.
struct EscalationCheck {
    let user: UserInfo
    /// system:masters, or authorization AlwaysAllow: nothing to check.
    let unrestricted: Bool
    let ownerRules: [PolicyRule]
    let resolutionErrors: [String]
    let mayEscalate: Bool
    /// For each role a binding may reference (`Kind/name`): whether the user may bind it, and its rules (nil: missing).
    let references: [String: (mayBind: Bool, rules: [PolicyRule]?)]
    let type: ResourceType
    let namespace: String

    /// The write refused with the real server's Forbidden, or nil when it grants nothing the user lacks.
    func check(_ object: JSON, old: JSON?, name: String) -> APIError? {
        if let old, type.kind.hasSuffix("Binding"), old["roleRef"] != object["roleRef"] {
            // The value as Go's %#v prints the internal type the real validation holds.
            let roleRef = object["roleRef"]
            let shown = "rbac.RoleRef{APIGroup:\(GoText.quote(roleRef?["apiGroup"]?.string ?? "")), "
                + "Kind:\(GoText.quote(roleRef?["kind"]?.string ?? "")), Name:\(GoText.quote(roleRef?["name"]?.string ?? ""))}"
            return APIError.invalid(type, name: name, causes: [
                Cause(field: "roleRef", reason: "FieldValueInvalid", message: "Invalid value: \(shown): cannot change roleRef")
            ])
        }
        if unrestricted { return nil }
        let requested: [PolicyRule]
        if type.kind == "Role" || type.kind == "ClusterRole" {
            if mayEscalate { return nil }
            requested = object["aggregationRule"].map { $0.isNull ? nil : $0 } == nil
                ? (object["rules"]?.array ?? []).map(PolicyRule.init) : PolicyRule.fullAuthority
        } else {
            let key = Self.referenceKey(object["roleRef"])
            // Every roleRef a write can carry was read beforehand; one that was not is refused, not waved through.
            guard let reference = references[key] else {
                return APIError(code: 403, reason: "Forbidden",
                                message: "\(type.groupResource) \(GoText.quote(name)) is forbidden: its roleRef could not be checked",
                                details: ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural)])
            }
            if reference.mayBind { return nil }
            guard let rules = reference.rules else {
                let kind = object["roleRef"]?["kind"]?.string == "Role" ? "role" : "clusterrole"
                return APIError(code: 404, reason: "NotFound",
                                message: "\(kind).rbac.authorization.k8s.io \(GoText.quote(object["roleRef"]?["name"]?.string ?? "")) not found",
                                details: ["name": .string(object["roleRef"]?["name"]?.string ?? ""), "group": "rbac.authorization.k8s.io",
                                          "kind": .string(kind)])
            }
            requested = rules
        }
        let missing = requested.flatMap(\.atoms).filter { atom in !ownerRules.contains { $0.covers(atom) } }
        guard !missing.isEmpty else { return nil }
        let descriptions = Set(Self.compact(missing).map(\.compactString)).sorted()
        var message = "user \(GoText.quote(user.username)) (groups=\(APIServer.goQuotedList(user.groups))) is attempting to grant "
            + "RBAC permissions not currently held:\n" + descriptions.joined(separator: "\n")
        if !resolutionErrors.isEmpty { message += "; resolution errors: [\(resolutionErrors.joined(separator: " "))]" }
        return APIError(code: 403, reason: "Forbidden", message: "\(type.groupResource) \(GoText.quote(name)) is forbidden: \(message)",
                        details: ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural)])
    }

    static func referenceKey(_ roleRef: JSON?) -> String {
        "\(roleRef?["kind"]?.string ?? "")/\(roleRef?["name"]?.string ?? "")"
    }

    /// rbac's CompactRules: rules of one group and one resource (and at most one name) merge their verbs.
    static func compact(_ rules: [PolicyRule]) -> [PolicyRule] {
        var compacted: [PolicyRule] = []
        var simple: [String: Int] = [:]
        for rule in rules {
            guard rule.nonResourceURLs.isEmpty, rule.apiGroups.count == 1, rule.resources.count == 1, rule.resourceNames.count <= 1
            else {
                compacted.append(rule)
                continue
            }
            let key = "\(rule.apiGroups[0])\u{0}\(rule.resources[0])\u{0}\(rule.resourceNames.first ?? "\u{1}")"
            if let index = simple[key] {
                compacted[index].verbs += rule.verbs
            } else {
                simple[key] = compacted.count
                compacted.append(rule)
            }
        }
        return compacted
    }
}

extension APIServer {
    /// What an escalation check of a write to `target` needs, read now (before the write's lock);
    /// nil for resources other than roles and bindings.
    func escalationCheck(_ target: Target, user: UserInfo, name: String?, body: JSON?) -> EscalationCheck? {
        let kinds = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]
        guard target.type.group == ResourceType.roles.group, kinds.contains(target.type.kind) else { return nil }
        let namespace = target.namespace ?? ""
        let unrestricted = accessControl.mode == .alwaysAllow || user.groups.contains(UserInfo.masters)
        let authorizer = RBACAuthorizer(objects: StoredRBACObjects(store: store))
        let (ownerRules, errors) = unrestricted ? ([], []) : authorizer.rules(for: user, namespace: namespace)
        func allowed(_ verb: String, _ resource: String, _ resourceName: String) -> Bool {
            authorize(RequestAttributes(user: user, verb: verb, isResourceRequest: true, apiGroup: ResourceType.roles.group,
                                        resource: resource, namespace: namespace, name: resourceName)).allowed
        }
        let isRole = target.type.kind == "Role" || target.type.kind == "ClusterRole"
        let mayEscalate = !unrestricted && isRole && allowed("escalate", target.type.plural, name ?? "")
        var references: [String: (mayBind: Bool, rules: [PolicyRule]?)] = [:]
        if !unrestricted, !isRole {
            var roleRefs: [JSON] = []
            if let roleRef = body?["roleRef"] { roleRefs.append(roleRef) }
            if let name, let stored = store.get(target.type.storageKey, namespace: namespace, name: name)?.object["roleRef"] {
                roleRefs.append(stored)
            }
            for roleRef in roleRefs {
                let kind = roleRef["kind"]?.string ?? ""
                let roleName = roleRef["name"]?.string ?? ""
                let role = kind == "Role" ? store.get(ResourceType.roles.storageKey, namespace: namespace, name: roleName)?.object
                    : store.get(ResourceType.clusterRoles.storageKey, namespace: "", name: roleName)?.object
                let mayBind = allowed("bind", kind == "Role" ? "roles" : "clusterroles", roleName)
                references[EscalationCheck.referenceKey(roleRef)] = (mayBind, role.map { ($0["rules"]?.array ?? []).map(PolicyRule.init) })
            }
        }
        return EscalationCheck(user: user, unrestricted: unrestricted, ownerRules: ownerRules, resolutionErrors: errors,
                               mayEscalate: mayEscalate, references: references, type: target.type, namespace: namespace)
    }
}
