import ConductorAPI
import KubeClient
import KubeJSON
import Logging
import Synchronization

/// Relays one attempt's progress into its Task's `status.progress`, coalesced: `report` never waits and
/// never fails, the latest value wins, and at most one write goes out per `interval` (4 a second by default),
/// because a handler may report on every line it reads and each write is an API request and an etcd revision.
///
/// Each write is fenced as the runtime's other reports are: a JSON patch whose `test` operations make the
/// server refuse it unless the task is still Running this attempt on this agent, so progress of an attempt
/// that was taken away never lands on the next one. Once refused, it writes no more.
public final class ProgressReporter: Sendable {
    private struct State {
        /// The value not yet written, if any.
        var pending: TaskProgress?
        /// The writer's wait for the next value, when it waits.
        var waiter: CheckedContinuation<Bool, Never>?
        var finished = false
    }

    /// What writes a progress value; throws when the write was refused or failed.
    typealias Write = @Sendable (TaskProgress) async throws -> Void

    private let state = Mutex(State())
    private let write: Write
    private let interval: Duration
    private let clock: any KubeClock
    private let logger: Logger

    init(interval: Duration, clock: any KubeClock, logger: Logger, write: @escaping Write) {
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.write = write
    }

    /// A reporter that drops what it is given: for handlers run outside an agent (tests, tools).
    public static func discarding() -> ProgressReporter {
        ProgressReporter(interval: .zero, clock: SystemClock(), logger: Logger(label: "conductor.agent.progress")) { _ in }
    }

    /// Reports the attempt's progress: `current` out of `total` (when known), and what it is doing.
    public func report(current: Double? = nil, total: Double? = nil, message: String? = nil) {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { state in
            guard !state.finished else { return nil }
            state.pending = TaskProgress(current: current, total: total, message: message)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: true)
    }

    /// Writes the values reported until `finish()`, at most one per interval. Run by the runtime beside the
    /// attempt's work.
    func run() async {
        while let progress = await next() {
            do {
                try await write(progress)
            } catch is CancellationError {
                return
            } catch {
                // Refused (the attempt is no longer this agent's) or failed: progress is advisory, so the
                // attempt goes on, but nothing more is written for it.
                logger.debug("progress not written; no more will be", metadata: ["error": "\(error)"])
                finish()
                return
            }
            do { try await clock.sleep(for: interval) } catch { return }
        }
    }

    /// Stops the writer; values reported later are dropped. Returns the value reported but not written yet,
    /// which the attempt's final report carries instead.
    @discardableResult
    func finish() -> TaskProgress? {
        let (waiter, pending): (CheckedContinuation<Bool, Never>?, TaskProgress?) = state.withLock { state in
            state.finished = true
            defer {
                state.pending = nil
                state.waiter = nil
            }
            return (state.waiter, state.pending)
        }
        waiter?.resume(returning: false)
        return pending
    }

    /// The next value to write, waiting for one; nil once finished.
    private func next() async -> TaskProgress? {
        while true {
            let taken: TaskProgress?? = state.withLock { state in
                if state.finished { return .some(nil) }
                if let pending = state.pending {
                    state.pending = nil
                    return .some(pending)
                }
                return nil
            }
            if let taken { return taken }
            let more = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                // Checked again under the lock: a value or finish that came since the look above would
                // otherwise wait for the next one.
                let now: Bool? = state.withLock { state in
                    if state.finished { return false }
                    if state.pending != nil { return true }
                    state.waiter = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
            if !more { return nil }
        }
    }
}

extension TaskProgress {
    /// As JSON for a patch: the fields that are set.
    var json: JSON {
        var object: JSONObject = [:]
        if let current { object["current"] = .double(current) }
        if let total { object["total"] = .double(total) }
        if let message { object["message"] = .string(message) }
        return .object(object)
    }
}
