import ConductorAPI
import Foundation
import KubeClient

/// Finds a caller's MCP task handles among the Task resources: only Tasks a task-augmented call made
/// (`TaskSubmitter.taskTTLAnnotation`) by the same caller (`callerAnnotation`), so that one identity never
/// sees another's task: the specification binds tasks to the authorization context.
struct OwnTaskLookup: Sendable {
    let server: MCPServer

    /// The informer index of tasks by their caller annotation, for `tasks/list`.
    static let byCaller = InformerIndex<TaskResource>("annotation:\(TaskSubmitter.callerAnnotation)") { task in
        task.metadata.annotations?[TaskSubmitter.callerAnnotation].map { [$0] } ?? []
    }

    /// The caller's handle `id`, not expired: -32602 "not found" for an unknown id and for another's, and
    /// "expired" past its ttl.
    func handle(_ id: String, caller: Caller) async throws(JSONRPCError) -> TaskHandle {
        // A task id is a resource name: anything else cannot name one (and is never sent to the API server).
        guard Self.isResourceName(id), let task = await server.readTask(id), let handle = ownHandle(task, caller: caller) else {
            throw .taskNotFound
        }
        guard !handle.hasExpired(now: Timestamp(server.now())) else { throw .taskExpired }
        return handle
    }

    /// The handle of `task` when it is one of `caller`'s.
    func ownHandle(_ task: TaskResource, caller: Caller) -> TaskHandle? {
        guard task.namespace == server.configuration.taskNamespace,
              task.metadata.annotations?[TaskSubmitter.callerAnnotation] == caller.username,
              let lifetime = TaskLifetime.of(task) else { return nil }
        return TaskHandle(task: task, lifetime: lifetime, pollInterval: server.configuration.taskPollInterval.milliseconds)
    }

    /// The caller's handles not expired, by id, from this replica's cache.
    func handles(of caller: Caller) throws(JSONRPCError) -> [TaskHandle] {
        let now = Timestamp(server.now())
        let tasks: [TaskResource]
        do {
            tasks = try server.tasks.byIndex(Self.byCaller, caller.username)
        } catch {
            throw .internalError("listing tasks: \(error)")
        }
        return tasks.compactMap { ownHandle($0, caller: caller) }.filter { !$0.hasExpired(now: now) }.sorted { $0.id < $1.id }
    }

    /// Waits, at most `limit`, until this replica's cache holds a version of `task` that `isCaughtUp` accepts:
    /// after a write, so that the caller's next read here sees it (a tasks/get right after a tasks/cancel).
    func awaitCache(of task: TaskResource, limit: Duration, until isCaughtUp: @escaping @Sendable (TaskResource) -> Bool) async {
        // Subscribed before the cache is read, so that no version falls between the two.
        let versions = server.waiter.hub.versions(of: task.key)
        if let cached = server.tasks.get(task.key), isCaughtUp(cached) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await version in versions where isCaughtUp(version) { return }
            }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }

    /// DNS subdomain rules (RFC 1123), as Kubernetes names are.
    static func isResourceName(_ name: String) -> Bool {
        (1...253).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."): true
            default: false
            }
        }
    }
}
