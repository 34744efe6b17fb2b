import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KubeJSON
import Logging

/// JSON-RPC to an MCP server over streamable HTTP: each message is a POST; a request's answer is a JSON
/// body or a stream of server-sent events carrying the call's progress notifications and then its response.
/// The session id the server gives at `initialize` (`Mcp-Session-Id`) and the negotiated protocol version go
/// with every later request; a 404 for the session means it expired, which closes this connection (the
/// session then starts a new one). Server notifications that belong to no call (`tools/list_changed`) come
/// on a GET stream, kept open while the connection lives. Cancelling a call aborts its POST and sends
/// `notifications/cancelled`.
actor MCPHTTPConnection: MCPConnection {
    let server: String
    private let url: URL
    private let headers: [String: String]
    private let sessionConfiguration: URLSessionConfiguration
    private let logger: Logger
    private var sessionID: String?
    private var protocolVersion: String?
    private var nextID: Int64 = 1
    private var closedBecause: MCPCallError?
    private var onNotification: @Sendable (String, JSON) -> Void = { _, _ in }
    private var onClose: @Sendable (MCPCallError) -> Void = { _ in }
    private var listener: Task<Void, Never>?

    init(server: String, url: URL, headers: [String: String], logger: Logger) {
        self.server = server
        self.url = url
        self.headers = headers
        self.logger = logger
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 24 * 3600  // a call lasts as long as its task; deadlines bound it
        configuration.timeoutIntervalForResource = 7 * 24 * 3600
        sessionConfiguration = configuration
    }

    func setHandlers(onNotification: @escaping @Sendable (String, JSON) -> Void, onClose: @escaping @Sendable (MCPCallError) -> Void) {
        self.onNotification = onNotification
        self.onClose = onClose
        if let closedBecause { onClose(closedBecause) }
        if listener == nil, closedBecause == nil { listener = Task { await self.listen() } }
    }

    nonisolated func terminate(grace: Duration) {
        Task { await self.end() }
    }

    func request(_ method: String, _ params: JSON, progress sink: MCPProgressSink?, progressToken: String?) async throws -> JSON {
        if let closedBecause { throw closedBecause }
        let id = nextID
        nextID += 1
        let opened: HTTPStream.Opened
        do {
            opened = try await HTTPStream.open(post(["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]),
                                               configuration: sessionConfiguration)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw MCPCallError.unreachable(server: server, detail: "\(method): \(error.localizedDescription)")
        }
        if method == "initialize" { sessionID = opened.response.value(forHTTPHeaderField: "Mcp-Session-Id") }
        try await check(opened, method: method)
        do {
            let result = try await withTaskCancellationHandler {
                try await read(opened, answering: id, method: method, sink: sink, progressToken: progressToken)
            } onCancel: {
                opened.cancel()
            }
            if method == "initialize" { protocolVersion = result["protocolVersion"]?.string }
            return result
        } catch {
            if Task.isCancelled {
                // From a task of its own: this one is cancelled, and so would be its request.
                Task { await self.notify("notifications/cancelled", ["requestId": .int(id), "reason": "the task was cancelled or taken from the agent"]) }
                throw CancellationError()
            }
            throw error
        }
    }

    func notify(_ method: String, _ params: JSON) async {
        do {
            let opened = try await HTTPStream.open(post(["jsonrpc": "2.0", "method": .string(method), "params": params]),
                                                   configuration: sessionConfiguration)
            opened.cancel()  // 202, no body
        } catch {
            logger.debug("notification not sent", metadata: ["method": "\(method)", "error": "\(error)"])
        }
    }

    // MARK: Requests and answers

    private func post(_ message: JSON) -> URLRequest {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(message.serialized())
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json, text/event-stream", forHTTPHeaderField: "Accept")
        addSessionHeaders(&request)
        return request
    }

    private func addSessionHeaders(_ request: inout URLRequest) {
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let sessionID { request.setValue(sessionID, forHTTPHeaderField: "Mcp-Session-Id") }
        if let protocolVersion { request.setValue(protocolVersion, forHTTPHeaderField: "MCP-Protocol-Version") }
    }

    /// Throws for an answer other than 2xx; a 404 for our session closes the connection.
    private func check(_ opened: HTTPStream.Opened, method: String) async throws {
        let status = opened.response.statusCode
        guard !(200..<300).contains(status) else { return }
        var body = Data()
        do {
            for try await chunk in opened.body where body.count < 1024 { body.append(chunk) }
        } catch {}
        let excerpt = String(decoding: body.prefix(1024), as: UTF8.self)
        let error = MCPCallError.unreachable(server: server, detail: "\(method) answered HTTP \(status): \(excerpt)")
        if status == 404, sessionID != nil { closed(error) }
        throw error
    }

    /// Reads the answer to request `id`: a JSON body, or events until its response.
    private func read(_ opened: HTTPStream.Opened, answering id: Int64, method: String, sink: MCPProgressSink?,
                      progressToken: String?) async throws -> JSON {
        let isStream = opened.response.value(forHTTPHeaderField: "Content-Type")?.contains("text/event-stream") ?? false
        var events = ServerSentEvents(maximumLineBytes: MCPStdioConnection.maximumMessageBytes)
        var body = Data()
        for try await chunk in opened.body {
            if isStream {
                for event in events.feed(chunk) {
                    if let result = try handle(event, answering: id, method: method, sink: sink, progressToken: progressToken) {
                        opened.cancel()
                        return result
                    }
                }
            } else {
                guard body.count + chunk.count <= MCPStdioConnection.maximumMessageBytes else {
                    opened.cancel()
                    throw MCPCallError.unreachable(server: server, detail: "\(method): the answer is above \(MCPStdioConnection.maximumMessageBytes) bytes")
                }
                body.append(chunk)
            }
        }
        if !isStream, let result = try handle(String(decoding: body, as: UTF8.self), answering: id, method: method, sink: nil, progressToken: nil) {
            return result
        }
        throw MCPCallError.unreachable(server: server, detail: "\(method): the answer ended without a response")
    }

    /// One message from the server: the result when it is the response to `id`; otherwise it is handled
    /// (progress, notifications, requests) and nil is returned.
    private func handle(_ text: String, answering id: Int64?, method: String, sink: MCPProgressSink?,
                        progressToken: String?) throws -> JSON? {
        guard let message = try? JSON.parse(text), case .object(let object) = message else { return nil }
        if let incoming = object["method"]?.string {
            let params = object["params"] ?? .object([:])
            if let requestID = object["id"] {
                let answer = MCPMessage.answer(toRequest: incoming, id: requestID)
                Task { try? await self.send(answer) }
            } else if incoming == "notifications/progress", let progressToken, let sink,
                      MCPMessage.token(params["progressToken"]) == progressToken, let (current, total, text) = MCPMessage.progress(params) {
                sink(current, total, text)
            } else {
                onNotification(incoming, params)
            }
            return nil
        }
        guard let id, object["id"]?.int == id else { return nil }
        if let error = object["error"] {
            throw MCPCallError.rpcError(server: server, method: method, code: error["code"]?.int ?? 0, message: error["message"]?.string ?? "\(error)")
        }
        return object["result"] ?? .object([:])
    }

    /// Posts a message whose answer does not matter (a response to the server's request).
    private func send(_ message: JSON) async throws {
        let opened = try await HTTPStream.open(post(message), configuration: sessionConfiguration)
        opened.cancel()
    }

    // MARK: The GET stream and the end

    /// Keeps a GET stream open for the server's notifications (it may answer 405: it has none to send).
    private func listen() async {
        var delay: Duration = .seconds(1)
        while !Task.isCancelled, closedBecause == nil {
            var request = URLRequest(url: url)
            request.httpMethod = "GET"
            request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
            addSessionHeaders(&request)
            do {
                let opened = try await HTTPStream.open(request, configuration: sessionConfiguration)
                let status = opened.response.statusCode
                if status == 405 {
                    opened.cancel()
                    return
                }
                if status == 404, sessionID != nil {
                    opened.cancel()
                    closed(.unreachable(server: server, detail: "the session expired (404)"))
                    return
                }
                if (200..<300).contains(status) {
                    delay = .seconds(1)
                    var events = ServerSentEvents(maximumLineBytes: MCPStdioConnection.maximumMessageBytes)
                    for try await chunk in opened.body {
                        for event in events.feed(chunk) { _ = try? handle(event, answering: nil, method: "GET", sink: nil, progressToken: nil) }
                    }
                } else {
                    opened.cancel()
                }
            } catch {
                if Task.isCancelled { return }
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }

    private func end() async {
        listener?.cancel()
        guard closedBecause == nil else { return }
        closedBecause = .notRunning(server: server)
        if sessionID != nil {
            var request = URLRequest(url: url)
            request.httpMethod = "DELETE"
            addSessionHeaders(&request)
            (try? await HTTPStream.open(request, configuration: sessionConfiguration))?.cancel()
        }
    }

    private func closed(_ error: MCPCallError) {
        guard closedBecause == nil else { return }
        closedBecause = error
        listener?.cancel()
        onClose(error)
    }
}
