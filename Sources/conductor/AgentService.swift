import ConductorAgent
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The agent runtime as a service, with its graceful drain. On graceful shutdown (SIGTERM):
/// 1. the Agent is marked draining at once, so the scheduler assigns it nothing new;
/// 2. the tasks it holds have the drain timeout to finish, and report as usual;
/// 3. what is still held then is stopped and handed back: the Agent says NotReady, which the controller's
///    agent-loss path answers by sending those tasks back to Pending for another agent (the next attempt
///    fences anything this one might still write);
/// 4. the runtime stops, the Agent is deleted and its heartbeat Lease released.
/// A second SIGTERM (or SIGINT) during the drain stops at once: the tasks held are left to the controller,
/// which hands them back once the heartbeat expires, so nothing is lost either way.
struct AgentService: Service {
    let runtime: AgentRuntime
    let drainTimeout: Duration
    let logger: Logger
    let outcome = DrainOutcome()

    /// Whether the drain was cut short. Set once by `run()`, read by the command after the service group
    /// ended; behind a lock as the two run in different tasks.
    final class DrainOutcome: Sendable {
        private let state = Mutex(false)
        var interrupted: Bool { state.withLock { $0 } }
        func markInterrupted() { state.withLock { $0 = true } }
    }

    func run() async throws {
        let runtime = self.runtime
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await runtime.run()  // until cancelled; throws when the Agent cannot be registered
                return false
            }
            group.addTask {
                try await gracefulShutdown()  // throws when the group is cancelled instead
                return true
            }
            // The runtime failing, or cancellation, ends it here (the error is thrown, the rest cancelled).
            guard try await group.next() == true else {
                group.cancelAll()
                return
            }
            // Listens for a second signal from now on (the service group's listener took the first).
            let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
            let completed = await withTaskGroup(of: Bool.self) { race in
                race.addTask {
                    await drain()
                    return true
                }
                race.addTask {
                    for await _ in signals { return false }
                    return !Task.isCancelled
                }
                let first = await race.next() ?? true
                race.cancelAll()
                return first
            }
            group.cancelAll()  // stops the runtime: no heartbeat, no watch
            while let _ = try? await group.next() {}
            if completed {
                for failure in await runtime.deregister() {
                    logger.warning("deregistering", metadata: ["error": "\(failure)"])
                }
                logger.info("drained")
            } else {
                logger.warning("second signal: stopped at once")
                outcome.markInterrupted()
            }
        }
    }

    /// Draining, waiting for the tasks held, and handing back what is left; the runtime is still running.
    private func drain() async {
        let held = await runtime.heldCount
        logger.info("draining", metadata: ["held": "\(held)", "timeout": "\(drainTimeout)"])
        do {
            try await runtime.beginDrain()
        } catch {
            logger.error("could not mark the Agent draining; it may still be assigned tasks", metadata: ["error": "\(error)"])
        }
        let idle = await runtime.waitUntilIdle(timeout: drainTimeout)
        if Task.isCancelled { return }
        if !idle {
            let held = await runtime.heldCount
            logger.warning("drain timeout: handing back the tasks still running", metadata: ["held": "\(held)"])
        }
        do {
            try await runtime.markNotReady()
        } catch {
            logger.error("could not mark the Agent NotReady: its tasks go back once its heartbeat expires", metadata: ["error": "\(error)"])
        }
    }
}
