import ConductorAPI
import KubeClient
import Logging
import Synchronization
import Testing

@testable import ConductorAgent

/// The progress reporter's coalescing: at most one write per interval, the latest value wins, nothing after
/// `finish`, nothing more after a refused write.
@Suite struct ProgressReporterTests {
    final class Writes: Sendable {
        let values = Mutex<[TaskProgress]>([])
        var all: [TaskProgress] { values.withLock { $0 } }
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            try #require(ContinuousClock.now < deadline, "not within 30 s")
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func aBurstIsCoalescedAndTheLastValueWins() async throws {
        let writes = Writes()
        let reporter = ProgressReporter(interval: .milliseconds(200), clock: SystemClock(), logger: Logger(label: "test")) { progress in
            writes.values.withLock { $0.append(progress) }
        }
        let writer = Task { await reporter.run() }
        let started = ContinuousClock.now
        for step in 1...1000 { reporter.report(current: Double(step), total: 1000, message: "step \(step)") }
        try await waitUntil { writes.all.last?.current == 1000 }
        // The first value written at once, the rest coalesced into the latest: two writes, not a thousand.
        #expect(writes.all.count <= 2, "\(writes.all.count) writes")
        #expect(writes.all.last == TaskProgress(current: 1000, total: 1000, message: "step 1000"))
        // A value reported within the interval waits for its end.
        reporter.report(current: 1, message: "again")
        try await waitUntil { writes.all.last?.message == "again" }
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        // A value not written yet when the attempt ends is handed over for its final report.
        reporter.report(current: 5, message: "last")
        #expect(reporter.finish() == TaskProgress(current: 5, total: nil, message: "last"))
        reporter.report(current: 2, message: "after finish")
        await writer.value
        #expect(writes.all.last?.message == "again")
    }

    @Test func aRefusedWriteEndsTheReporting() async throws {
        struct Refused: Error {}
        let writes = Writes()
        let reporter = ProgressReporter(interval: .milliseconds(10), clock: SystemClock(), logger: Logger(label: "test")) { progress in
            writes.values.withLock { $0.append(progress) }
            throw Refused()
        }
        let writer = Task { await reporter.run() }
        reporter.report(current: 1)
        await writer.value  // ends by itself
        reporter.report(current: 2)
        #expect(writes.all.map(\.current) == [1])
    }
}
