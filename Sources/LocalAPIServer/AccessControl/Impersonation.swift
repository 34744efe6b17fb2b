import KubeJSON
import KubeSchema

/// What a request's Impersonate-User, Impersonate-Group, Impersonate-Uid and Impersonate-Extra-* headers ask.
public struct Impersonation: Sendable, Equatable {
    public var user: String?
    public var groups: [String]
    public var uid: String?
    public var extra: [String: [String]]

    public init(user: String?, groups: [String] = [], uid: String? = nil, extra: [String: [String]] = [:]) {
        self.user = user
        self.groups = groups
        self.uid = uid
        self.extra = extra
    }

    public var isEmpty: Bool { user == nil && groups.isEmpty && uid == nil && extra.isEmpty }
}

extension APIServer {
    /// The user a request acts as, as kube-apiserver's impersonation filter decides: each part asked
    /// for must be allowed to the real user by the `impersonate` verb (on users, groups, serviceaccounts,
    /// authentication.k8s.io uids and userextras/KEY); a service account gets its groups when none are
    /// asked for, and every impersonated user but system:anonymous is in system:authenticated.
    func impersonate(_ impersonation: Impersonation, by real: UserInfo) throws(APIError) -> UserInfo {
        guard let username = impersonation.user, !username.isEmpty else {
            // The real filter answers this with a 500 too (an internal error naming what was asked).
            var asked = impersonation.groups.map { "group \(GoText.quote($0))" }
            if let uid = impersonation.uid { asked.append("uid \(GoText.quote(uid))") }
            asked += impersonation.extra.keys.sorted().map { "extra \(GoText.quote($0))" }
            throw APIError.internalError("requested [\(asked.joined(separator: ", "))] without impersonating a user")
        }
        func check(_ attributes: RequestAttributes) throws(APIError) {
            let decision = authorize(attributes)
            guard decision.allowed else { throw APIError.forbidden(attributes, reason: decision.reason) }
        }
        var groups = impersonation.groups
        if let account = ServiceAccountNames.split(username) {
            try check(RequestAttributes(user: real, verb: "impersonate", isResourceRequest: true, resource: "serviceaccounts",
                                        namespace: account.namespace, name: account.name))
            if groups.isEmpty { groups = ServiceAccountNames.groups(namespace: account.namespace) }
        } else {
            try check(RequestAttributes(user: real, verb: "impersonate", isResourceRequest: true, resource: "users", name: username))
        }
        for group in impersonation.groups {
            try check(RequestAttributes(user: real, verb: "impersonate", isResourceRequest: true, resource: "groups", name: group))
        }
        if let uid = impersonation.uid {
            try check(RequestAttributes(user: real, verb: "impersonate", isResourceRequest: true, apiGroup: "authentication.k8s.io",
                                        resource: "uids", name: uid))
        }
        for key in impersonation.extra.keys.sorted() {
            for value in impersonation.extra[key]! {
                try check(RequestAttributes(user: real, verb: "impersonate", isResourceRequest: true,
                                            apiGroup: "authentication.k8s.io", resource: "userextras", subresource: key, name: value))
            }
        }
        if username != "system:anonymous", !groups.contains(UserInfo.allAuthenticated), !groups.contains("system:unauthenticated") {
            groups.append(UserInfo.allAuthenticated)
        }
        return UserInfo(username: username, uid: impersonation.uid ?? "", groups: groups, extra: impersonation.extra)
    }
}
