import KubeJSON

/// What the server remembers about a session: all of it travels in the session id, signed, so that any
/// replica answers any session and a restart loses none (no sticky sessions behind a Service).
struct SessionClaims: Sendable, Hashable {
    /// Random, so that ids are unguessable and two sessions of one caller differ; keys the calls in flight.
    var nonce: String
    /// The negotiated MCP revision.
    var protocolVersion: String
    /// The authenticated user the session was opened for: a session id is not a credential, and another
    /// caller presenting it is refused (the specification's advice against session hijacking).
    var caller: String
    /// When it was opened, in seconds since 1970.
    var issuedAt: Int64

    var json: JSON {
        ["n": .string(nonce), "v": .string(protocolVersion), "c": .string(caller), "t": .int(issuedAt)]
    }

    init(nonce: String, protocolVersion: String, caller: String, issuedAt: Int64) {
        self.nonce = nonce
        self.protocolVersion = protocolVersion
        self.caller = caller
        self.issuedAt = issuedAt
    }

    init?(json: JSON) {
        guard let nonce = json["n"]?.string, let version = json["v"]?.string, let caller = json["c"]?.string,
              let issuedAt = json["t"]?.int else { return nil }
        self.init(nonce: nonce, protocolVersion: version, caller: caller, issuedAt: issuedAt)
    }
}
