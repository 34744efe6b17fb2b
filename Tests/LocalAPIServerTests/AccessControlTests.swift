import Crypto
import Foundation
import KubeJSON
import Synchronization
import Testing
@testable import LocalAPIServer

@Suite struct ServiceAccountTokenSigning {
    let tokens = ServiceAccountTokens(key: P256.Signing.PrivateKey())
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func claims(expiresIn seconds: Int64 = 3600) -> ServiceAccountClaims {
        let issued = Int64(now.timeIntervalSince1970)
        return ServiceAccountClaims(namespace: "mcp-system", name: "mcp-agent", uid: "u-1", audiences: ["api"], issuedAt: issued,
                                    notBefore: issued, expires: issued + seconds, tokenID: "jti-1", podName: "agent-a", podUID: "p-1")
    }

    /// What the server checks of a token at `now`: its signature, then its time.
    static func verify(_ token: String, with signer: ServiceAccountTokens, now: Date) throws(JWT.Failure) -> ServiceAccountClaims {
        let claims = try signer.signedClaims(token)
        try ServiceAccountTokens.checkTime(claims, now: now)
        return claims
    }

    @Test func signedTokenVerifiesWithItsClaims() throws {
        let token = try tokens.issue(claims())
        #expect(token.split(separator: ".").count == 3)
        #expect(try Self.verify(token, with: tokens, now: now) == claims())
        let header = try JSON.parse(JWT.decodeBase64URL(token.split(separator: ".")[0])!)
        #expect(header["alg"] == "ES256")
        #expect(header["kid"]?.string == tokens.keyID)
    }

    @Test func claimsAreThoseARealServerWrites() throws {
        let token = try tokens.issue(claims())
        let payload = try JSON.parse(JWT.decodeBase64URL(token.split(separator: ".")[1])!)
        #expect(payload["iss"]?.string == "https://kubernetes.default.svc.cluster.local")
        #expect(payload["sub"]?.string == "system:serviceaccount:mcp-system:mcp-agent")
        #expect(payload["aud"] == ["api"])
        #expect(payload["kubernetes.io"]?["serviceaccount"]?["uid"]?.string == "u-1")
        #expect(payload["kubernetes.io"]?["pod"]?["name"]?.string == "agent-a")
        for claim in ["exp", "iat", "nbf", "jti"] { #expect(payload[claim] != nil) }
    }

    @Test func expiredTokenIsRefusedWithTheRealReasonAfterTheLeeway() throws {
        let token = try tokens.issue(claims(expiresIn: 600))
        // go-jose's minute of leeway, as the real validator allows.
        #expect(try Self.verify(token, with: tokens, now: now.addingTimeInterval(659)).name == "mcp-agent")
        #expect(throws: JWT.Failure(message: "service account token has expired")) {
            try Self.verify(token, with: tokens, now: now.addingTimeInterval(660))
        }
        #expect(throws: JWT.Failure(message: "service account token is not valid yet")) {
            try Self.verify(token, with: tokens, now: now.addingTimeInterval(-61))
        }
    }

    @Test func anotherKeysTokenAndATamperedTokenAreRefused() throws {
        let other = ServiceAccountTokens(key: P256.Signing.PrivateKey())
        let foreign = try other.issue(claims())
        #expect(throws: JWT.Failure(message: "invalid signature")) { try Self.verify(foreign, with: tokens, now: now) }
        let token = try tokens.issue(claims())
        var parts = token.split(separator: ".").map(String.init)
        var payload = try JSON.parse(JWT.decodeBase64URL(Substring(parts[1]))!)
        payload.set(path: ["sub"], to: "system:serviceaccount:kube-system:admin")
        parts[1] = JWT.base64URL(payload.serialized())
        #expect(throws: JWT.Failure(message: "invalid signature")) { try Self.verify(parts.joined(separator: "."), with: tokens, now: now) }
    }

    @Test(arguments: ["", "abc", "a.b", "a.b.c.d", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"])
    func malformedOrForeignAlgorithmTokensAreRefused(token: String) {
        #expect(throws: JWT.Failure.self) { try Self.verify(token, with: tokens, now: now) }
    }

    @Test func keyIsKeptAndReadBack() throws {
        let path = NSTemporaryDirectory() + "sa-\(UUID().uuidString).key"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try ServiceAccountTokens.loadOrCreate(at: path)
        let second = try ServiceAccountTokens.loadOrCreate(at: path)
        #expect(first.keyID == second.keyID)
        let token = try first.issue(claims())
        #expect(try Self.verify(token, with: second, now: now).name == "mcp-agent")
    }
}

@Suite struct RBACRules {
    let user = UserInfo(username: "jane", groups: ["dev", "system:authenticated"])

    func resource(_ verb: String, _ group: String, _ resource: String, subresource: String = "", namespace: String = "ns",
                  name: String = "") -> RequestAttributes
    {
        RequestAttributes(user: user, verb: verb, isResourceRequest: true, apiGroup: group, resource: resource,
                          subresource: subresource, namespace: namespace, name: name)
    }

    @Test func verbsGroupsResourcesAndNames() {
        let rule = PolicyRule(verbs: ["update", "patch"], apiGroups: ["mcp.io"], resources: ["tasks/status"], resourceNames: ["t1"])
        #expect(rule.allows(resource("update", "mcp.io", "tasks", subresource: "status", name: "t1")))
        #expect(!rule.allows(resource("update", "mcp.io", "tasks", subresource: "status", name: "t2")))
        #expect(!rule.allows(resource("update", "mcp.io", "tasks", name: "t1")))
        #expect(!rule.allows(resource("delete", "mcp.io", "tasks", subresource: "status", name: "t1")))
        #expect(!rule.allows(resource("update", "", "tasks", subresource: "status", name: "t1")))
        // resourceNames cannot allow a request without a name (list, create).
        #expect(!rule.allows(resource("update", "mcp.io", "tasks", subresource: "status")))
    }

    @Test func wildcards() {
        #expect(PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]).allows(resource("deletecollection", "x.io", "things")))
        let scale = PolicyRule(verbs: ["get"], apiGroups: ["apps"], resources: ["*/scale"])
        #expect(scale.allows(resource("get", "apps", "deployments", subresource: "scale")))
        #expect(!scale.allows(resource("get", "apps", "deployments")))
        // A resource's rule does not reach its subresources.
        #expect(!PolicyRule(verbs: ["get"], apiGroups: ["mcp.io"], resources: ["tasks"])
            .allows(resource("get", "mcp.io", "tasks", subresource: "status", name: "t")))
    }

    @Test func nonResourceURLs() {
        let rule = PolicyRule(verbs: ["get"], nonResourceURLs: ["/apis/*", "/version"])
        func path(_ p: String, _ verb: String = "get") -> RequestAttributes {
            RequestAttributes(user: user, verb: verb, isResourceRequest: false, path: p)
        }
        #expect(rule.allows(path("/apis/mcp.io/v1")))
        #expect(rule.allows(path("/version")))
        #expect(!rule.allows(path("/version/x")))
        #expect(!rule.allows(path("/api")))
        #expect(!rule.allows(path("/version", "post")))
        // Resource rules never match a non-resource request, nor the reverse.
        #expect(!PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]).allows(path("/version")))
        #expect(!rule.allows(resource("get", "", "version")))
    }

    @Test func subjects() {
        let sa = UserInfo(username: "system:serviceaccount:ns:robot", groups: ["system:serviceaccounts"])
        #expect(Subject(kind: "ServiceAccount", name: "robot").applies(to: sa, bindingNamespace: "ns"))
        #expect(!Subject(kind: "ServiceAccount", name: "robot").applies(to: sa, bindingNamespace: "other"))
        #expect(!Subject(kind: "ServiceAccount", name: "robot").applies(to: sa, bindingNamespace: ""))
        #expect(Subject(kind: "ServiceAccount", name: "robot", namespace: "ns").applies(to: sa, bindingNamespace: ""))
        #expect(Subject(kind: "Group", name: "dev").applies(to: user, bindingNamespace: ""))
        #expect(Subject(kind: "User", name: "jane").applies(to: user, bindingNamespace: ""))
        #expect(!Subject(kind: "User", name: "dev").applies(to: user, bindingNamespace: ""))
    }
}

/// Roles and bindings held in memory, for the authorizer alone.
struct FixedRBACObjects: RBACObjects {
    var clusterRolesByName: [String: JSON] = [:]
    var rolesByKey: [String: JSON] = [:]
    var clusterBindings: [JSON] = []
    var bindingsByNamespace: [String: [JSON]] = [:]

    func clusterRoleBindings() -> [JSON] { clusterBindings }
    func roleBindings(namespace: String) -> [JSON] { bindingsByNamespace[namespace] ?? [] }
    func clusterRole(_ name: String) -> JSON? { clusterRolesByName[name] }
    func role(_ name: String, namespace: String) -> JSON? { rolesByKey["\(namespace)/\(name)"] }
}

@Suite struct RBACDecisions {
    static func binding(_ name: String, roleKind: String, role: String, subjects: [JSON]) -> JSON {
        ["metadata": ["name": .string(name)], "roleRef": ["kind": .string(roleKind), "name": .string(role)], "subjects": .array(subjects)]
    }

    let objects = FixedRBACObjects(
        clusterRolesByName: ["reader": ["rules": [["verbs": ["get", "list"], "apiGroups": ["mcp.io"], "resources": ["tasks"]]]]],
        rolesByKey: ["team/writer": ["rules": [["verbs": ["create"], "apiGroups": ["mcp.io"], "resources": ["tasks"]]]]],
        clusterBindings: [binding("readers", roleKind: "ClusterRole", role: "reader", subjects: [["kind": "Group", "name": "dev"]])],
        bindingsByNamespace: ["team": [
            binding("writers", roleKind: "Role", role: "writer", subjects: [["kind": "ServiceAccount", "name": "bot"]]),
            binding("broken", roleKind: "ClusterRole", role: "missing", subjects: [["kind": "ServiceAccount", "name": "bot"]]),
        ]])

    let dev = UserInfo(username: "jane", groups: ["dev"])
    let bot = UserInfo(username: "system:serviceaccount:team:bot", groups: ["system:serviceaccounts"])

    func ask(_ user: UserInfo, _ verb: String, namespace: String) -> AuthorizationDecision {
        RBACAuthorizer(objects: objects).authorize(RequestAttributes(
            user: user, verb: verb, isResourceRequest: true, apiGroup: "mcp.io", resource: "tasks", namespace: namespace))
    }

    @Test func clusterRoleBindingGrantsEverywhereWithTheRealReason() {
        let decision = ask(dev, "list", namespace: "anywhere")
        #expect(decision.allowed)
        #expect(decision.reason == "RBAC: allowed by ClusterRoleBinding \"readers\" of ClusterRole \"reader\" to Group \"dev\"")
        #expect(!ask(dev, "create", namespace: "anywhere").allowed)
    }

    @Test func roleBindingGrantsInItsNamespaceOnly() {
        let decision = ask(bot, "create", namespace: "team")
        #expect(decision.allowed)
        #expect(decision.reason == "RBAC: allowed by RoleBinding \"writers/team\" of Role \"writer\" to ServiceAccount \"bot/team\"")
        #expect(!ask(bot, "create", namespace: "other").allowed)
    }

    @Test func missingRoleOfABindingThatAppliesIsTheDenialsReason() {
        let decision = ask(bot, "delete", namespace: "team")
        #expect(!decision.allowed)
        #expect(decision.reason == "RBAC: clusterrole.rbac.authorization.k8s.io \"missing\" not found")
    }

    @Test func systemMastersMayDoAnything() {
        #expect(ask(UserInfo(username: "root", groups: ["system:masters"]), "deletecollection", namespace: "").allowed)
    }
}

@Suite struct RequestAttributesFromPaths {
    let user = UserInfo(username: "u")

    @Test func resourceRequests() {
        let get = RequestAttributes(method: "GET", path: "/apis/mcp.io/v1/namespaces/ns/tasks/t1/status", query: [:], user: user)
        #expect(get.isResourceRequest && get.verb == "get" && get.apiGroup == "mcp.io" && get.namespace == "ns")
        #expect(get.resource == "tasks" && get.name == "t1" && get.subresource == "status")
        let list = RequestAttributes(method: "GET", path: "/api/v1/namespaces/ns/events", query: [:], user: user)
        #expect(list.verb == "list" && list.resource == "events" && list.name.isEmpty)
        let watch = RequestAttributes(method: "GET", path: "/apis/mcp.io/v1/tasks",
                                      query: ["watch": "true", "fieldSelector": "metadata.name=t9"], user: user)
        #expect(watch.verb == "watch" && watch.name == "t9" && watch.namespace.isEmpty)
        let collection = RequestAttributes(method: "DELETE", path: "/api/v1/namespaces/ns/events", query: [:], user: user)
        #expect(collection.verb == "deletecollection")
        let namespace = RequestAttributes(method: "GET", path: "/api/v1/namespaces/ns", query: [:], user: user)
        #expect(namespace.resource == "namespaces" && namespace.name == "ns" && namespace.namespace == "ns")
        let finalize = RequestAttributes(method: "PUT", path: "/api/v1/namespaces/ns/finalize", query: [:], user: user)
        #expect(finalize.resource == "namespaces" && finalize.subresource == "finalize" && finalize.verb == "update")
    }

    @Test(arguments: ["/api", "/api/v1", "/apis", "/apis/mcp.io", "/apis/mcp.io/v1", "/version", "/metrics", "/"])
    func nonResourceRequests(path: String) {
        let attributes = RequestAttributes(method: "GET", path: path, query: [:], user: user)
        #expect(!attributes.isResourceRequest && attributes.verb == "get")
    }

    @Test func forbiddenMessagesAreTheRealServers() {
        let named = RequestAttributes(user: UserInfo(username: "system:serviceaccount:ns:a"), verb: "update", isResourceRequest: true,
                                      apiGroup: "mcp.io", resource: "tasks", subresource: "status", namespace: "ns", name: "t1")
        let error = APIError.forbidden(named, reason: "")
        #expect(error.code == 403 && error.reason == "Forbidden")
        #expect(error.message == "tasks.mcp.io \"t1\" is forbidden: User \"system:serviceaccount:ns:a\" cannot update resource \"tasks/status\" in API group \"mcp.io\" in the namespace \"ns\"")
        #expect(error.details == ["name": "t1", "group": "mcp.io", "kind": "tasks"])
        let cluster = RequestAttributes(user: UserInfo(username: "u"), verb: "list", isResourceRequest: true, resource: "namespaces")
        #expect(APIError.forbidden(cluster, reason: "").message
            == "namespaces is forbidden: User \"u\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope")
        let path = RequestAttributes(user: UserInfo(username: "u"), verb: "get", isResourceRequest: false, path: "/metrics")
        #expect(APIError.forbidden(path, reason: "RBAC: x").message == "forbidden: User \"u\" cannot get path \"/metrics\": RBAC: x")
    }
}

@Suite struct ProtobufFixtures {
    static var folder: URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shared = ProcessInfo.processInfo.environment["CONDUCTOR_SHARED"].map { URL(fileURLWithPath: $0) }
            ?? root.deletingLastPathComponent().appendingPathComponent("shared")
        return shared.appendingPathComponent("kube-reference/protobuf")
    }

    static var fixtures: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    /// Each body client-go sends decodes to exactly the JSON the real server made of it.
    @Test(arguments: fixtures)
    func decodesToItsJSON(name: String) throws {
        let fixture = try JSON.parse(Array(try Data(contentsOf: Self.folder.appendingPathComponent(name))))
        let body = Array(Data(base64Encoded: fixture["bodyBase64"]?.string ?? "")!)
        let decoded = try ProtobufBody.decode(body, kindLabel: "fixture")
        #expect(decoded == fixture["json"], "\(name): \(decoded.text)")
    }

    @Test func folderIsThere() {
        #expect(Self.fixtures.count >= 13)
    }

    @Test func truncatedBodyIsABadRequest() throws {
        let fixture = try JSON.parse(Array(try Data(contentsOf: Self.folder.appendingPathComponent("role-create.json"))))
        let body = Array(Data(base64Encoded: fixture["bodyBase64"]?.string ?? "")!)
        #expect(throws: APIError.self) { try ProtobufBody.decode(Array(body.dropLast(5)), kindLabel: "Role") }
    }
}

@Suite struct EscalationRules {
    @Test func coveringRules() {
        let owner = PolicyRule(verbs: ["get", "list"], apiGroups: ["mcp.io"], resources: ["tasks", "tasks/status"])
        #expect(owner.covers(PolicyRule(verbs: ["get"], apiGroups: ["mcp.io"], resources: ["tasks"])))
        #expect(owner.covers(PolicyRule(verbs: ["list"], apiGroups: ["mcp.io"], resources: ["tasks"], resourceNames: ["t1"])))
        #expect(!owner.covers(PolicyRule(verbs: ["delete"], apiGroups: ["mcp.io"], resources: ["tasks"])))
        #expect(!owner.covers(PolicyRule(verbs: ["*"], apiGroups: ["mcp.io"], resources: ["tasks"])))
        let named = PolicyRule(verbs: ["update"], apiGroups: [""], resources: ["leases"], resourceNames: ["mine"])
        #expect(!named.covers(PolicyRule(verbs: ["update"], apiGroups: [""], resources: ["leases"])))
        #expect(PolicyRule(verbs: ["get"], nonResourceURLs: ["/apis/*"]).covers(PolicyRule(verbs: ["get"], nonResourceURLs: ["/apis/x"])))
        #expect(PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]).covers(PolicyRule(verbs: ["escalate"], apiGroups: ["x"], resources: ["y"])))
    }

    @Test func missingRightsAreCompactedAsTheRealServerShowsThem() {
        let atoms = PolicyRule(verbs: ["delete", "get"], apiGroups: ["mcp.io"], resources: ["tasks"]).atoms
        #expect(atoms.count == 2)
        #expect(EscalationCheck.compact(atoms).map(\.compactString) == [#"{APIGroups:["mcp.io"], Resources:["tasks"], Verbs:["delete" "get"]}"#])
        #expect(PolicyRule(verbs: ["get"], nonResourceURLs: ["/metrics"]).compactString == #"{NonResourceURLs:["/metrics"], Verbs:["get"]}"#)
    }
}

/// The server in process, without HTTP: tokens issued by TokenRequest, judged by `authenticate`, and
/// requests authorized as the users they come from.
@Suite struct InProcessAccessControl {
    static func server() async throws -> APIServer {
        let store = try ObjectStore(directory: NSTemporaryDirectory() + "access-" + UUID().uuidString)
        let tokens = ServiceAccountTokens(key: P256.Signing.PrivateKey())
        let api = APIServer(store: store, accessControl: AccessControl(
            staticTokens: ["static": UserInfo(username: "admin", groups: ["system:masters", "system:authenticated"])],
            serviceAccountTokens: tokens, mode: .rbac))
        await api.ensureSystemNamespaces()
        await api.ensureDefaultRoles()
        return api
    }

    static func post(_ api: APIServer, _ path: String, _ body: JSON, as user: UserInfo = .loopback) async -> (Int, JSON) {
        let response = await api.handle(APIRequest(method: "POST", path: path, contentType: "application/json",
                                                   body: body.serialized(), user: user))
        guard case .bytes(let bytes) = response.body else { return (response.status, .null) }
        return (response.status, (try? JSON.parse(bytes)) ?? .null)
    }

    @Test func tokenRequestThenAuthenticationThenAuthorization() async throws {
        let api = try await Self.server()
        let (created, _) = await Self.post(api, "/api/v1/namespaces/default/serviceaccounts",
                                           ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "bot"]])
        #expect(created == 201)
        let (status, answer) = await Self.post(api, "/api/v1/namespaces/default/serviceaccounts/bot/token",
                                               ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": [:]])
        #expect(status == 201)
        #expect(answer["spec"]?["expirationSeconds"] == 3600)
        let token = answer["status"]?["token"]?.string ?? ""
        guard case .authenticated(let user, let audiences) = api.authenticate(token: token) else {
            Issue.record("token not accepted")
            return
        }
        #expect(user.username == "system:serviceaccount:default:bot")
        #expect(audiences == ServiceAccountTokens.apiAudiences)
        #expect(api.authenticate(token: token, audiences: ["elsewhere"]) == .refused(
            #"token audiences ["https://kubernetes.default.svc.cluster.local"] is invalid for the target audiences ["elsewhere"]"#))
        #expect(api.authenticate(token: "static") != .unrecognized)
        #expect(api.authenticate(token: "static", audiences: ["elsewhere"]) == .unrecognized)

        // Discovery, and nothing else, until a binding says so.
        let discovery = await api.handle(APIRequest(method: "GET", path: "/apis", user: user))
        #expect(discovery.status == 200)
        let refused = await api.handle(APIRequest(method: "GET", path: "/api/v1/namespaces/default/serviceaccounts", user: user))
        #expect(refused.status == 403)
        let (bound, _) = await Self.post(api, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", [
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": ["name": "bot-view"],
            "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"],
            "subjects": [["kind": "ServiceAccount", "name": "bot"]],
        ])
        #expect(bound == 201)
        let allowed = await api.handle(APIRequest(method: "GET", path: "/api/v1/namespaces/default/serviceaccounts", user: user))
        #expect(allowed.status == 200)

        let deleted = await api.handle(APIRequest(method: "DELETE", path: "/api/v1/namespaces/default/serviceaccounts/bot"))
        #expect(deleted.status == 200)
        #expect(api.authenticate(token: token) == .refused(#"serviceaccounts "bot" not found"#))
    }

    @Test func aTokenCheckedOnceIsStillJudgedOnTimeAccountAndAudienceEachTime() async throws {
        let clock = Mutex(Date())
        let store = try ObjectStore(directory: NSTemporaryDirectory() + "access-" + UUID().uuidString)
        let tokens = ServiceAccountTokens(key: P256.Signing.PrivateKey())
        let api = APIServer(store: store, accessControl: AccessControl(serviceAccountTokens: tokens, mode: .rbac),
                            clock: { clock.withLock { $0 } })
        await api.ensureSystemNamespaces()
        let (created, _) = await Self.post(api, "/api/v1/namespaces/default/serviceaccounts",
                                           ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "bot"]])
        #expect(created == 201)
        let (_, answer) = await Self.post(api, "/api/v1/namespaces/default/serviceaccounts/bot/token",
                                          ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": [:]])
        let token = answer["status"]?["token"]?.string ?? ""
        guard case .authenticated = api.authenticate(token: token) else {
            Issue.record("token not accepted")
            return
        }
        #expect(api.verifiedTokens.claims(of: token) != nil)
        // Kept, and judged again: for another audience, and once its hour (and go-jose's minute) has passed.
        guard case .refused = api.authenticate(token: token, audiences: ["elsewhere"]) else {
            Issue.record("a kept token was accepted for an audience it does not name")
            return
        }
        clock.withLock { $0 += 3600 + 60 }
        #expect(api.authenticate(token: token) == .refused("service account token has expired"))
        // A forged token is not kept.
        var parts = token.split(separator: ".").map(String.init)
        parts[2] = String(parts[2].reversed())
        let forged = parts.joined(separator: ".")
        guard case .refused = api.authenticate(token: forged) else {
            Issue.record("a forged token was not refused")
            return
        }
        #expect(api.verifiedTokens.claims(of: forged) == nil)
    }

    @Test func theBearerTokenIsReadAsTheRealAuthenticatorReadsIt() {
        #expect(HTTPServer.bearerToken("Bearer abc") == "abc")
        #expect(HTTPServer.bearerToken(" \tbearer abc.def \t") == "abc.def")
        #expect(HTTPServer.bearerToken("BEARER abc extra") == "abc")
        #expect(HTTPServer.bearerToken("Bearer abc\u{A0}\u{3000}") == "abc")
        // The space before the token: none (the real server warns and ignores it).
        #expect(HTTPServer.bearerToken("Bearer  abc") == nil)
        #expect(HTTPServer.bearerToken("Bearer ") == nil)
        #expect(HTTPServer.bearerToken("Basic abc") == nil)
        #expect(HTTPServer.bearerToken("") == nil)
    }

    @Test func verifiedTokensAreBounded() {
        let kept = VerifiedTokens(capacity: 2)
        let claims = ServiceAccountClaims(namespace: "default", name: "bot", uid: "u", audiences: ["api"], issuedAt: 0,
                                          notBefore: 0, expires: 1, tokenID: "j", podName: nil, podUID: nil)
        for token in ["a", "b", "c"] { kept.remember(claims, of: token) }
        #expect(["a", "b", "c"].filter { kept.claims(of: $0) != nil }.count <= 2)
        #expect(kept.claims(of: "c") == claims)
    }

    @Test func tokenFileUsersAndGroups() throws {
        let path = NSTemporaryDirectory() + "tokens-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "t1,alice,uid-a,\"dev,ops\"\nt2,bob,uid-b,\"\"\nt3\n".write(toFile: path, atomically: true, encoding: .utf8)
        let file = try TokenFile.loadOrCreate(at: path)
        #expect(file.users["t1"] == UserInfo(username: "alice", uid: "uid-a", groups: ["dev", "ops", "system:authenticated"]))
        #expect(file.users["t2"] == UserInfo(username: "bob", uid: "uid-b", groups: ["system:authenticated"]))
        #expect(file.users["t3"]?.username == "admin")
        #expect(file.tokens == ["t1", "t2", "t3"])
    }
}
