import ConductorAPI
import KubeClient
import Synchronization

/// Follows the run's Tasks through a watch (no polling), as the harness sees them: when each attempt was first
/// seen (an assignment), when each task became final, which tasks each agent holds, and any change to a task
/// after it was final (a completion reported twice, a final task moved again).
final class ChaosTracker: Sendable {
    struct HeldAttempt: Sendable, Hashable {
        var task: String
        var attempt: Int
    }

    private struct Entry {
        var created: ContinuousClock.Instant?
        var last: ChaosTaskView?
        /// When each attempt was first seen.
        var attemptSeen: [Int: ContinuousClock.Instant] = [:]
        var finalAt: ContinuousClock.Instant?
        var finalSignature: String?
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Every new attempt seen, in the order seen (so in time order).
        var assignments: [ContinuousClock.Instant] = []
        var finalCount = 0
        /// Changes seen after a task was final, as "task: before → after".
        var changedAfterFinal: [String] = []
    }

    let informer: Informer<ChaosTaskView>
    private let state = Mutex(State())

    init(client: KubeClient, namespace: String, labelSelector: String) throws {
        // Quick to come back after the API server restarts: the harness must not be what recovers last.
        informer = try Informer(client.resource(ChaosTaskView.self, namespace: namespace),
                                options: WatchOptions(labelSelector: labelSelector),
                                backoff: WatchBackoff(initial: .milliseconds(100), maximum: .seconds(1)))
    }

    /// Watches until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await self.informer.run() }
            group.addTask {
                for await event in self.informer.events() {
                    if case .deleted = event { continue }
                    self.observe(event.object)
                }
            }
        }
    }

    func waitUntilSynced() async throws { try await informer.waitUntilSynced() }

    /// Called just before a task's first create is sent.
    func expect(_ name: String) {
        let now = ContinuousClock.now
        state.withLock { state in
            if state.entries[name]?.created == nil { state.entries[name, default: Entry()].created = now }
        }
    }

    private func observe(_ task: ChaosTaskView) {
        let now = ContinuousClock.now
        state.withLock { state in
            var entry = state.entries[task.name] ?? Entry()
            defer { state.entries[task.name] = entry }
            let attempt = task.attempt
            if attempt > 0, entry.attemptSeen[attempt] == nil, attempt > (entry.last?.attempt ?? 0) {
                entry.attemptSeen[attempt] = now
                state.assignments.append(now)
            }
            entry.last = task
            if let before = entry.finalSignature {
                let after = task.finalSignature
                if after != before {
                    state.changedAfterFinal.append("\(task.name): \(before) → \(after)")
                    entry.finalSignature = after
                }
            } else if task.isFinal {
                entry.finalAt = now
                entry.finalSignature = task.finalSignature
                state.finalCount += 1
            }
        }
    }

    /// How many tasks were seen final.
    var finalCount: Int { state.withLock { $0.finalCount } }

    /// Returns once `count` tasks were seen final (true) or at `deadline` (false).
    func waitUntilFinal(count: Int, deadline: ContinuousClock.Instant) async -> Bool {
        while ContinuousClock.now < deadline {
            if finalCount >= count { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return finalCount >= count
    }

    /// The attempts `agent` holds now (Assigned or Running), as last seen.
    func held(by agent: String) -> [HeldAttempt] {
        state.withLock { state -> [HeldAttempt] in
            state.entries.values.compactMap { entry -> HeldAttempt? in
                guard let task = entry.last, task.holdsAgent, task.status?.assignedAgent == agent else { return nil }
                return HeldAttempt(task: task.name, attempt: task.attempt)
            }
        }
    }

    /// How many tasks each agent is running now, as last seen.
    func runningCounts() -> [String: Int] {
        state.withLock { state -> [String: Int] in
            var counts: [String: Int] = [:]
            for entry in state.entries.values {
                guard let task = entry.last, task.phase == TaskPhase.running.rawValue, let agent = task.status?.assignedAgent else { continue }
                counts[agent, default: 0] += 1
            }
            return counts
        }
    }

    /// The first assignment (a new attempt of any task) seen at or after `instant`.
    func firstAssignment(atOrAfter instant: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        state.withLock { state -> ContinuousClock.Instant? in
            var low = 0
            var high = state.assignments.count
            while low < high {
                let middle = (low + high) / 2
                if state.assignments[middle] < instant { low = middle + 1 } else { high = middle }
            }
            return low < state.assignments.count ? state.assignments[low] : nil
        }
    }

    /// When the attempt was left behind: a later attempt of the task seen, or the task seen final.
    func movedOn(from held: HeldAttempt) -> ContinuousClock.Instant? {
        state.withLock { state -> ContinuousClock.Instant? in
            guard let entry = state.entries[held.task] else { return nil }
            let later = entry.attemptSeen.filter { $0.key > held.attempt }.map(\.value).min()
            return [later, entry.finalAt].compactMap { $0 }.min()
        }
    }

    /// Sorted create → final durations of the tasks seen final whose create this harness timed.
    func createToFinal() -> [Duration] {
        state.withLock { state -> [Duration] in
            state.entries.values.compactMap { entry -> Duration? in
                guard let created = entry.created, let finalAt = entry.finalAt else { return nil }
                return finalAt - created
            }.sorted()
        }
    }

    var changedAfterFinal: [String] { state.withLock { $0.changedAfterFinal } }
}
