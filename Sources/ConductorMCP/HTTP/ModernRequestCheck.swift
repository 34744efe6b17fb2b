import HTTPTypes
import KubeJSON

/// The checks a 2026-07-28 POST passes before its method runs, in the revision's order (the first failure
/// answers): the `_meta` envelope, then the headers against the body (MCP-Protocol-Version, Mcp-Method, and
/// Mcp-Name for the methods that name something), then the version itself.
enum ModernRequestCheck {
    static let methodHeader = HTTPField.Name("Mcp-Method")!
    static let nameHeader = HTTPField.Name("Mcp-Name")!

    /// The body parameter each name-bearing method's Mcp-Name mirrors.
    static let namedParameters = ["tools/call": "name", "tasks/get": "taskId", "tasks/update": "taskId", "tasks/cancel": "taskId"]
    /// Methods whose Mcp-Name is required (the core revision's); the tasks extension's are checked when sent.
    static let nameRequired: Set<String> = ["tools/call"]

    static func check(method: String, params: JSON?, headers: HTTPFields) throws(JSONRPCError) -> RequestMeta {
        let meta = try RequestMeta(params: params)
        guard let versionHeader = headers[MCPHTTPEndpoint.versionHeader], versionHeader == meta.protocolVersion else {
            throw .headerMismatch("MCP-Protocol-Version must be sent and equal \(RequestMeta.protocolVersionKey) (\(meta.protocolVersion))")
        }
        guard let methodHeader = headers[methodHeader], methodHeader == method else {
            throw .headerMismatch("Mcp-Method must be sent and equal the body's method (\(method))")
        }
        if let parameter = namedParameters[method], let value = params?[parameter]?.string {
            let name = headers[nameHeader].map(HeaderValue.decoded)
            if name == nil, !nameRequired.contains(method) { return try supported(meta) }
            guard name == value else { throw .headerMismatch("Mcp-Name must be sent and equal the body's \(parameter) (\(value))") }
        }
        return try supported(meta)
    }

    private static func supported(_ meta: RequestMeta) throws(JSONRPCError) -> RequestMeta {
        guard ProtocolVersion.stateless.contains(meta.protocolVersion) else { throw .unsupportedProtocolVersion(meta.protocolVersion) }
        return meta
    }
}
