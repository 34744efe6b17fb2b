import ConductorAPI
import Crypto
import Foundation
import KubeClient
import KubeJSON

/// A Task the front end could not create, read or change, with what it was doing.
struct TaskOperationError: Error, Sendable, CustomStringConvertible {
    var operation: String
    var task: String
    var underlying: String
    /// The API server's reason, when it answered (NotFound, Forbidden, Invalid...).
    var reason: KubeAPIError.Reason?

    var description: String { "\(operation) task \(task): \(underlying)" }
}

/// What a new task is made of.
struct TaskRequest: Sendable {
    var capabilities: [String]
    var payload: JSON
    var options: CallOptions
    var caller: Caller
    /// The session and JSON-RPC id of the call that made it (nil for `conductor_submit`), so that a
    /// cancellation reaching any replica finds its task.
    var request: String?
    /// More annotations (an MCP task handle's: `TaskSubmitter.taskTTLAnnotation`, `sessionAnnotation`).
    var annotations: [String: String] = [:]
    /// `spec.ttlSecondsAfterFinished`; nil: the controller's default.
    var ttlSecondsAfterFinished: Int?
}

/// Creates, reads and cancels the front end's Tasks in its task namespace.
struct TaskSubmitter: Sendable {
    /// On every task it creates: who asked.
    static let callerAnnotation = "mcp.io/caller"
    /// On a task a tools/call created: `<session nonce> <JSON-RPC id>`.
    static let requestAnnotation = "mcp.io/request"
    /// On a task a task-augmented tools/call created (an MCP task handle): how long, in milliseconds, the
    /// handle lasts after the task ended (`TaskLifetime`). Only tasks with it are seen by `tasks/*`.
    static let taskTTLAnnotation = "mcp.io/task-ttl-ms"
    /// On an MCP task handle: the nonce of the session that created it, whose GET stream hears its status.
    static let sessionAnnotation = "mcp.io/session"
    /// When `tasks/cancel` asked (RFC 3339), written with `spec.cancel`: the handle is cancelled from then on.
    static let cancelRequestedAnnotation = "mcp.io/cancel-requested-at"

    let tasks: ResourceClient<TaskResource>
    let namespace: String

    init(client: KubeClient, namespace: String) {
        tasks = client.resource(TaskResource.self, namespace: namespace)
        self.namespace = namespace
    }

    /// Creates the task; with an idempotency key, the task that key already made if there is one
    /// (`reused` true), so that a retry attaches to the first call's work instead of running it again.
    func submit(_ request: TaskRequest) async throws(TaskOperationError) -> (task: TaskResource, reused: Bool) {
        var annotations = request.annotations
        annotations[Self.callerAnnotation] = request.caller.username
        if let origin = request.request { annotations[Self.requestAnnotation] = origin }
        for _ in 0..<3 {
            let derived = Self.derivedName(for: request)
            let name = derived ?? Self.randomName()
            let task = TaskResource(
                metadata: ObjectMeta(name: name, namespace: namespace,
                                     labels: [Labels.managedBy: Labels.managedByValue, Labels.name: Labels.nameValue],
                                     annotations: annotations),
                spec: TaskSpec(requiredCapabilities: request.capabilities, priority: request.options.priority, payload: request.payload,
                               deadline: request.options.deadline, retryPolicy: request.options.retryPolicy,
                               affinity: request.options.affinity, idempotencyKey: request.options.idempotencyKey,
                               ttlSecondsAfterFinished: request.ttlSecondsAfterFinished))
            do {
                return (try await tasks.create(task), false)
            } catch let error as KubeAPIError where error.reason == .alreadyExists {
                // A random name taken by chance: another name. A derived one: the retry's (or the same request's) task.
                guard derived != nil else { continue }
                return (try await get(name), true)
            } catch {
                throw Self.failure("creating", name, error)
            }
        }
        throw TaskOperationError(operation: "creating", task: "\(namespace)/mcp-…", underlying: "three random names were taken", reason: nil)
    }

    func get(_ name: String) async throws(TaskOperationError) -> TaskResource {
        do {
            return try await tasks.get(name)
        } catch {
            throw Self.failure("reading", name, error)
        }
    }

    /// Sets `spec.cancel` (a merge patch of that field alone): the controller fails the task `Cancelled` and
    /// its agent stops the work.
    func cancel(_ name: String) async throws(TaskOperationError) -> TaskResource {
        do {
            return try await tasks.patch(name, .merge(["spec": ["cancel": true]]))
        } catch {
            throw Self.failure("cancelling", name, error)
        }
    }

    /// Cancels an MCP task handle's task: `spec.cancel` with the moment it was asked, in one merge patch
    /// conditional on `resourceVersion`, so that a task that finished since it was read is not marked
    /// cancelled (the conflict then answers, and the caller reads it again).
    func cancelHandle(_ task: TaskResource, at moment: Timestamp) async throws(TaskOperationError) -> TaskResource {
        var metadata: JSONObject = ["annotations": [Self.cancelRequestedAnnotation: .string(moment.rfc3339)]]
        if let version = task.metadata.resourceVersion { metadata["resourceVersion"] = .string(version) }
        do {
            return try await tasks.patch(task.name, .merge(["metadata": .object(metadata), "spec": ["cancel": true]]))
        } catch {
            throw Self.failure("cancelling", task.name, error)
        }
    }

    /// The task name an idempotency key maps to: the same for the same caller and key, on any replica and
    /// after any restart, and different across callers (a caller cannot attach to another's task).
    static func name(caller: Caller, idempotencyKey: String) -> String {
        let digest = SHA256.hash(data: Array("\(caller.username)\n\(idempotencyKey)".utf8))
        return "mcp-" + digest.prefix(16).lowercaseHex
    }

    /// The name a request's task must have, when it is derived: from the idempotency key, else for a tools/call
    /// from its session and request id (unique in a session), so that the transport knows the name before the
    /// task exists and a resumed stream can find it (`ResumeToken`). Nil: a random name (`conductor_submit`).
    static func derivedName(for request: TaskRequest) -> String? {
        if let key = request.options.idempotencyKey { return name(caller: request.caller, idempotencyKey: key) }
        return request.request.map(callName)
    }

    /// The task of the tools/call `request` (`<session nonce> <JSON-RPC id>`) without an idempotency key.
    static func callName(_ request: String) -> String {
        let digest = SHA256.hash(data: Array("request\n\(request)".utf8))
        return "mcp-" + digest.prefix(16).lowercaseHex
    }

    /// 16 bytes from the system's CSPRNG: a task id is a capability the specification wants unguessable.
    static func randomName() -> String {
        "mcp-" + [UInt8].random(count: 16).lowercaseHex
    }

    private static func failure(_ operation: String, _ name: String, _ error: any Error) -> TaskOperationError {
        let api = error as? KubeAPIError
        return TaskOperationError(operation: operation, task: name, underlying: api?.message ?? "\(error)", reason: api?.reason)
    }
}
