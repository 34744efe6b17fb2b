import KubeJSON

/// A JSON-RPC error object, with the codes the JSON-RPC 2.0 specification reserves. Every constructor takes
/// the detail a client needs to see what was wrong, not only the code's generic name.
struct JSONRPCError: Error, Sendable, Equatable, CustomStringConvertible {
    var code: Int
    var message: String
    var data: JSON?

    static func parseError(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32700, message: "Parse error: \(detail)")
    }

    static func invalidRequest(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32600, message: "Invalid request: \(detail)")
    }

    static func methodNotFound(_ method: String) -> JSONRPCError {
        JSONRPCError(code: -32601, message: "Method not found: \(method)")
    }

    static func invalidParams(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32602, message: "Invalid params: \(detail)")
    }

    static func internalError(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32603, message: "Internal error: \(detail)")
    }

    /// Not a reserved JSON-RPC code: LSP's RequestCancelled, for a JSON answer that must still say something
    /// after the client cancelled (an SSE answer just ends without one, as MCP asks).
    static func requestCancelled(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32800, message: "Request cancelled: \(detail)")
    }

    // MARK: Tasks (2025-11-25): the specification's codes, with the wording of its examples

    /// An unknown task, or another caller's: both are "not found", so that ids reveal nothing.
    static let taskNotFound = JSONRPCError(code: -32602, message: "Failed to retrieve task: Task not found")

    static let taskExpired = JSONRPCError(code: -32602, message: "Failed to retrieve task: Task has expired")

    static func taskAlreadyTerminal(_ status: String) -> JSONRPCError {
        JSONRPCError(code: -32602, message: "Cannot cancel task: already in terminal status '\(status)'")
    }

    /// A task-augmented call of a tool whose `execution.taskSupport` is forbidden (-32601, as the specification asks).
    static func taskNotSupported(_ tool: String) -> JSONRPCError {
        JSONRPCError(code: -32601, message: "Method not found: \(tool) does not support task-augmented calls (execution.taskSupport is forbidden): call it without task")
    }

    /// A task-augmented call beyond the caller's limit of working tasks.
    static func tooManyTasks(_ limit: Int) -> JSONRPCError {
        JSONRPCError(code: -32600, message: "Invalid request: this caller has \(limit) tasks working, the most allowed (--mcp-max-tasks-per-caller): wait for some to end, or cancel them, then call again")
    }

    /// Refused by the caller's authorization where the answer can only be a JSON-RPC error (a tasks/* request).
    static func notAllowed(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32600, message: "Not allowed: \(detail)")
    }

    // MARK: 2026-07-28

    /// An HTTP header that disagrees with the body (MCP-Protocol-Version, Mcp-Method, Mcp-Name).
    static func headerMismatch(_ detail: String) -> JSONRPCError {
        JSONRPCError(code: -32020, message: "Header mismatch: \(detail)")
    }

    /// A method that needs a client capability the request's `_meta` did not declare.
    static func missingClientCapability(_ capabilities: JSON, detail: String) -> JSONRPCError {
        JSONRPCError(code: -32021, message: "Missing required client capability: \(detail)",
                     data: ["requiredCapabilities": capabilities])
    }

    static func unsupportedProtocolVersion(_ requested: String) -> JSONRPCError {
        JSONRPCError(code: -32022, message: "Unsupported protocol version: \(requested)",
                     data: ["supported": .array(ProtocolVersion.all.map(JSON.string)), "requested": .string(requested)])
    }

    /// The HTTP status a 2026-07-28 error is answered with (the revision's table): malformed requests 400,
    /// unknown methods 404, anything else 200.
    var statelessHTTPStatus: Int { Self.statelessHTTPStatus(code: code) }

    static func statelessHTTPStatus(code: Int) -> Int {
        switch code {
        case -32700, -32600, -32602, -32020, -32021, -32022: 400
        case -32601: 404
        default: 200
        }
    }

    var json: JSON {
        var object: JSONObject = ["code": .int(Int64(code)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }

    var description: String { "\(code) \(message)" }
}
