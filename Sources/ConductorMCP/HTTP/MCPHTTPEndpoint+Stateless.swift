import Foundation
import HTTPTypes
import Hummingbird
import KubeJSON

/// The endpoint's 2026-07-28 requests (`RequestMeta.isStateless`): no session, the envelope per request.
extension MCPHTTPEndpoint {
    /// A 2026-07-28 request: checked as that revision asks, then answered without a session (each request gets
    /// a nonce of its own, which keys its cancellation). A capability tool call that is no task waits on an SSE
    /// stream that carries its progress, and closing that stream cancels it (its task too), unless it carries an
    /// idempotency key: then it detaches, and a retry with the key attaches to the same task.
    func stateless(id: JSONRPCID, method: String, params: JSON?, headers: HTTPFields, caller: Caller,
                   clientLeft: Signal?) async -> Response {
        let meta: RequestMeta
        do {
            meta = try ModernRequestCheck.check(method: method, params: params, headers: headers)
        } catch {
            return Self.json(JSONRPCMessage.error(id: id, error), status: error.statelessHTTPStatus)
        }
        let nonce = Base64URL.encode([UInt8].random(count: 16))
        let session = SessionClaims(nonce: nonce, protocolVersion: meta.protocolVersion, caller: caller.username,
                                    issuedAt: Int64(Date().timeIntervalSince1970))
        if method == "subscriptions/listen" {
            return await listen(id: id, params: params, meta: meta, session: session, caller: caller, clientLeft: clientLeft)
        }
        let methods = ModernMethods(server: server)
        if method == "tools/call", !ModernMethods.answersAtOnce(params: params, meta: meta) {
            let detaches = params?[path: ["_meta", CallOptions.metaPrefix + "idempotencyKey"]] != nil
            let streamID = "r" + Base64URL.encode([UInt8].random(count: 4))
            return stream(streamID: streamID, session: session, caller: caller,
                          cancelOnDisconnect: detaches ? nil : InFlightCalls.key(session: nonce, request: id),
                          clientLeft: clientLeft) { context in
                await methods.reply(to: id, method: method, params: params, meta: meta, context: context)
            }
        }
        let reply = await methods.reply(to: id, method: method, params: params, meta: meta,
                                        context: RequestContext(session: session, caller: caller, sink: nil, readerLeft: clientLeft))
        let cancelled: @Sendable () -> JSON = { JSONRPCMessage.error(id: id, .requestCancelled("the request was cancelled")) }
        guard case .now(let answer) = reply else {
            // Only a tool call waits here (conductor_wait): its answer is a result or a cancellation, both 200.
            return Self.json(whenReady: reply, cancelled: cancelled, clientLeft: clientLeft)
        }
        let message = answer ?? cancelled()
        let status = message[path: ["error", "code"]]?.int.map { JSONRPCError.statelessHTTPStatus(code: Int($0)) } ?? 200
        return Self.json(message, status: status)
    }

    /// `subscriptions/listen`; its task ids need the tasks extension (-32021 without it) and are followed only
    /// when they are the caller's.
    private func listen(id: JSONRPCID, params: JSON?, meta: RequestMeta, session: SessionClaims, caller: Caller,
                        clientLeft: Signal?) async -> Response {
        var tasks: [TaskHandle] = []
        if let ids = params?[path: ["notifications", "taskIds"]] {
            do throws(JSONRPCError) {
                guard meta.declaresTasks else {
                    throw .missingClientCapability(["extensions": [RequestMeta.tasksExtension: [:]]],
                                                   detail: "notifications.taskIds belongs to the tasks extension, which the request's clientCapabilities do not declare")
                }
                guard let list = ids.array?.compactMap(\.string) else { throw .invalidParams("notifications.taskIds must be an array of task ids") }
                tasks = try await TasksExtension(server: server).followable(
                    list, context: RequestContext(session: session, caller: caller, sink: nil), limit: SubscriptionStream.maximumTasks)
            } catch {
                return Self.json(JSONRPCMessage.error(id: id, error), status: error.statelessHTTPStatus)
            }
        }
        return SubscriptionStream(catalog: server.catalog, hub: server.waiter.hub, stopping: stopping, keepAlive: keepAliveInterval)
            .response(id: id, params: params, tasks: tasks, pollInterval: server.configuration.taskPollInterval.milliseconds,
                      clientLeft: clientLeft)
    }
}
