import ConductorAPI
import HeapModule
import KubeClient
import Logging

/// Deletes what the cleaner found due: a seam for tests that make deletions fail.
public protocol FinishedTaskDeleting: Sendable {
    /// Deletes the task if it still has this uid and resourceVersion: one changed since (a new TTL, say) is
    /// judged again on its newer version, and a task made again under the same name is not touched.
    func delete(_ task: FinishedTaskCleaner.Due) async throws
}

extension ResourceClient: FinishedTaskDeleting where Object == TaskResource {
    public func delete(_ task: FinishedTaskCleaner.Due) async throws {
        let name = task.key.split(separator: "/", maxSplits: 1).last.map(String.init) ?? task.key
        try await delete(name, options: DeleteOptions(preconditionUID: task.uid, preconditionResourceVersion: task.resourceVersion))
    }
}

/// Removes finished Tasks once their retention has passed (`FinishedTaskRetention`), so that the cluster, every
/// replica's cache and every agent's hold what is live, not everything ever run. Every replica keeps the due
/// list from its informer; only the leader deletes, and a replica that comes to lead deletes what fell due
/// meanwhile. One timer, for the earliest expiry; nothing polls.
public actor FinishedTaskCleaner {
    /// A finished task and when it falls due.
    public struct Due: Sendable, Hashable {
        public var key: String
        public var uid: String?
        public var resourceVersion: String?
        public var expiresAt: Timestamp
        /// When the task finished (its completionTime, else when this replica first saw it final).
        var finishedAt: Timestamp
    }

    /// An entry of the heap: stale once `due[key]` no longer has the same expiry (the task changed or went).
    private struct Deadline: Comparable {
        var expiresAt: Timestamp
        var key: String
        static func < (a: Deadline, b: Deadline) -> Bool { (a.expiresAt, a.key) < (b.expiresAt, b.key) }
    }

    /// A deletion that failed other than by a conflict or a missing task is tried again after this.
    static let retryAfterFailure: Duration = .seconds(5)

    private let retention: FinishedTaskRetention
    private let tasks: Informer<TaskResource>
    private let deleter: any FinishedTaskDeleting
    private let clock: any KubeClock
    private let leadership: LeadershipGate
    private let logger: Logger
    private var due: [String: Due] = [:]
    private var deadlines = Heap<Deadline>()
    private var timer = WallClockTimer()
    private let timers: TimerQueue

    public init(retention: FinishedTaskRetention, tasks: Informer<TaskResource>, deleter: any FinishedTaskDeleting,
                clock: any KubeClock, leadership: LeadershipGate, logger: Logger) {
        self.retention = retention
        self.tasks = tasks
        self.deleter = deleter
        self.clock = clock
        timers = TimerQueue(clock: clock)
        self.leadership = leadership
        self.logger = logger
    }

    /// The tasks waiting to fall due: the heap shrinks back with them (stale entries are dropped as met).
    public var trackedCount: Int { due.count }

    /// Follows the task informer and the leadership until cancelled.
    public func run() async {
        let events = tasks.events()
        let gains = leadership.gains()
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await event in events { await self.take(event) }
            }
            group.addTask {
                for await _ in gains { await self.sweep() }
            }
        }
        timer.cancel(in: timers)
    }

    private func take(_ event: InformerEvent<TaskResource>) async {
        switch event {
        case .added(let task), .updated(_, let task):
            track(task)
        case .deleted(let task, _):
            due[task.key] = nil
        }
        await sweep()
    }

    private func track(_ task: TaskResource) {
        let observedFinal = due[task.key]?.finishedAt ?? Timestamp(clock.wallTime)
        guard let expiresAt = retention.expiry(of: task, observedFinal: observedFinal) else {
            due[task.key] = nil
            return
        }
        let entry = Due(key: task.key, uid: task.uid, resourceVersion: task.resourceVersion, expiresAt: expiresAt,
                        finishedAt: task.status.completionTime ?? observedFinal)
        guard due[task.key] != entry else { return }
        due[task.key] = entry
        deadlines.insert(Deadline(expiresAt: expiresAt, key: task.key))
    }

    /// Deletes what is due (when leading) and arms the timer for the next expiry.
    private func sweep() async {
        while let next = deadlines.min {
            guard let entry = due[next.key], entry.expiresAt == next.expiresAt else {
                deadlines.removeMin()  // stale: the task changed or went
                continue
            }
            let now = Timestamp(clock.wallTime)
            guard next.expiresAt <= now else { break }
            // A follower keeps what is due for when it comes to lead (`gains` sweeps then).
            guard leadership.isLeading else {
                timer.cancel(in: timers)
                return
            }
            deadlines.removeMin()
            await delete(entry)
        }
        let now = Timestamp(clock.wallTime)
        timer.arm(at: deadlines.min?.expiresAt, now: now, queue: timers) { [weak self] fired in
            Task { await self?.fired(fired) }
        }
    }

    private func fired(_ target: Timestamp) async {
        guard timer.fired(target) else { return }
        await sweep()
    }

    private func delete(_ entry: Due) async {
        do {
            try await deleter.delete(entry)
            due[entry.key] = nil
            ControllerMetrics.recordFinishedTaskDeleted()
            logger.debug("finished task deleted after its retention", metadata: ["task": "\(entry.key)"])
        } catch let error as KubeAPIError where error.reason == .notFound || error.reason == .conflict {
            // Gone already, or changed since it was read: its deletion or newer version comes through the watch.
            if due[entry.key] == entry { due[entry.key] = nil }
        } catch {
            logger.warning("deleting a finished task failed; trying again", metadata: [
                "task": "\(entry.key)", "error": "\(error)", "after": "\(Self.retryAfterFailure)",
            ])
            let retry = Timestamp(clock.wallTime).adding(Self.retryAfterFailure)
            var later = entry
            later.expiresAt = retry
            due[entry.key] = later
            deadlines.insert(Deadline(expiresAt: retry, key: entry.key))
        }
    }
}
