import KubeClient
import KubeJSON

/// What a fenced status write came to, when the server did not fail it outright.
public enum TaskWriteOutcome: Sendable {
    /// Written: the task as the server stored it.
    case written(TaskResource)
    /// 409: the task changed since it was read. The caller waits for the newer version from its cache and
    /// decides again; it never retries the same write blindly, which would undo what someone else wrote.
    case conflict
    /// The attempt the writer holds is not the task's current one (it was reassigned): nothing was sent.
    case fenced(held: Int?, current: Int?)
    /// The task is gone.
    case notFound
}

/// A status write the server refused for a reason other than a conflict or a missing task.
public struct TaskWriteError: Error, Sendable, CustomStringConvertible {
    /// namespace/name of the task.
    public var task: String
    public var resourceVersion: String?
    public var underlying: String
    /// The server was not reached, or answered "not now" (`KubeAPIError.isTransient`): the same write may
    /// succeed later. It may also have landed, its answer lost.
    public var isTransient: Bool

    public init(task: String, resourceVersion: String?, underlying: String, isTransient: Bool = false) {
        self.task = task
        self.resourceVersion = resourceVersion
        self.underlying = underlying
        self.isTransient = isTransient
    }

    /// Wraps what a write threw: transient when the server was not reached or said "not now".
    public init(task: String, resourceVersion: String?, error: any Error) {
        self.init(task: task, resourceVersion: resourceVersion, underlying: "\(error)", isTransient: KubeAPIError.isTransient(error))
    }

    public var description: String {
        "writing the status of task \(task) over resourceVersion \(resourceVersion ?? "none"): \(underlying)"
    }
}

/// Writes a task's status the only safe way: as a replacement conditional on the resourceVersion it was
/// read at, and only by a holder of the task's current attempt. A write over a stale read gets 409; a
/// writer holding an older attempt (an agent presumed dead whose task was reassigned) is refused before
/// anything is sent. Together they mean nobody overwrites a state they did not see.
public protocol TaskStatusWriting: Sendable {
    /// Replaces the status of `read` with `status`.
    /// - Parameter attempt: the attempt the writer holds: the controller passes the attempt it read, an
    ///   agent the one it was assigned. `status.attempt` must equal it too: only `assign` raises it.
    func write(_ status: TaskStatus, over read: TaskResource, holding attempt: Int?) async throws(TaskWriteError) -> TaskWriteOutcome
}

/// `TaskStatusWriting` against the API server.
public struct TaskStatusWriter: TaskStatusWriting {
    public let client: KubeClient

    public init(client: KubeClient) {
        self.client = client
    }

    public func write(_ status: TaskStatus, over read: TaskResource, holding attempt: Int?) async throws(TaskWriteError) -> TaskWriteOutcome {
        // An assignment writes the next attempt over the current one; every other write keeps it.
        let isAssignment = status.phase == .assigned && status.attempt == (read.status.attempt ?? 0) + 1 && attempt == status.attempt
        guard isAssignment || (read.status.attempt == attempt && status.attempt == attempt) else {
            return .fenced(held: attempt, current: read.status.attempt)
        }
        guard read.resourceVersion != nil else {
            // Without it the PUT would be unconditional.
            throw TaskWriteError(task: read.key, resourceVersion: nil, underlying: "the task read has no resourceVersion, so the write could not be conditional")
        }
        var updated = read
        updated.status = status
        do {
            return .written(try await client.resource(TaskResource.self, namespace: read.namespace).updateStatus(updated))
        } catch let error as KubeAPIError where error.reason == .conflict {
            return .conflict
        } catch let error as KubeAPIError where error.reason == .notFound {
            return .notFound
        } catch {
            throw TaskWriteError(task: read.key, resourceVersion: read.resourceVersion, error: error)
        }
    }
}

/// Labels a task with its assigned agent (`Labels.assignedAgent`), for API servers older than 1.31, which
/// cannot select custom resources by `status.assignedAgent`: agents there watch by this label instead. A
/// metadata merge patch after the assignment, not conditional: the label only says where the status points.
public protocol AssignedAgentLabeling: Sendable {
    func label(_ task: TaskResource, assignedTo agent: String) async throws(TaskWriteError)
}

extension TaskStatusWriter: AssignedAgentLabeling {
    public func label(_ task: TaskResource, assignedTo agent: String) async throws(TaskWriteError) {
        do {
            _ = try await client.resource(TaskResource.self, namespace: task.namespace)
                .patch(task.name, .merge(["metadata": ["labels": [Labels.assignedAgent: .string(agent)]]]))
        } catch {
            throw TaskWriteError(task: task.key, resourceVersion: task.resourceVersion, underlying: "labelling it with its agent: \(error)")
        }
    }
}
