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

    var json: JSON {
        var object: JSONObject = ["code": .int(Int64(code)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }

    var description: String { "\(code) \(message)" }
}
