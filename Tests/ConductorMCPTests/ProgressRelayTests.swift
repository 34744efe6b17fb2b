import ConductorAPI
import ConductorTestSupport
import KubeClient
import KubeJSON
import Synchronization
import Testing

@testable import ConductorController
@testable import ConductorMCP

/// A waiting call's progress without a task: a notification at once, one per change the hub delivers, one every
/// heartbeat, none after the relay stops, and nothing left registered once it has.
@Suite(.timeLimit(.minutes(1))) struct ProgressRelayTests {
    @Test func progressIsSentAtOnceOnEachChangeAndEachHeartbeatAndNeverAfterTheStop() async throws {
        let clock = ManualClock()
        let timers = TimerQueue(clock: clock)
        let hub = TaskEventHub()
        let sent = Mutex<[JSON]>([])
        let pending = TaskHandleTests.task(phase: .pending)
        let target = ProgressTarget(token: "p", sink: NotificationSink { message in sent.withLock { $0.append(message) } })
        let relay = ProgressRelay(of: pending.key, latest: { pending }, to: target, hub: hub, timers: timers, heartbeat: .seconds(15))
        #expect(sent.withLock { $0.count } == 1)
        #expect(sent.withLock { $0[0][path: ["params", "progressToken"]] } == "p")

        // A version a client would not see differently sends nothing; a new phase does.
        hub.deliver(pending)
        #expect(sent.withLock { $0.count } == 1)
        hub.deliver(TaskHandleTests.task(phase: .running))
        #expect(sent.withLock { $0.count } == 2)
        #expect(sent.withLock { $0[1][path: ["params", "message"]]?.string?.contains("Running") } == true)

        try await waitUntil("the heartbeat is scheduled") { clock.nextWakeUp != nil }
        clock.advance(by: .seconds(15))
        try await waitUntil("a heartbeat was sent") { sent.withLock { $0.count } == 3 }
        let values = sent.withLock { $0.compactMap { $0[path: ["params", "progress"]]?.double } }
        #expect(values == values.sorted() && Set(values).count == 3, "progress increases at every notification")

        relay.stop()
        #expect(hub.followedCount == 0)
        try await waitUntil("the heartbeat was cancelled") { timers.pendingCount == 0 }
        hub.deliver(TaskHandleTests.task(phase: .completed, completedAfter: 1))
        clock.advance(by: .seconds(60))
        #expect(sent.withLock { $0.count } == 3)
    }

    /// So that the call's SSE stream can drop its own keep-alives, which the heartbeat makes redundant.
    @Test func theRelayTellsItsSinkItSendsEveryHeartbeat() {
        let promised = Mutex<[Duration]>([])
        let sink = NotificationSink({ _ in }, sendsRegularly: { interval in promised.withLock { $0.append(interval) } })
        let task = TaskHandleTests.task(phase: .pending)
        let relay = ProgressRelay(of: task.key, latest: { task }, to: ProgressTarget(token: "p", sink: sink), hub: TaskEventHub(),
                                  timers: TimerQueue(clock: ManualClock()), heartbeat: .seconds(15))
        #expect(promised.withLock { $0 } == [.seconds(15)])
        relay.stop()
    }

    @Test func aStoppedRelayIsFreed() {
        // Its hub listener and heartbeat hold it while it runs; a relay kept after its stop would keep the call's stream.
        let timers = TimerQueue(clock: ManualClock())
        let hub = TaskEventHub()
        let task = TaskHandleTests.task(phase: .pending)
        weak var freed: ProgressRelay?
        do {
            let relay = ProgressRelay(of: task.key, latest: { task }, to: ProgressTarget(token: "p", sink: NotificationSink { _ in }),
                                      hub: hub, timers: timers, heartbeat: .seconds(15))
            freed = relay
            relay.stop()
        }
        #expect(freed == nil)
    }
}
