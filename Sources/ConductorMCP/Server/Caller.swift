/// Who makes a call, as the authenticator established it. Tasks carry the username in an annotation, and
/// idempotency keys and sessions are scoped to it.
public struct Caller: Sendable, Hashable {
    public var username: String
    public var groups: [String]

    public init(username: String, groups: [String] = []) {
        self.username = username
        self.groups = groups
    }

    /// The caller on a loopback front end without authentication (`--mcp-auth none`).
    public static let localAnonymous = Caller(username: "system:anonymous", groups: ["system:unauthenticated"])
}
