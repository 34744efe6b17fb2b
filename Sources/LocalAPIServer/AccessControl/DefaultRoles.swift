import KubeJSON

/// The roles and bindings a real cluster starts with (kube-apiserver's bootstrap policy), those that
/// discovery, kubectl and delegated authentication need: cluster-admin for system:masters, discovery,
/// basic-user and public-info-viewer for every authenticated user, auth-delegator, and the aggregated
/// admin, edit and view with the system:aggregate-to-* roles that feed them.
enum DefaultRoles {
    static let aggregateLabel = "rbac.authorization.k8s.io/aggregate-to-"
    static let readVerbs = ["get", "list", "watch"]
    static let writeVerbs = ["create", "delete", "deletecollection", "patch", "update"]

    /// Core resources the namespaced roles read or write, as the real system:aggregate-to-* roles name
    /// them (most are not served here; a rule for them is harmless and keeps the roles the real ones).
    /// Events are read, not written; leases and events.k8s.io are in none of them, as on a real cluster.
    static let coreNamespaced = ["configmaps", "endpoints", "persistentvolumeclaims", "pods", "replicationcontrollers",
                                 "serviceaccounts", "services"]

    static var clusterRoles: [JSON] {
        [
            clusterRole("cluster-admin", rules: [
                PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]),
                PolicyRule(verbs: ["*"], nonResourceURLs: ["*"]),
            ]),
            clusterRole("system:discovery", rules: [
                PolicyRule(verbs: ["get"], nonResourceURLs: [
                    "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
                    "/version", "/version/",
                ])
            ]),
            clusterRole("system:public-info-viewer", rules: [
                PolicyRule(verbs: ["get"], nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"])
            ]),
            clusterRole("system:basic-user", rules: [
                PolicyRule(verbs: ["create"], apiGroups: ["authorization.k8s.io"],
                           resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
                PolicyRule(verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"]),
            ]),
            clusterRole("system:auth-delegator", rules: [
                PolicyRule(verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"]),
                PolicyRule(verbs: ["create"], apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"]),
            ]),
            aggregated("admin", feeds: nil),
            aggregated("edit", feeds: "admin"),
            aggregated("view", feeds: "edit"),
            clusterRole("system:aggregate-to-admin", labels: [aggregateLabel + "admin": "true"], rules: [
                PolicyRule(verbs: readVerbs + writeVerbs, apiGroups: ["rbac.authorization.k8s.io"],
                           resources: ["rolebindings", "roles"]),
                PolicyRule(verbs: ["create"], apiGroups: ["authorization.k8s.io"], resources: ["localsubjectaccessreviews"]),
            ]),
            clusterRole("system:aggregate-to-edit", labels: [aggregateLabel + "edit": "true"], rules: [
                PolicyRule(verbs: writeVerbs, apiGroups: [""], resources: coreNamespaced + ["secrets"]),
                PolicyRule(verbs: ["create"], apiGroups: [""], resources: ["serviceaccounts/token"]),
                PolicyRule(verbs: ["impersonate"], apiGroups: [""], resources: ["serviceaccounts"]),
            ]),
            clusterRole("system:aggregate-to-view", labels: [aggregateLabel + "view": "true"], rules: [
                PolicyRule(verbs: readVerbs, apiGroups: [""],
                           resources: coreNamespaced + ["events", "limitranges", "namespaces", "namespaces/status",
                                                        "pods/log", "pods/status", "resourcequotas"]),
            ]),
        ]
    }

    static var clusterRoleBindings: [JSON] {
        [
            binding("cluster-admin", role: "cluster-admin", groups: [UserInfo.masters]),
            binding("system:discovery", role: "system:discovery", groups: [UserInfo.allAuthenticated]),
            binding("system:basic-user", role: "system:basic-user", groups: [UserInfo.allAuthenticated]),
            binding("system:public-info-viewer", role: "system:public-info-viewer",
                    groups: [UserInfo.allAuthenticated, "system:unauthenticated"]),
        ]
    }

    static func metadata(_ name: String, labels: [String: String] = [:]) -> JSON {
        var allLabels: JSONObject = ["kubernetes.io/bootstrapping": "rbac-defaults"]
        for key in labels.keys.sorted() { allLabels[key] = .string(labels[key]!) }
        return ["name": .string(name), "labels": .object(allLabels),
                "annotations": ["rbac.authorization.kubernetes.io/autoupdate": "true"]]
    }

    static func clusterRole(_ name: String, labels: [String: String] = [:], rules: [PolicyRule]) -> JSON {
        ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": metadata(name, labels: labels),
         "rules": .array(rules.map(\.json))]
    }

    /// admin, edit or view: rules gathered from the ClusterRoles labelled aggregate-to-NAME; `feeds`
    /// is the role this one is itself gathered into (view into edit, edit into admin).
    static func aggregated(_ name: String, feeds: String?) -> JSON {
        var labels: [String: String] = [:]
        if let feeds { labels[aggregateLabel + feeds] = "true" }
        return ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": metadata(name, labels: labels),
                "aggregationRule": ["clusterRoleSelectors": [["matchLabels": .object([aggregateLabel + name: "true"])]]],
                "rules": []]
    }

    static func binding(_ name: String, role: String, groups: [String]) -> JSON {
        ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": metadata(name),
         "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": .string(role)],
         "subjects": .array(groups.map { ["apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": .string($0)] })]
    }
}

extension APIServer {
    /// Creates the default roles and bindings that do not exist yet, through the ordinary create path,
    /// and reconciles those that do as kube-apiserver does at each start: one still annotated
    /// `rbac.authorization.kubernetes.io/autoupdate: "true"` gets back the rules, subjects and
    /// aggregation rule it lacks (nothing an administrator added is taken away); one annotated otherwise is left alone.
    public func ensureDefaultRoles() async {
        let sets: [(String, [JSON])] = [
            ("/apis/rbac.authorization.k8s.io/v1/clusterroles", DefaultRoles.clusterRoles),
            ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", DefaultRoles.clusterRoleBindings),
        ]
        for (path, objects) in sets {
            for object in objects {
                let request = APIRequest(method: "POST", path: path, accept: "application/json", contentType: "application/json",
                                         userAgent: "conductor-bootstrap", body: object.serialized())
                let response = await handle(request)
                if response.status == 409 {
                    reconcileDefault(object)
                } else if response.status != 201 {
                    logger.error("could not create a default RBAC object", metadata: [
                        "name": "\(object["metadata"]?["name"]?.string ?? "")", "status": "\(response.status)",
                    ])
                }
            }
        }
        aggregateClusterRoles()
    }

    /// Puts back into a stored default object what its default has and it lacks, unless an administrator
    /// turned its autoupdate annotation off.
    private func reconcileDefault(_ wanted: JSON) {
        let isBinding = wanted["kind"]?.string == "ClusterRoleBinding"
        let key = isBinding ? ResourceType.clusterRoleBindings.storageKey : ResourceType.clusterRoles.storageKey
        let name = wanted["metadata"]?["name"]?.string ?? ""
        _ = try? store.mutate(key, namespace: "", name: name) { current throws(APIError) -> Mutation in
            guard var object = current?.object,
                object["metadata"]?["annotations"]?["rbac.authorization.kubernetes.io/autoupdate"]?.string == "true"
            else { return .unchanged }
            let before = object
            for (label, value) in wanted["metadata"]?["labels"]?.object ?? [:] where object["metadata"]?["labels"]?[label] == nil {
                object.set(path: ["metadata", "labels", label], to: value)
            }
            if isBinding {
                var subjects = object["subjects"]?.array ?? []
                for subject in wanted["subjects"]?.array ?? [] where !subjects.contains(subject) { subjects.append(subject) }
                object["subjects"] = .array(subjects)
            } else if let rule = wanted["aggregationRule"] {
                // Aggregated: the rules are the aggregation controller's to gather.
                object["aggregationRule"] = rule
            } else {
                var rules = object["rules"]?.array ?? []
                for rule in wanted["rules"]?.array ?? [] where !rules.contains(rule) { rules.append(rule) }
                object["rules"] = .array(rules)
            }
            return object == before ? .unchanged : .put(object)
        }
    }

    /// Most rounds of aggregation: each lets rules flow one step further (view into edit into admin);
    /// a cycle of aggregating roles stops here rather than spinning.
    static let maxAggregationRounds = 8

    /// The cluster-role aggregation controller, run in place after every ClusterRole write: a ClusterRole
    /// with an aggregationRule gets the rules of every other ClusterRole its selectors match, in name
    /// order, without repeats.
    func aggregateClusterRoles() {
        let key = ResourceType.clusterRoles.storageKey
        for _ in 0..<Self.maxAggregationRounds {
            var changed = false
            let all = store.list(key, namespace: nil).objects.map(\.value.object)
            for role in all {
                guard let selectors = role["aggregationRule"]?["clusterRoleSelectors"]?.array else { continue }
                let name = role["metadata"]?["name"]?.string ?? ""
                var rules: [JSON] = []
                for other in all where other["metadata"]?["name"]?.string != name {
                    let labels = other["metadata"]?["labels"]?.object ?? [:]
                    guard selectors.contains(where: { LabelSelectorObject.matches($0, labels: labels) }) else { continue }
                    for rule in other["rules"]?.array ?? [] where !rules.contains(rule) { rules.append(rule) }
                }
                if (role["rules"]?.array ?? []) == rules { continue }
                changed = true
                _ = try? store.mutate(key, namespace: "", name: name) { current throws(APIError) -> Mutation in
                    guard var object = current?.object else { return .unchanged }
                    object["rules"] = .array(rules)
                    return .put(object)
                }
            }
            if !changed { return }
        }
        logger.warning("cluster role aggregation did not settle", metadata: ["rounds": "\(Self.maxAggregationRounds)"])
    }
}

/// A metav1.LabelSelector object (matchLabels and matchExpressions), as aggregation rules hold them.
enum LabelSelectorObject {
    static func matches(_ selector: JSON, labels: JSONObject) -> Bool {
        for (key, value) in selector["matchLabels"]?.object ?? [:] where labels[key]?.string != value.string {
            return false
        }
        for expression in selector["matchExpressions"]?.array ?? [] {
            let key = expression["key"]?.string ?? ""
            let values = (expression["values"]?.array ?? []).compactMap(\.string)
            let value = labels[key]?.string
            switch expression["operator"]?.string ?? "" {
            case "In": if value == nil || !values.contains(value!) { return false }
            case "NotIn": if let value, values.contains(value) { return false }
            case "Exists": if value == nil { return false }
            case "DoesNotExist": if value != nil { return false }
            default: return false
            }
        }
        return true
    }
}
