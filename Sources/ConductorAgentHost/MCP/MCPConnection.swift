import KubeJSON

/// What a call's progress notifications are given to.
typealias MCPProgressSink = @Sendable (_ progress: Double, _ total: Double?, _ message: String?) -> Void

/// A JSON-RPC connection to a downstream MCP server, over stdio (`MCPStdioConnection`) or streamable HTTP
/// (`MCPHTTPConnection`).
protocol MCPConnection: Actor {
    /// Sends a request and waits for its result; the call's progress notifications go to `sink`. Cancelled,
    /// it tells the server (`notifications/cancelled`) and throws `CancellationError`.
    func request(_ method: String, _ params: JSON, progress sink: MCPProgressSink?, progressToken: String?) async throws -> JSON
    func notify(_ method: String, _ params: JSON) async
    /// `onNotification` hears the server's notifications other than a call's progress; `onClose`, once, that
    /// the connection is gone (the process exited, the HTTP session expired).
    func setHandlers(onNotification: @escaping @Sendable (String, JSON) -> Void, onClose: @escaping @Sendable (MCPCallError) -> Void)
    /// Ends the connection (and the server's process, for stdio).
    nonisolated func terminate(grace: Duration)
}

extension MCPConnection {
    func request(_ method: String, _ params: JSON) async throws -> JSON {
        try await request(method, params, progress: nil, progressToken: nil)
    }

    func notify(_ method: String) async {
        await notify(method, .object([:]))
    }
}

/// The JSON-RPC messages both transports read.
enum MCPMessage {
    /// A progress token as the server echoes it (a string, or a number).
    static func token(_ value: JSON?) -> String? {
        switch value {
        case .string(let text): text
        case .int(let number): "\(number)"
        default: nil
        }
    }

    /// The `notifications/progress` figures: progress, total, message.
    static func progress(_ params: JSON) -> (Double, Double?, String?)? {
        guard let current = params["progress"]?.double ?? params["progress"]?.int.map(Double.init) else { return nil }
        return (current, params["total"]?.double ?? params["total"]?.int.map(Double.init), params["message"]?.string)
    }

    /// The answer to a request the server sent us: ping is answered, anything else is not supported.
    static func answer(toRequest method: String, id: JSON) -> JSON {
        if method == "ping" { return ["jsonrpc": "2.0", "id": id, "result": .object([:])] }
        return ["jsonrpc": "2.0", "id": id, "error": ["code": -32601, "message": .string("\(method) is not supported by conductor agent")]]
    }
}
