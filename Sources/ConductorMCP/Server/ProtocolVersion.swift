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

    static func isSupported(_ version: String) -> Bool { supported.contains(version) }
}
