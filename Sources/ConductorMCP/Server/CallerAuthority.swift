/// The parts of an HTTP request authentication looks at (stdio has none: its caller is fixed at start).
public struct CredentialRequest: Sendable {
    /// The Authorization header, if any. Never logged and never passed on.
    public var authorization: String?

    public init(authorization: String?) {
        self.authorization = authorization
    }
}

/// A refusal: 401 (who are you?) or 403 (not allowed), with the message the client sees.
public struct AccessDenied: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case unauthenticated, forbidden }
    public var kind: Kind
    public var message: String
    /// For a 401: the WWW-Authenticate challenge (RFC 6750, with RFC 9728's resource_metadata).
    public var challenge: String?

    public init(kind: Kind, message: String, challenge: String? = nil) {
        self.kind = kind
        self.message = message
        self.challenge = challenge
    }

    public var description: String { message }
}

/// Authentication and authorization of MCP callers: the seam for `--mcp-auth kubernetes`, which will
/// authenticate a bearer token with a TokenReview and authorize with a SubjectAccessReview (cached briefly,
/// as kube-rbac-proxy does). The front end calls `authenticate` on every HTTP request (a session id is never
/// a credential) and `authorize` before each thing it does for the caller.
public protocol CallerAuthority: Sendable {
    func authenticate(_ request: CredentialRequest) async throws(AccessDenied) -> Caller

    /// Whether `caller` may `verb` (`create`, `get`, `list`, `patch`) `tasks.mcp.io` (or `agents.mcp.io`
    /// for `resource` "agents") in `namespace`.
    func authorize(_ caller: Caller, verb: String, resource: String, namespace: String) async throws(AccessDenied)
}

/// `--mcp-auth none`: everyone is `Caller.localAnonymous` and may do everything. Refused unless the front
/// end listens on loopback only (see `MCPConfiguration.validate`).
public struct NoAuthentication: CallerAuthority {
    public init() {}

    public func authenticate(_ request: CredentialRequest) async throws(AccessDenied) -> Caller { .localAnonymous }

    public func authorize(_ caller: Caller, verb: String, resource: String, namespace: String) async throws(AccessDenied) {}
}
