import ConductorAPI
import ConductorController
import KubeClient

/// Tells a caller when a task is final. The controller's `Supervisor` does it on the task's actor; a
/// front end without a controller (`conductor mcp` over stdio) does it on its own task events.
protocol TerminalAwaiting: Sendable {
    /// Calls `deliver` once: with the task once final, or `CancellationError` when `early` ends the wait first.
    /// Returns once the wait is registered; no caller parks.
    func whenTerminal(created: TaskResource, endedBy early: EarlyWaitEnd?,
                      deliver: @escaping @Sendable (Result<TaskResource, any Error>) -> Void) async
}

extension Supervisor: TerminalAwaiting {}

/// Waits on the front end's own task watch (`TaskEventHub`): for a process that runs no controller. Like
/// the actors it is woken by the event that makes the task final; it does not poll.
struct EventAwaiter: TerminalAwaiting {
    let cache: Informer<TaskResource>
    let hub: TaskEventHub

    private func awaitTerminal(created: TaskResource, endedBy early: EarlyWaitEnd?) async throws -> TaskResource {
        let key = created.key
        // Subscribed before the cache is read, so that no version falls between the two.
        let versions = hub.versions(of: key)
        if let now = cache.get(key), now.status.isFinal { return now }
        if created.status.isFinal { return created }
        // A task of its own here, which `early` cancels: this runs only where no controller does (stdio, one
        // client), where a waiting call's cost does not matter.
        let parked = Task {
            for await version in versions where version.status.isFinal {
                return version
            }
            try Task.checkCancellation()
            throw TaskAwaitError.supervisorStopped(task: key)
        }
        early?.whenParked { parked.cancel() }
        return try await withTaskCancellationHandler {
            try await parked.value
        } onCancel: {
            parked.cancel()
        }
    }

    func whenTerminal(created: TaskResource, endedBy early: EarlyWaitEnd?,
                      deliver: @escaping @Sendable (Result<TaskResource, any Error>) -> Void) async {
        // A task of its own, as `awaitTerminal` has: cost does not matter here (see there).
        Task {
            do {
                deliver(.success(try await awaitTerminal(created: created, endedBy: early)))
            } catch {
                deliver(.failure(error))
            }
        }
    }
}
