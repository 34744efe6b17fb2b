import ConductorAPI
import Foundation
import HTTPTypes
import Hummingbird
import KubeJSON
import Logging

/// Streamable HTTP at `/mcp`, MCP 2025-11-25 here (2026-07-28 requests: `MCPHTTPEndpoint+Stateless.swift`):
/// POST carries one client message, answered with JSON, or with
/// SSE when the call will send notifications (a tools/call with a progress token), which then go on the
/// call's own stream before its answer; GET opens the stream of server notifications (tools/list_changed);
/// DELETE ends the session. Every request is checked in the same order: Origin (403), credentials (401/403),
/// MCP-Protocol-Version (400), then what the method needs.
struct MCPHTTPEndpoint: Sendable {
    static let path = "/mcp"
    static let sessionHeader = HTTPField.Name("MCP-Session-Id")!
    static let versionHeader = HTTPField.Name("MCP-Protocol-Version")!
    static let lastEventIDHeader = HTTPField.Name("Last-Event-ID")!

    let server: MCPServer
    let signer: SessionSigner
    let ended: EndedSessions
    let origins: OriginPolicy
    let stopping: Signal
    let logger: Logger
    /// Between keep-alive comments on a GET stream.
    var keepAliveInterval: Duration = .seconds(25)

    func register(on router: Router<ConnectionRequestContext>) {
        router.post(RouterPath(Self.path)) { request, context in await self.post(request, clientLeft: context.clientLeft) }
        router.get(RouterPath(Self.path)) { request, context in await self.get(request, clientLeft: context.clientLeft) }
        router.delete(RouterPath(Self.path)) { request, _ in await self.delete(request) }
    }

    // MARK: POST

    /// A POST. `RequestResponder` writes the answer from a task of its own; a call that waits for its task
    /// answers with a body that registers the wait and writes the answer when it ends (`json(whenReady:)`,
    /// `stream`), so that nothing parks in the router meanwhile. `clientLeft` (the connection's, for this request)
    /// ends such a wait when its client goes away.
    func post(_ request: Request, clientLeft: Signal?) async -> Response {
        let caller: Caller
        switch await admit(request) {
        case .refused(let response): return response
        case .admitted(let admitted): caller = admitted
        }
        let accept = request.headers[values: .accept].joined(separator: ",").lowercased()
        guard accept.contains("application/json") || accept.contains("*/*"), accept.contains("text/event-stream") || accept.contains("*/*") else {
            return Self.refusal(.notAcceptable, .invalidRequest("Accept must list both application/json and text/event-stream"))
        }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            return Self.refusal(.unsupportedMediaType, .invalidRequest("Content-Type must be application/json"))
        }
        let limit = MCPConfiguration.maximumBodyBytes
        let tooLarge = JSONRPCError.invalidRequest(
            "the request body is over \(limit) bytes: a tool call's arguments become a Task's spec.payload, which is capped at "
                + "\(Limits.payloadCap) (Limits.maximumPayloadBytes); pass large data by reference (a URL) instead")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            return Self.refusal(.contentTooLarge, tooLarge)
        }
        var body = request
        let bytes: ByteBuffer
        do {
            bytes = try await body.collectBody(upTo: limit)
        } catch {
            return Self.refusal(.contentTooLarge, tooLarge)
        }
        let message: JSONRPCMessage
        do {
            message = try JSONRPCMessage.parse(bytes.readableBytesView)
        } catch {
            return Self.refusal(.badRequest, error)
        }
        if case .request(let id, "initialize", let params) = message {
            return initialize(id: id, params: params, caller: caller)
        }
        if case .request(let id, let method, let params) = message,
           RequestMeta.isStateless(versionHeader: request.headers[Self.versionHeader], params: params) {
            return await stateless(id: id, method: method, params: params, headers: request.headers, caller: caller,
                                   clientLeft: clientLeft)
        }
        if case .notification(_, let params) = message,
           RequestMeta.isStateless(versionHeader: request.headers[Self.versionHeader], params: params) {
            // 2026-07-28 has no notification a client sends this server: closing a stream is its cancellation.
            return Response(status: .accepted)
        }
        let session: SessionClaims
        switch checkedSession(of: request, caller: caller) {
        case .refused(let response): return response
        case .admitted(let claims): session = claims
        }
        switch message {
        case .notification(let method, let params):
            await server.handle(notification: method, params: params, context: RequestContext(session: session, caller: caller, sink: nil))
            return Response(status: .accepted)
        case .response:
            return Response(status: .accepted)
        case .request(let id, let method, let params):
            if MCPServer.streamsNotifications(method: method, params: params) {
                let server = self.server
                return stream(streamID: server.streamID(for: id, method: method, params: params, session: session, caller: caller),
                              session: session, caller: caller, cancelOnDisconnect: nil, clientLeft: clientLeft) { context in
                    await server.reply(to: id, method: method, params: params, context: context)
                }
            }
            let context = RequestContext(session: session, caller: caller, sink: nil, readerLeft: clientLeft)
            // Made only if needed: a waiting call keeps this closure, not the message.
            let cancelled: @Sendable () -> JSON = {
                JSONRPCMessage.error(id: id, .requestCancelled("the client cancelled it; its task was asked to cancel"))
            }
            let reply = await server.reply(to: id, method: method, params: params, context: context)
            if case .now(let answer) = reply { return Self.json(answer ?? cancelled(), status: 200) }
            return Self.json(whenReady: reply, cancelled: cancelled, clientLeft: clientLeft)
        }
    }

    private func initialize(id: JSONRPCID, params: JSON?, caller: Caller) -> Response {
        do {
            let (result, version) = try server.initialize(params)
            let claims = SessionClaims(nonce: Base64URL.encode([UInt8].random(count: 16)), protocolVersion: version, caller: caller.username,
                                       issuedAt: Int64(Date().timeIntervalSince1970))
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[Self.sessionHeader] = signer.issue(claims)
            return Response(status: .ok, headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONRPCMessage.result(id: id, result).serialized())))
        } catch {
            return Self.json(JSONRPCMessage.error(id: id, error), status: 200)
        }
    }

    /// The answer as SSE: priming event, the call's notifications, its answer, end; keep-alive comments
    /// between them, so that proxies and clients do not take a long wait (tasks/result) for a dead stream. A
    /// client that goes away (it closes the connection, `clientLeft`, or a write fails: at the latest the next
    /// keep-alive's) ends the call's wait; the task goes on (a dropped connection is not a cancellation), except
    /// for the call `cancelOnDisconnect` names (2026-07-28, where closing the stream is the cancellation): that
    /// call is cancelled, its task too. `primedAt`: where a resumed stream's numbering goes on.
    ///
    /// Written from callbacks (`EventStream`): a call that waits for its task holds no Swift task meanwhile, only
    /// its connection, its wait's registrations and its progress relay (Tests/e2e/measure_mcp_waits.py --stream).
    func stream(streamID: String, session: SessionClaims, caller: Caller, cancelOnDisconnect: String?, clientLeft: Signal?,
                primedAt first: Int = 0, handler: @escaping @Sendable (RequestContext) async -> Reply) -> Response {
        let server = self.server
        let keepAlive = keepAliveInterval
        let body = ResponseBody { writer in
            let readerLeft = Signal()
            if let cancelOnDisconnect { readerLeft.onFire { _ = server.inFlight.cancel(cancelOnDisconnect) } }
            clientLeft?.onFire { readerLeft.fire() }
            let answer = { @Sendable (output: any EventStreamOutput) async in
                let events = EventStream(id: streamID, output: output, keepAlive: keepAlive, timers: server.waiter.timers,
                                         primedAt: first)
                let sink = NotificationSink({ events.send($0) }, sendsRegularly: { if $0 <= keepAlive { events.stopKeepAlives() } })
                let context = RequestContext(session: session, caller: caller, sink: sink,
                                             readerLeft: cancelOnDisconnect == nil ? readerLeft : nil)
                // The deep first step in a task of its own: a burst of SSE calls left less memory resident this way than
                // with it run in the writing task (loadtest/README.md, fourth session).
                let reply = await inOwnTask { await handler(context) }
                // A client that left before the call registered: its cancellation is repeated now that it has.
                if readerLeft.hasFired, let cancelOnDisconnect { _ = server.inFlight.cancel(cancelOnDisconnect) }
                switch reply {
                case .now(let answer): events.finish(answer)
                case .whenReady(let register): await register { events.finish($0) }
                }
            }
            if let late = (writer as? ChannelResponseWriter)?.streamLater(failed: { readerLeft.fire() }) {
                await answer(late)
                return
            }
            // Another writer is written by this task, which waits for the stream's end.
            let (texts, output) = AsyncStream.makeStream(of: String.self)
            async let answered: Void = answer(output)
            do {
                for await text in texts { try await writer.write(ByteBuffer(string: text)) }
            } catch {
                readerLeft.fire()
                await answered
                throw error
            }
            await answered
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvent.headers, body: body)
    }

    // MARK: GET

    func get(_ request: Request, clientLeft: Signal?) async -> Response {
        let caller: Caller
        switch await admit(request) {
        case .refused(let response): return response
        case .admitted(let admitted): caller = admitted
        }
        guard request.headers[values: .accept].joined(separator: ",").lowercased().contains("text/event-stream") else {
            return Self.refusal(.notAcceptable, .invalidRequest("the GET stream needs Accept: text/event-stream"))
        }
        let session: SessionClaims
        switch checkedSession(of: request, caller: caller) {
        case .refused(let response): return response
        case .admitted(let claims): session = claims
        }
        if let last = request.headers[Self.lastEventIDHeader] {
            if let (token, sequence) = ResumeToken.parse(lastEventID: last) {
                return await resume(token, after: sequence, session: session, caller: caller, clientLeft: clientLeft)
            }
            if last.hasPrefix("r") {
                return Self.refusal(.notFound, .invalidRequest("the stream \(last) cannot be resumed: send the request again"))
            }
        }
        // Resuming the GET stream: nothing is kept to replay, so the client gets what happens from now on.
        let streamID = "g" + Base64URL.encode([UInt8].random(count: 6))
        let changes = server.catalog.changes()
        // The status of the tasks this session created, for revisions that have tasks.
        let taskVersions = ProtocolVersion.hasTasks(session.protocolVersion) ? server.waiter.hub.versions(ofSession: session.nonce) : nil
        let pollInterval = server.configuration.taskPollInterval.milliseconds
        let stopping = self.stopping
        let keepAlive = keepAliveInterval
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: ServerSentEvent.priming(stream: streamID)))
            // nil: a keep-alive comment.
            let (events, feed) = AsyncStream.makeStream(of: JSON?.self)
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    for await _ in changes {
                        feed.yield(JSONRPCMessage.notification("notifications/tools/list_changed", [:]))
                    }
                    feed.finish()
                }
                if let taskVersions {
                    group.addTask {
                        var statuses = TaskStatusFeed(pollInterval: pollInterval)
                        for await version in taskVersions {
                            if let notification = statuses.notification(for: version) { feed.yield(notification) }
                        }
                    }
                }
                group.addTask { await ServerSentEvent.keepAlives(every: keepAlive, into: feed) }
                group.addTask {
                    await stopping.wait()
                    feed.finish()
                }
                if let clientLeft {
                    // Its tasks end with its client, not at the next keep-alive that fails.
                    group.addTask {
                        await clientLeft.wait()
                        feed.finish()
                    }
                }
                try await ServerSentEvent.write(events, stream: streamID, after: 0, to: &writer)
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvent.headers, body: body)
    }

    /// A tools/call's answer on a new stream after its first broke (`Last-Event-ID`): the call's task is awaited
    /// again here, whichever replica took the call, and answered with the call's id. Numbering goes on after
    /// `sequence`, the last event its client saw; the stream is kept alive and left as the call's first is (`stream`).
    private func resume(_ token: ResumeToken, after sequence: Int, session: SessionClaims, caller: Caller,
                        clientLeft: Signal?) async -> Response {
        let namespace = server.configuration.taskNamespace
        do {
            try await server.authority.authorize(caller, verb: "get", resource: "tasks", namespace: namespace)
        } catch {
            return Self.refusal(.forbidden, .invalidRequest(error.message))
        }
        guard let task = await server.readTask(token.task) else {
            return Self.refusal(.notFound, .invalidRequest("cannot resume: no task \(token.task) in namespace \(namespace)"))
        }
        logger.info("call resumed", metadata: ["task": "\(task.key)", "request": "\(token.request)"])
        let server = self.server
        return stream(streamID: token.streamID, session: session, caller: caller, cancelOnDisconnect: nil, clientLeft: clientLeft,
                      primedAt: sequence + 1) { context in
            server.resume(token, task: task, context: context)
        }
    }

    // MARK: DELETE

    func delete(_ request: Request) async -> Response {
        let caller: Caller
        switch await admit(request) {
        case .refused(let response): return response
        case .admitted(let admitted): caller = admitted
        }
        switch checkedSession(of: request, caller: caller) {
        case .refused(let response): return response
        case .admitted(let claims):
            ended.end(claims.nonce)
            return Response(status: .ok)
        }
    }

    // MARK: Checks

    private enum Admission<Value> {
        case admitted(Value)
        case refused(Response)
    }

    /// Origin, credentials and protocol version: what every method checks first.
    private func admit(_ request: Request) async -> Admission<Caller> {
        guard origins.allows(origin: request.headers[.origin], host: request.head.authority) else {
            logger.info("request from a foreign Origin refused", metadata: ["origin": "\(request.headers[.origin] ?? "")"])
            return .refused(Self.refusal(.forbidden, .invalidRequest("Origin \(request.headers[.origin] ?? "") is not allowed")))
        }
        let caller: Caller
        do {
            caller = try await server.authority.authenticate(CredentialRequest(authorization: request.headers[.authorization]))
        } catch {
            var response = Self.refusal(error.kind == .unauthenticated ? .unauthorized : .forbidden, .invalidRequest(error.message))
            if var challenge = error.challenge {
                if server.configuration.oauthIssuer != nil {
                    // RFC 9728 §5.1: where the client finds the authorization server.
                    challenge += ", resource_metadata=\"\(ProtectedResourceMetadata.origin(of: request))\(ProtectedResourceMetadata.path)\(Self.path)\""
                }
                response.headers[.wwwAuthenticate] = challenge
            }
            return .refused(response)
        }
        if let version = request.headers[Self.versionHeader], !ProtocolVersion.isSupported(version) {
            // The 2026-07-28 error, which a client of any revision can read: what is served, what was asked.
            return .refused(Self.refusal(.badRequest, .unsupportedProtocolVersion(version)))
        }
        return .admitted(caller)
    }

    /// The session the request names, checked: signed by our key, not ended, opened by this caller.
    private func checkedSession(of request: Request, caller: Caller) -> Admission<SessionClaims> {
        guard let token = request.headers[Self.sessionHeader] else {
            return .refused(Self.refusal(.badRequest, .invalidRequest("MCP-Session-Id is missing: initialize first")))
        }
        let claims: SessionClaims
        do {
            claims = try signer.verify(token)
        } catch {
            return .refused(Self.refusal(.notFound, .invalidRequest("unknown session (\(error)): initialize again")))
        }
        guard !ended.isEnded(claims.nonce) else {
            return .refused(Self.refusal(.notFound, .invalidRequest("the session was ended: initialize again")))
        }
        guard claims.caller == caller.username else {
            return .refused(Self.refusal(.notFound, .invalidRequest("unknown session for this caller: initialize again")))
        }
        return .admitted(claims)
    }

    // MARK: Responses


    static func json(_ message: JSON, status: Int) -> Response {
        Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: message.serialized())))
    }

    /// A 200 JSON answer whose body is written when `reply`'s wait ends (`cancelled()` if it was): the request has
    /// been routed, and only the wait is left to hold memory (Tests/e2e/measure_mcp_waits.py). A reply that
    /// answers by callback (`Reply.whenReady`) written by `RequestResponder` holds no task while it waits: the
    /// answer goes out from the callback, in one piece. Otherwise the body waits, and goes out chunked.
    /// A wait its client left (`clientLeft` fired) has no answer: the connection is closed.
    static func json(whenReady reply: Reply, cancelled: @escaping @Sendable () -> JSON, clientLeft: Signal?) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
            // Only the front end's own writer can be written after the body returns; a `later` reply, or another
            // writer, is awaited here.
            if case .whenReady(let register) = reply, let late = (writer as? ChannelResponseWriter)?.answerLater() {
                await register { answer in
                    if answer == nil, clientLeft?.hasFired == true {
                        late.abandon()
                    } else {
                        late.finish(ByteBuffer(bytes: (answer ?? cancelled()).serialized()))
                    }
                }
                return
            }
            try await writer.write(ByteBuffer(bytes: (await reply.value() ?? cancelled()).serialized()))
            try await writer.finish(nil)
        })
    }

    /// A refusal with a JSON-RPC error without id, as the transport section allows for 4xx answers.
    static func refusal(_ status: HTTPResponse.Status, _ error: JSONRPCError) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONRPCMessage.error(id: nil, error).serialized())))
    }
}

extension Limits {
    /// The payload cap for messages: `256 KiB (262144 bytes)`.
    static var payloadCap: String { "\(maximumPayloadBytes / 1024) KiB (\(maximumPayloadBytes) bytes)" }
}
