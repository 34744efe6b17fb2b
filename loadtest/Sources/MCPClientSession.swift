import Foundation
import KubeClient
import KubeJSON
import Synchronization

/// An MCP session over streamable HTTP, as much of a client as the load test needs: initialize, then requests
/// answered with JSON or with an SSE stream that carries the response. It rides the project's libcurl transport
/// (its own thread, connections reused), so that the harness spends little of the machine it measures.
final class MCPClientSession: Sendable {
    static let protocolVersion = "2025-11-25"

    private let transport: CurlTransport
    private let url: String
    private let token: String?
    private let sessionID: String
    private let nextID = Atomic<Int>(1)

    private init(transport: CurlTransport, url: String, token: String?, sessionID: String) {
        self.transport = transport
        self.url = url
        self.token = token
        self.sessionID = sessionID
    }

    /// Initializes a session and sends `notifications/initialized`.
    static func open(transport: CurlTransport, url: String, token: String?) async throws -> MCPClientSession {
        let initialize: JSON = [
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": ["protocolVersion": .string(protocolVersion), "capabilities": [:],
                       "clientInfo": ["name": "loadtest", "version": "1"]],
        ]
        let response = try await transport.send(request(url: url, token: token, sessionID: nil, body: initialize))
        guard response.status == 200, let sessionID = response.head.header("MCP-Session-Id") else {
            throw MCPLoadError(operation: "initialize", status: response.status, message: String(decoding: response.body, as: UTF8.self))
        }
        _ = try answer(of: response, id: 0, operation: "initialize")
        let session = MCPClientSession(transport: transport, url: url, token: token, sessionID: sessionID)
        let initialized = try await transport.send(request(url: url, token: token, sessionID: sessionID,
                                                           body: ["jsonrpc": "2.0", "method": "notifications/initialized"]))
        guard initialized.status == 202 else {
            throw MCPLoadError(operation: "notifications/initialized", status: initialized.status, message: String(decoding: initialized.body, as: UTF8.self))
        }
        return session
    }

    /// Sends one request and returns its `result`; a JSON-RPC error throws.
    func request(_ method: String, _ params: JSON) async throws -> JSON {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let body: JSON = ["jsonrpc": "2.0", "id": .int(Int64(id)), "method": .string(method), "params": params]
        let response = try await transport.send(Self.request(url: url, token: token, sessionID: sessionID, body: body))
        guard response.status == 200 else {
            throw MCPLoadError(operation: method, status: response.status, message: String(decoding: response.body, as: UTF8.self))
        }
        return try Self.answer(of: response, id: id, operation: method)
    }

    /// Ends the session (DELETE), as a polite client does.
    func close() async {
        var request = Self.request(url: url, token: token, sessionID: sessionID, body: nil)
        request.method = "DELETE"
        _ = try? await transport.send(request)
    }

    private static func request(url: String, token: String?, sessionID: String?, body: JSON?) -> TransportRequest {
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", protocolVersion),
        ]
        if let sessionID { headers.append(("MCP-Session-Id", sessionID)) }
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        return TransportRequest(method: "POST", url: url, headers: headers, body: body?.serialized())
    }

    /// The `result` of the response to request `id`: the body itself (JSON) or the event of an SSE stream that
    /// carries it (notifications before it are skipped).
    private static func answer(of response: TransportResponse, id: Int, operation: String) throws -> JSON {
        let messages: [JSON]
        if response.head.header("Content-Type")?.hasPrefix("text/event-stream") == true {
            let text = String(decoding: response.body, as: UTF8.self)
            messages = try text.split(separator: "\n", omittingEmptySubsequences: true)
                .filter { $0.hasPrefix("data:") }
                .compactMap { line in
                    let data = line.dropFirst(5).drop(while: { $0 == " " })
                    return data.isEmpty ? nil : try JSON.parse(String(data))
                }
        } else {
            messages = [try JSON.parse(response.body)]
        }
        guard let message = messages.first(where: { $0["id"]?.int == Int64(id) }) else {
            throw MCPLoadError(operation: operation, status: response.status, message: "no response with id \(id) in the answer")
        }
        if let error = message["error"] {
            throw MCPLoadError(operation: operation, status: response.status, message: error["message"]?.string ?? error.text)
        }
        return message["result"] ?? .null
    }
}

struct MCPLoadError: Error, CustomStringConvertible {
    var operation: String
    var status: Int
    var message: String
    var description: String { "MCP \(operation): HTTP \(status): \(message)" }
}
