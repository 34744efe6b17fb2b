import KubeJSON

/// One JSON-RPC 2.0 message as MCP carries it: one object per HTTP body or stdio line (no batches since
/// 2025-06-18).
enum JSONRPCMessage: Sendable, Equatable {
    case request(id: JSONRPCID, method: String, params: JSON?)
    case notification(method: String, params: JSON?)
    /// A client's answer to a server request. This server sends none, so these are accepted and dropped.
    case response(id: JSONRPCID?)

    /// Parses and checks the envelope; the params are checked by the method's handler.
    static func parse(_ bytes: some Collection<UInt8>) throws(JSONRPCError) -> JSONRPCMessage {
        let value: JSON
        do {
            value = try JSON.parse(bytes)
        } catch {
            throw .parseError(error.message)
        }
        return try interpret(value)
    }

    static func interpret(_ value: JSON) throws(JSONRPCError) -> JSONRPCMessage {
        guard case .object(let object) = value else {
            if case .array = value {
                throw .invalidRequest("a message is one JSON object; batches (arrays) are not part of MCP since 2025-06-18")
            }
            throw .invalidRequest("a message is a JSON object, not \(value.typeName)")
        }
        guard object["jsonrpc"] == .string("2.0") else { throw .invalidRequest("\"jsonrpc\" must be \"2.0\"") }
        let params = object["params"]
        if let params, params.object == nil, params.array == nil {
            throw .invalidRequest("\"params\" must be an object or an array, not \(params.typeName)")
        }
        let id: JSONRPCID?
        if let rawID = object["id"] {
            guard let parsed = JSONRPCID(rawID) else {
                throw .invalidRequest("\"id\" must be a string or an integer, not \(rawID.typeName)")
            }
            id = parsed
        } else {
            id = nil
        }
        if let method = object["method"] {
            guard let name = method.string, !name.isEmpty else { throw .invalidRequest("\"method\" must be a non-empty string") }
            if let id { return .request(id: id, method: name, params: params) }
            return .notification(method: name, params: params)
        }
        if object["result"] != nil || object["error"] != nil {
            return .response(id: id)
        }
        throw .invalidRequest("a message needs \"method\" (a request or notification) or \"result\"/\"error\" (a response)")
    }

    /// A successful answer.
    static func result(id: JSONRPCID, _ result: JSON) -> JSON {
        ["jsonrpc": "2.0", "id": id.json, "result": result]
    }

    /// An error answer; `id` is nil when the request's id could not be read.
    static func error(id: JSONRPCID?, _ error: JSONRPCError) -> JSON {
        ["jsonrpc": "2.0", "id": id?.json ?? .null, "error": error.json]
    }

    static func notification(_ method: String, _ params: JSON) -> JSON {
        ["jsonrpc": "2.0", "method": .string(method), "params": params]
    }
}
