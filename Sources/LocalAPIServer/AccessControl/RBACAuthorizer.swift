import KubeJSON
import KubeSchema

/// An authorizer's answer: allowed or not, and why (the reason a SubjectAccessReview reports and a
/// 403 appends).
public struct AuthorizationDecision: Sendable, Equatable {
    public var allowed: Bool
    public var reason: String

    public init(allowed: Bool, reason: String) {
        self.allowed = allowed
        self.reason = reason
    }
}

/// The roles and bindings the authorizer reads: the store's, at the moment of each request, so that
/// a binding added or removed takes effect on the next request.
protocol RBACObjects {
    func clusterRoleBindings() -> [JSON]
    func roleBindings(namespace: String) -> [JSON]
    func clusterRole(_ name: String) -> JSON?
    func role(_ name: String, namespace: String) -> JSON?
}

/// kube-apiserver's authorizers in their order: members of system:masters may do anything (the
/// privileged-group authorizer, whose reason is empty); then RBAC, which visits the ClusterRoleBindings,
/// then the RoleBindings of the request's namespace, and allows on the first rule that matches. RBAC
/// never denies: no rule is "no opinion", which the server answers 403.
struct RBACAuthorizer {
    let objects: any RBACObjects

    func authorize(_ request: RequestAttributes) -> AuthorizationDecision {
        if request.user.groups.contains(UserInfo.masters) { return AuthorizationDecision(allowed: true, reason: "") }
        var errors: [String] = []
        for binding in objects.clusterRoleBindings() {
            if let reason = visit(binding, kind: "ClusterRoleBinding", namespace: "", request: request, errors: &errors) {
                return AuthorizationDecision(allowed: true, reason: reason)
            }
        }
        if !request.namespace.isEmpty {
            for binding in objects.roleBindings(namespace: request.namespace) {
                if let reason = visit(binding, kind: "RoleBinding", namespace: request.namespace, request: request, errors: &errors) {
                    return AuthorizationDecision(allowed: true, reason: reason)
                }
            }
        }
        // Go's error aggregate: one error as itself, more in brackets.
        let reason = errors.isEmpty ? "" : "RBAC: " + (errors.count == 1 ? errors[0] : "[" + errors.joined(separator: ", ") + "]")
        return AuthorizationDecision(allowed: false, reason: reason)
    }

    /// Every rule the user's bindings grant in a namespace (the cluster-wide ones included), and the
    /// errors met on the way: what SelfSubjectRulesReview lists.
    func rules(for user: UserInfo, namespace: String) -> (rules: [PolicyRule], errors: [String]) {
        var rules: [PolicyRule] = []
        var errors: [String] = []
        let sets = [(objects.clusterRoleBindings(), "")] + (namespace.isEmpty ? [] : [(objects.roleBindings(namespace: namespace), namespace)])
        for (bindings, bindingNamespace) in sets {
            for binding in bindings {
                let subjects = (binding["subjects"]?.array ?? []).map(Subject.init)
                guard subjects.contains(where: { $0.applies(to: user, bindingNamespace: bindingNamespace) }) else { continue }
                let name = binding["roleRef"]?["name"]?.string ?? ""
                let role = binding["roleRef"]?["kind"]?.string == "Role"
                    ? objects.role(name, namespace: bindingNamespace) : objects.clusterRole(name)
                guard let role else {
                    errors.append("\(binding["roleRef"]?["kind"]?.string == "Role" ? "role" : "clusterrole").rbac.authorization.k8s.io \(GoText.quote(name)) not found")
                    continue
                }
                rules += (role["rules"]?.array ?? []).map(PolicyRule.init)
            }
        }
        return (rules, errors)
    }

    /// The reason a binding allows the request, or nil; a role it names that is missing is noted in
    /// `errors`, as the real authorizer notes it (only for bindings whose subjects include the user).
    private func visit(_ binding: JSON, kind: String, namespace: String, request: RequestAttributes,
                       errors: inout [String]) -> String?
    {
        let subjects = (binding["subjects"]?.array ?? []).map(Subject.init)
        guard let subject = subjects.first(where: { $0.applies(to: request.user, bindingNamespace: namespace) }) else { return nil }
        let bindingName = binding["metadata"]?["name"]?.string ?? ""
        let roleKind = binding["roleRef"]?["kind"]?.string ?? ""
        let roleName = binding["roleRef"]?["name"]?.string ?? ""
        let role: JSON?
        switch roleKind {
        case "ClusterRole":
            role = objects.clusterRole(roleName)
            if role == nil { errors.append("clusterrole.rbac.authorization.k8s.io \(GoText.quote(roleName)) not found") }
        case "Role" where !namespace.isEmpty:
            role = objects.role(roleName, namespace: namespace)
            if role == nil { errors.append("role.rbac.authorization.k8s.io \(GoText.quote(roleName)) not found") }
        default:
            errors.append("unsupported role reference kind: \(GoText.quote(roleKind))")
            role = nil
        }
        guard let role else { return nil }
        let rules = (role["rules"]?.array ?? []).map(PolicyRule.init)
        guard rules.contains(where: { $0.allows(request) }) else { return nil }
        let shownName = namespace.isEmpty ? bindingName : "\(bindingName)/\(namespace)"
        return "RBAC: allowed by \(kind) \(GoText.quote(shownName)) of \(roleKind) \(GoText.quote(roleName)) to "
            + subject.described(bindingNamespace: namespace)
    }
}

/// The store as the authorizer's source of roles and bindings.
struct StoredRBACObjects: RBACObjects {
    let store: ObjectStore

    func clusterRoleBindings() -> [JSON] {
        store.list(ResourceType.clusterRoleBindings.storageKey, namespace: nil).objects.map(\.value.object)
    }

    func roleBindings(namespace: String) -> [JSON] {
        store.list(ResourceType.roleBindings.storageKey, namespace: namespace).objects.map(\.value.object)
    }

    func clusterRole(_ name: String) -> JSON? {
        store.get(ResourceType.clusterRoles.storageKey, namespace: "", name: name)?.object
    }

    func role(_ name: String, namespace: String) -> JSON? {
        store.get(ResourceType.roles.storageKey, namespace: namespace, name: name)?.object
    }
}

/// How requests are authorized: `--authorization-mode` of `conductor apiserver` and `dev`.
public enum AuthorizationMode: String, Sendable, CaseIterable {
    /// Roles and bindings decide, as in a cluster (the default).
    case rbac = "RBAC"
    /// Every authenticated request is allowed, as before this server knew RBAC.
    case alwaysAllow = "AlwaysAllow"
}

extension APIError {
    /// The real server's 403 for a request its authorizers did not allow (responsewriters.Forbidden):
    /// `tasks.mcp.io "t1" is forbidden: User "u" cannot update resource "tasks/status" in API group "mcp.io"
    /// in the namespace "ns"`, `... at the cluster scope`, or `forbidden: User "u" cannot get path "/x"`;
    /// the authorizer's reason, when there is one, follows after a colon.
    static func forbidden(_ request: RequestAttributes, reason: String) -> APIError {
        let user = GoText.quote(request.user.username)
        var message: String
        if !request.isResourceRequest {
            message = "User \(user) cannot \(request.verb) path \(GoText.quote(request.path))"
        } else {
            let resource = request.subresource.isEmpty ? request.resource : "\(request.resource)/\(request.subresource)"
            message = "User \(user) cannot \(request.verb) resource \(GoText.quote(resource)) in API group \(GoText.quote(request.apiGroup))"
            message += request.namespace.isEmpty ? " at the cluster scope" : " in the namespace \(GoText.quote(request.namespace))"
        }
        // The real server escapes these three before writing the message.
        message = message.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        if !reason.isEmpty { message += ": \(reason)" }
        var details = JSONObject()
        guard request.isResourceRequest, !request.resource.isEmpty else {
            return APIError(code: 403, reason: "Forbidden", message: "forbidden: \(message)", details: .object(details))
        }
        let groupResource = request.apiGroup.isEmpty ? request.resource : "\(request.resource).\(request.apiGroup)"
        if !request.name.isEmpty { details["name"] = .string(request.name) }
        if !request.apiGroup.isEmpty { details["group"] = .string(request.apiGroup) }
        details["kind"] = .string(request.resource)
        let subject = request.name.isEmpty ? groupResource : "\(groupResource) \(GoText.quote(request.name))"
        return APIError(code: 403, reason: "Forbidden", message: "\(subject) is forbidden: \(message)", details: .object(details))
    }
}
