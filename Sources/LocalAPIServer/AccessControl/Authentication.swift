import Foundation
import KubeJSON
import KubeSchema

/// How the server knows and judges callers: the static tokens of tokens.csv, the key that signs
/// service-account tokens, and the authorization mode.
public struct AccessControl: Sendable {
    /// Each static token's user (tokens.csv, as --token-auth-file).
    public var staticTokens: [String: UserInfo]
    /// Signs and verifies service-account tokens; without it TokenRequest is unavailable.
    public var serviceAccountTokens: ServiceAccountTokens?
    public var mode: AuthorizationMode

    public init(staticTokens: [String: UserInfo] = [:], serviceAccountTokens: ServiceAccountTokens? = nil,
                mode: AuthorizationMode = .rbac)
    {
        self.staticTokens = staticTokens
        self.serviceAccountTokens = serviceAccountTokens
        self.mode = mode
    }
}

/// What authenticating a bearer token found.
public enum AuthenticationResult: Sendable, Equatable {
    /// The token's user, and the audiences (of those asked for) it is valid for.
    case authenticated(UserInfo, audiences: [String])
    /// Not a token any authenticator recognizes (no error, as the real server's union of authenticators
    /// answers for a token none of them claims).
    case unrecognized
    /// A token an authenticator claims but refuses, with its reason (expired, deleted account...).
    case refused(String)
}

extension APIServer {
    /// Authenticates a bearer token as kube-apiserver's token authenticators do, for the `audiences`
    /// asked for (the API server's own when nil): a static token is valid only for the API server's
    /// audiences; a service-account token for those it names, while its account exists with the uid it
    /// was issued for, and until it expires.
    public func authenticate(token: String, audiences requested: [String]? = nil) -> AuthenticationResult {
        let wanted = requested.flatMap { $0.isEmpty ? nil : $0 } ?? ServiceAccountTokens.apiAudiences
        if let user = accessControl.staticTokens[token] {
            let audiences = wanted.filter(ServiceAccountTokens.apiAudiences.contains)
            return audiences.isEmpty ? .unrecognized : .authenticated(user, audiences: audiences)
        }
        guard let signer = accessControl.serviceAccountTokens else { return .unrecognized }
        let claims: ServiceAccountClaims
        // Looked up first: only tokens that passed every check below up to the signature are kept.
        if let verified = verifiedTokens.claims(of: token) {
            claims = verified
        } else {
            guard JWT.looksLikeJWT(token) else { return .unrecognized }
            // A JWT of another issuer is another authenticator's to judge: none here.
            let parts = token.split(separator: ".", omittingEmptySubsequences: false)
            guard let claimBytes = JWT.decodeBase64URL(parts[1]), let unverified = try? JSON.parse(claimBytes),
                unverified["iss"]?.string == ServiceAccountTokens.issuer
            else { return .unrecognized }
            do {
                claims = try signer.signedClaims(token)
            } catch {
                return .refused(error.message)
            }
            verifiedTokens.remember(claims, of: token)
        }
        do {
            try ServiceAccountTokens.checkTime(claims, now: clock())
        } catch {
            return .refused(error.message)
        }
        let audiences = claims.audiences.filter(wanted.contains)
        guard !audiences.isEmpty else {
            return .refused("token audiences \(Self.goQuotedList(claims.audiences)) is invalid for the target audiences \(Self.goQuotedList(wanted))")
        }
        guard let account = store.get(ResourceType.serviceAccounts.storageKey, namespace: claims.namespace, name: claims.name)?.object else {
            return .refused("serviceaccounts \(GoText.quote(claims.name)) not found")
        }
        if account["metadata"]?["deletionTimestamp"] != nil {
            return .refused("service account \(claims.namespace)/\(claims.name) has been deleted")
        }
        let uid = account["metadata"]?["uid"]?.string ?? ""
        guard uid == claims.uid else {
            return .refused("service account UID (\(uid)) does not match claim (\(claims.uid))")
        }
        var extra: [String: [String]] = [:]
        if !claims.tokenID.isEmpty { extra["authentication.kubernetes.io/credential-id"] = ["JTI=\(claims.tokenID)"] }
        if let pod = claims.podName {
            extra["authentication.kubernetes.io/pod-name"] = [pod]
            extra["authentication.kubernetes.io/pod-uid"] = [claims.podUID ?? ""]
        }
        let user = UserInfo(username: claims.username, uid: uid, groups: ServiceAccountNames.groups(namespace: claims.namespace),
                            extra: extra).withAuthenticatedGroup()
        return .authenticated(user, audiences: audiences)
    }

    /// A list as Go's %q prints a []string: `["a" "b"]`.
    static func goQuotedList(_ items: [String]) -> String { "[" + items.map(GoText.quote).joined(separator: " ") + "]" }

    /// Decides a request as the configured authorizers do.
    public func authorize(_ request: RequestAttributes) -> AuthorizationDecision {
        switch accessControl.mode {
        case .alwaysAllow: return AuthorizationDecision(allowed: true, reason: "")
        case .rbac: return RBACAuthorizer(objects: StoredRBACObjects(store: store)).authorize(request)
        }
    }
}
