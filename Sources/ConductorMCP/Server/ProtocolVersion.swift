/// The MCP revisions this server speaks, newest first. 2025-11-25 is the one implemented; the two before
/// it differ in nothing this server sends (structured output came with 2025-06-18; a 2025-03-26 client
/// ignores `structuredContent` and reads the text block).
enum ProtocolVersion {
    static let supported = ["2025-11-25", "2025-06-18", "2025-03-26"]
    static let latest = supported[0]
    /// What the transport assumes when a request carries no MCP-Protocol-Version (the specification's rule).
    static let assumedWithoutHeader = "2025-03-26"

    /// The client's revision when supported, else the newest: the client then decides whether to go on.
    static func negotiate(_ requested: String?) -> String {
        guard let requested, supported.contains(requested) else { return latest }
        return requested
    }

    static func isSupported(_ version: String) -> Bool { supported.contains(version) || stateless.contains(version) }

    /// The stateless revisions: no initialize and no session, the version and client capabilities in every
    /// request's `_meta` (`RequestMeta`). Chosen per request, beside the handshake revisions.
    static let stateless = ["2026-07-28"]

    /// Every revision served, newest first: what an unsupported version's error lists.
    static let all = stateless + supported

    /// Whether a session of `version` has 2025-11-25 Tasks (the `tasks` capability, `execution`, `tasks/*`):
    /// older revisions do not know them, and their `task` parameter is ignored as the specification asks.
    static func hasTasks(_ version: String) -> Bool { supported.contains(version) && version >= "2025-11-25" }
}
