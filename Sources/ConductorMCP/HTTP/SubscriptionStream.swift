import ConductorAPI
import Hummingbird
import KubeJSON

/// A 2026-07-28 `subscriptions/listen` stream, the revision's replacement for the GET stream: acknowledged
/// first with the notification types honored (tools/list_changed, and the tasks extension's task ids that
/// are the caller's; what is not honored is omitted, as the revision asks), then one notification per change,
/// each stamped with the subscription's id: `notifications/tools/list_changed`, and `notifications/tasks`
/// with the full detailed task (its current state first); keep-alive comments between; ended gracefully,
/// with the listen's result, when the front end shuts down.
struct SubscriptionStream: Sendable {
    static let subscriptionIDKey = "io.modelcontextprotocol/subscriptionId"
    /// The most task ids one subscription follows: each costs a listener.
    static let maximumTasks = 100

    let catalog: ToolCatalog
    let hub: TaskEventHub
    let stopping: Signal
    let keepAlive: Duration

    /// `tasks`: the handles to follow, already checked to be the caller's (`TasksExtension.followable`). The stream
    /// ends when `clientLeft` fires (its connection's client left), with no result.
    func response(id: JSONRPCID, params: JSON?, tasks: [TaskHandle], pollInterval: Int64, clientLeft: Signal?) -> Response {
        let meta: JSON = [Self.subscriptionIDKey: id.json]
        let wantsTools = params?[path: ["notifications", "toolsListChanged"]]?.bool == true
        var honored: JSONObject = [:]
        if wantsTools { honored["toolsListChanged"] = true }
        if params?[path: ["notifications", "taskIds"]] != nil { honored["taskIds"] = .array(tasks.map { .string($0.id) }) }
        let versions = tasks.map { hub.versions(of: $0.task.key) }
        let current = tasks.map(\.task)
        let acknowledged = JSONRPCMessage.notification("notifications/subscriptions/acknowledged",
                                                       ["notifications": .object(honored), "_meta": meta])
        let changes = wantsTools ? catalog.changes() : nil
        let streamID = "s" + Base64URL.encode([UInt8].random(count: 6))
        let stopping = self.stopping
        let keepAlive = self.keepAlive
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: ServerSentEvent.message(acknowledged, stream: streamID, sequence: 1)))
            // nil: a keep-alive comment.
            let (events, feed) = AsyncStream.makeStream(of: JSON?.self)
            try await withThrowingDiscardingTaskGroup { group in
                if let changes {
                    group.addTask {
                        for await _ in changes {
                            feed.yield(JSONRPCMessage.notification("notifications/tools/list_changed", ["_meta": meta]))
                        }
                    }
                }
                if !current.isEmpty {
                    group.addTask {
                        // One feed for all the tasks, so that each task's last state sent is remembered in one place.
                        let (merged, merge) = AsyncStream.makeStream(of: TaskResource.self)
                        for task in current { merge.yield(task) }
                        await withDiscardingTaskGroup { followers in
                            for stream in versions {
                                followers.addTask { for await version in stream { merge.yield(version) } }
                            }
                            followers.addTask {
                                var statuses = TaskStatusFeed(pollInterval: pollInterval, shape: .tasksExtension(subscription: id.json))
                                for await version in merged {
                                    if let notification = statuses.notification(for: version) { feed.yield(notification) }
                                }
                            }
                        }
                    }
                }
                group.addTask { await ServerSentEvent.keepAlives(every: keepAlive, into: feed) }
                group.addTask {
                    await stopping.wait()
                    feed.yield(JSONRPCMessage.result(id: id, ["resultType": "complete", "_meta": meta]))
                    feed.finish()
                }
                if let clientLeft {
                    group.addTask {
                        await clientLeft.wait()
                        feed.finish()
                    }
                }
                try await ServerSentEvent.write(events, stream: streamID, after: 1, to: &writer)
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvent.headers, body: body)
    }
}
