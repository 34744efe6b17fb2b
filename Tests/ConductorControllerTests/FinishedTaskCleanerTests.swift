@testable import ConductorController
import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON
import Logging
import Testing

/// Finished tasks deleted once their retention passes, on a real local API server with time on a `ManualClock`:
/// a task's own `spec.ttlSecondsAfterFinished`, else the default, counted from its completion; only the leader
/// deletes, and one that comes to lead deletes what fell due meanwhile.
@Suite struct FinishedTaskCleanerTests {
    static let namespace = "default"

    struct Harness {
        let tasks: ResourceClient<TaskResource>
        let clock: ManualClock
        let leadership: LeadershipGate
        let cleaner: FinishedTaskCleaner

        func create(_ name: String, ttl: Int? = nil) async throws {
            _ = try await tasks.create(TaskResource(metadata: ObjectMeta(name: name, namespace: FinishedTaskCleanerTests.namespace),
                                                    spec: TaskSpec(requiredCapabilities: ["echo"], ttlSecondsAfterFinished: ttl)))
        }

        /// Completes the task now, by the clock (as an agent reports it).
        func complete(_ name: String) async throws {
            _ = try await tasks.patchStatus(name, .merge(["status": [
                "phase": "Completed", "completionTime": .string(Timestamp(clock.wallTime).rfc3339), "result": ["ok": true],
            ]]))
        }

        func exists(_ name: String) async throws -> Bool {
            do {
                _ = try await tasks.get(name)
                return true
            } catch let error as KubeAPIError where error.reason == .notFound {
                return false
            }
        }

        /// Waits until the cleaner holds `count` tasks with its timer parked on the clock: every event seen.
        func settle(tracking count: Int) async throws {
            try await waitUntil("the cleaner tracks \(count) task(s) and waits") {
                await cleaner.trackedCount == count && clock.sleeperCount >= (count > 0 ? 1 : 0)
            }
        }
    }

    static func run(leading: Bool = true, _ body: (Harness) async throws -> Void) async throws {
        try await withServer { _, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(TaskResource.self, namespace: namespace)
            let clock = ManualClock()
            let informer = try Informer(tasks)
            let leadership = LeadershipGate(leading: leading)
            let cleaner = FinishedTaskCleaner(retention: FinishedTaskRetention(defaultTTL: .seconds(60)), tasks: informer,
                                              deleter: tasks, clock: clock, leadership: leadership,
                                              logger: Logger(label: "cleaner-test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await informer.run() }
                group.addTask { await cleaner.run() }
                defer { group.cancelAll() }
                try await informer.waitUntilSynced()
                try await body(Harness(tasks: tasks, clock: clock, leadership: leadership, cleaner: cleaner))
            }
        }
    }

    @Test func eachFinishedTaskIsDeletedWhenItsOwnTTLOrTheDefaultHasPassed() async throws {
        try await Self.run { h in
            for (name, ttl) in [("default-ttl", nil), ("own-ttl", 10), ("at-once", 0), ("still-pending", nil)] as [(String, Int?)] {
                try await h.create(name, ttl: ttl)
            }
            for name in ["default-ttl", "own-ttl", "at-once"] { try await h.complete(name) }
            try await waitUntil("a TTL of 0 deletes the task as it finishes") { try await !h.exists("at-once") }
            try await h.settle(tracking: 2)

            h.clock.advance(by: .seconds(9))
            try await h.settle(tracking: 2)
            #expect(try await h.exists("own-ttl"), "kept until its 10 seconds have passed")
            h.clock.advance(by: .seconds(1) + .milliseconds(1))
            try await waitUntil("own-ttl is deleted after its 10 seconds") { try await !h.exists("own-ttl") }
            try await h.settle(tracking: 1)

            h.clock.advance(by: .seconds(49))
            try await h.settle(tracking: 1)
            #expect(try await h.exists("default-ttl"), "kept until the default 60 seconds have passed")
            h.clock.advance(by: .seconds(1))
            try await waitUntil("default-ttl is deleted after the default 60 seconds") { try await !h.exists("default-ttl") }
            #expect(try await h.exists("still-pending"), "a task not finished is never deleted")
            try await h.settle(tracking: 0)
        }
    }

    @Test func aFollowerKeepsWhatIsDueAndDeletesItOnceItLeads() async throws {
        try await Self.run(leading: false) { h in
            try await h.create("done", ttl: 0)
            try await h.complete("done")
            try await waitUntil("the follower tracks the finished task") { await h.cleaner.trackedCount == 1 }
            h.clock.advance(by: .seconds(3600))
            #expect(try await h.exists("done"), "a follower deletes nothing")
            h.leadership.set(leading: true)
            try await waitUntil("the new leader deletes what fell due") { try await !h.exists("done") }
            try await h.settle(tracking: 0)
        }
    }

    @Test func aTaskChangedSinceItWasReadIsJudgedOnItsNewVersion() async throws {
        try await Self.run { h in
            try await h.create("extended", ttl: 10)
            try await h.complete("extended")
            try await h.settle(tracking: 1)
            // The submitter extends the retention before it runs out.
            _ = try await h.tasks.patch("extended", .merge(["spec": ["ttlSecondsAfterFinished": 100]]))
            try await waitUntil("the cleaner holds the new expiry") { h.clock.nextWakeUp.map { $0 > h.clock.now.advanced(by: .seconds(50)) } ?? false }
            h.clock.advance(by: .seconds(20))
            try await h.settle(tracking: 1)
            #expect(try await h.exists("extended"))
            h.clock.advance(by: .seconds(80))
            try await waitUntil("deleted after its new TTL") { try await !h.exists("extended") }
        }
    }
}
