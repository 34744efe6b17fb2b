import KubeJSON

/// Who a request comes from, as kube-apiserver's user.Info: what authentication found and what
/// authorization decides on.
public struct UserInfo: Sendable, Equatable {
    public var username: String
    public var uid: String
    public var groups: [String]
    public var extra: [String: [String]]

    public init(username: String, uid: String = "", groups: [String] = [], extra: [String: [String]] = [:]) {
        self.username = username
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }

    public static let allAuthenticated = "system:authenticated"
    public static let masters = "system:masters"

    /// The server's own requests (bootstrap objects, controllers run in place), as the real server's
    /// loopback client: in system:masters, so nothing it does is refused.
    public static let loopback = UserInfo(username: "system:apiserver", groups: [masters, allAuthenticated])

    /// The user as TokenReview's status.user and SelfSubjectReview's status.userInfo write it: empty members left out.
    var json: JSON {
        var object = JSONObject()
        if !username.isEmpty { object["username"] = .string(username) }
        if !uid.isEmpty { object["uid"] = .string(uid) }
        if !groups.isEmpty { object["groups"] = .array(groups.map(JSON.string)) }
        if !extra.isEmpty {
            var members = JSONObject()
            for key in extra.keys.sorted() { members[key] = .array(extra[key]!.map(JSON.string)) }
            object["extra"] = .object(members)
        }
        return .object(object)
    }

    /// Adds system:authenticated unless present, as the real server's authenticated-group adder does.
    func withAuthenticatedGroup() -> UserInfo {
        var copy = self
        if !copy.groups.contains(Self.allAuthenticated) { copy.groups.append(Self.allAuthenticated) }
        return copy
    }
}

/// Service accounts' user names and groups: `system:serviceaccount:NS:NAME`, in
/// `system:serviceaccounts` and `system:serviceaccounts:NS`.
enum ServiceAccountNames {
    static let prefix = "system:serviceaccount:"
    static let allGroup = "system:serviceaccounts"

    static func username(namespace: String, name: String) -> String { "\(prefix)\(namespace):\(name)" }

    static func groups(namespace: String) -> [String] { [allGroup, "\(allGroup):\(namespace)"] }

    /// The namespace and name of a service account's user name, or nil for any other name.
    static func split(_ username: String) -> (namespace: String, name: String)? {
        guard username.hasPrefix(prefix) else { return nil }
        let parts = username.dropFirst(prefix.count).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}
