import KubeJSON

/// The envelope a 2026-07-28 request carries in `params._meta` instead of a session: its protocol version,
/// the client's capabilities (required) and the client's description (optional).
struct RequestMeta: Sendable, Equatable {
    static let protocolVersionKey = "io.modelcontextprotocol/protocolVersion"
    static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    static let clientInfoKey = "io.modelcontextprotocol/clientInfo"
    /// The Tasks extension's identifier, in `capabilities.extensions` of both sides.
    static let tasksExtension = "io.modelcontextprotocol/tasks"

    var protocolVersion: String
    var clientCapabilities: JSON
    var clientInfo: JSON?

    /// Whether the client declared the Tasks extension: only then may a call answer with a task.
    var declaresTasks: Bool { clientCapabilities[path: ["extensions", Self.tasksExtension]] != nil }

    /// Whether a request is of the stateless revision: its header names one, or its `_meta` carries a
    /// protocol version (the handshake revisions carry neither).
    static func isStateless(versionHeader: String?, params: JSON?) -> Bool {
        versionHeader.map(ProtocolVersion.stateless.contains) == true || params?[path: ["_meta", protocolVersionKey]] != nil
    }

    /// The envelope of `params`, checked as the revision asks: -32602 for a missing or malformed one.
    init(params: JSON?) throws(JSONRPCError) {
        guard let meta = params?["_meta"]?.object else {
            throw .invalidParams("params._meta must be an object carrying \(Self.protocolVersionKey) and \(Self.clientCapabilitiesKey)")
        }
        let missing = [Self.protocolVersionKey, Self.clientCapabilitiesKey].filter { meta[$0] == nil }
        guard missing.isEmpty else { throw .invalidParams("params._meta is missing \(missing.joined(separator: ", "))") }
        guard let version = meta[Self.protocolVersionKey]?.string else {
            throw .invalidParams("\(Self.protocolVersionKey) must be a string")
        }
        protocolVersion = version
        clientCapabilities = meta[Self.clientCapabilitiesKey] ?? [:]
        clientInfo = meta[Self.clientInfoKey]
    }
}
