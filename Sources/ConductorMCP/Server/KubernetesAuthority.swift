import Crypto
import Foundation
import KubeClient
import KubeJSON
import Logging

/// `--mcp-auth kubernetes`: the caller's bearer token is checked with a TokenReview and each action is
/// authorized with a SubjectAccessReview on `tasks.mcp.io` (or `agents.mcp.io`) in the task namespace, with the
/// replica's own credentials. The caller's token goes to the API server only inside the TokenReview; it is
/// never logged, and never used as a credential. Verdicts are cached briefly (`ReviewCache`), keyed by a
/// hash of the token.
public final class KubernetesAuthority: CallerAuthority {
    private let client: KubeClient
    private let audiences: [String]
    /// The 401 challenge: RFC 6750, pointing at the protected resource metadata when there is one (RFC 9728).
    private let challenge: String
    private let identities: ReviewCache<Result<Caller, AccessDenied>>
    private let decisions: ReviewCache<Result<Bool, AccessDenied>>
    private let logger: Logger

    /// - Parameters:
    ///   - audiences: what the token must be meant for (the TokenReview's spec.audiences); empty: the API
    ///     server's own audiences.
    ///   - resourceMetadataURL: the front end's `/.well-known/oauth-protected-resource`, when served.
    public init(client: KubeClient, audiences: [String] = [], resourceMetadataURL: String? = nil,
                cacheLifetime: Duration = .seconds(10), logger: Logger) {
        self.client = client
        self.audiences = audiences
        challenge = resourceMetadataURL.map { "Bearer realm=\"mcp-conductor\", resource_metadata=\"\($0)\"" } ?? "Bearer realm=\"mcp-conductor\""
        identities = ReviewCache(lifetime: cacheLifetime)
        decisions = ReviewCache(lifetime: cacheLifetime)
        self.logger = logger
    }

    public func authenticate(_ request: CredentialRequest) async throws(AccessDenied) -> Caller {
        guard let header = request.authorization, header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw AccessDenied(kind: .unauthenticated, message: "a bearer token is required (Authorization: Bearer <token>)", challenge: challenge)
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let key = SHA256.hash(data: Array(token.utf8)).lowercaseHex
        if let cached = identities.get(key) { return try cached.get() }
        var spec: JSONObject = ["token": .string(token)]
        if !audiences.isEmpty { spec["audiences"] = .array(audiences.map(JSON.string)) }
        let verdict: Result<Caller, AccessDenied>
        do {
            let status = try await review("/apis/authentication.k8s.io/v1/tokenreviews", kind: "TokenReview", spec: .object(spec))
            if status["authenticated"] == true, let username = status[path: ["user", "username"]]?.string {
                let groups = status[path: ["user", "groups"]]?.array?.compactMap(\.string) ?? []
                verdict = .success(Caller(username: username, groups: groups))
            } else {
                let why = status["error"]?.string.map { ": \($0)" } ?? ""
                verdict = .failure(AccessDenied(kind: .unauthenticated, message: "the bearer token was not accepted\(why)", challenge: challenge))
            }
        } catch {
            // Not cached: the next call tries again.
            logger.warning("TokenReview failed", metadata: ["error": "\(error)"])
            throw AccessDenied(kind: .unauthenticated, message: "the bearer token could not be checked now (TokenReview failed): try again",
                               challenge: challenge)
        }
        identities.put(key, verdict)
        return try verdict.get()
    }

    public func authorize(_ caller: Caller, verb: String, resource: String, namespace: String) async throws(AccessDenied) {
        let key = [caller.username, caller.groups.joined(separator: ","), verb, resource, namespace].joined(separator: "\n")
        if let cached = decisions.get(key) {
            _ = try cached.get()
            return
        }
        let spec: JSON = [
            "user": .string(caller.username),
            "groups": .array(caller.groups.map(JSON.string)),
            "resourceAttributes": ["namespace": .string(namespace), "verb": .string(verb), "group": "mcp.io", "resource": .string(resource)],
        ]
        let verdict: Result<Bool, AccessDenied>
        do {
            let status = try await review("/apis/authorization.k8s.io/v1/subjectaccessreviews", kind: "SubjectAccessReview", spec: spec)
            if status["allowed"] == true {
                verdict = .success(true)
            } else {
                let why = status["reason"]?.string.flatMap { $0.isEmpty ? nil : ": \($0)" } ?? ""
                verdict = .failure(AccessDenied(kind: .forbidden,
                                                message: "\(caller.username) may not \(verb) \(resource).mcp.io in namespace \(namespace)\(why)"))
            }
        } catch {
            logger.warning("SubjectAccessReview failed", metadata: ["error": "\(error)"])
            throw AccessDenied(kind: .forbidden, message: "could not check whether \(caller.username) may \(verb) \(resource).mcp.io now: try again")
        }
        decisions.put(key, verdict)
        _ = try verdict.get()
    }

    /// POSTs a review and answers its status.
    private func review(_ path: String, kind: String, spec: JSON) async throws -> JSON {
        let group = path.split(separator: "/")[1]
        let body: JSON = ["apiVersion": .string("\(group)/v1"), "kind": .string(kind), "spec": spec]
        let response = try await client.perform(KubeClient.Request(method: "POST", path: path, body: body.serialized(),
                                                                   contentType: "application/json"))
        return try JSON.parse(response.body)["status"] ?? [:]
    }
}
