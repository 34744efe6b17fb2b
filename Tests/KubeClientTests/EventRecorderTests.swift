import Foundation
import KubeClient
import KubeJSON
import Testing

/// The core/v1 Events about the object named `name` in default.
func events(about name: String, _ client: KubeClient) async throws -> [Event] {
    try await client.resource(Event.self, namespace: "default").list(ListOptions(fieldSelector: "involvedObject.name=\(name)")).items
}

func pod(_ name: String) -> ObjectReference {
    ObjectReference(apiVersion: "v1", kind: "Pod", namespace: "default", name: name, uid: "uid-\(name)")
}

/// Waits until the recorder has written (or given up on) `count` events in all.
func waitUntilWritten(_ recorder: EventRecorder, _ count: Int) async throws {
    try await waitUntil("the recorder has written \(count) events") {
        let stats = recorder.stats
        return stats.created + stats.patched + stats.failed >= count
    }
}

/// A recorder on a manual clock, writing to a fresh server.
final class RecorderHarness {
    let server: APIServerProcess
    let client: KubeClient
    let clock = ManualClock()
    let recorder: EventRecorder
    private var writer: Task<Void, Never>?

    init(server: APIServerProcess, client: KubeClient, options: EventRecorder.Options, host: String?) {
        self.server = server
        self.client = client
        recorder = EventRecorder(client: client, component: "conductor", host: host, options: options, clock: clock)
    }

    /// Starts the writer (tests that fill the queue first start it later).
    func startWriting() {
        let recorder = recorder
        writer = writer ?? Task { await recorder.run() }
    }

    /// Finishes the recorder and waits for the writer to drain it; a cancelled wait (the suite's time limit)
    /// cancels the writer, which may be sleeping on the manual clock after a failed write.
    func finish() async {
        recorder.finish()
        let writer = self.writer
        await withTaskCancellationHandler { await writer?.value } onCancel: { writer?.cancel() }
    }

    /// Stops the writer without draining: the test failed, and what is queued no longer matters.
    func abandon() async {
        writer?.cancel()
        await finish()
    }
}

extension EventRecorder.Options {
    /// The defaults, but a write that fails (a loaded machine's hiccup) is tried again at once: its pause
    /// would sleep on the manual clock, which only the test about retries advances.
    static var retryingAtOnce: Self {
        var options = Self()
        options.retryDelay = .zero
        return options
    }
}

func withRecorder(options: EventRecorder.Options = .retryingAtOnce, host: String? = nil,
                  _ body: (RecorderHarness) async throws -> Void) async throws {
    try await withServer { server, client in
        let harness = RecorderHarness(server: server, client: client, options: options, host: host)
        do {
            try await body(harness)
        } catch {
            await harness.abandon()
            throw error
        }
        await harness.finish()
    }
}

// A wait here that cancellation ends cannot hold the run: the suite fails in time instead.
@Suite(.timeLimit(.minutes(2))) struct EventRecording {
    @Test func repeatsAreCountedOnOneEvent() async throws {
        try await withRecorder(host: "node-1") { harness in
            let (client, clock, recorder) = (harness.client, harness.clock, harness.recorder)
            harness.startWriting()
            let firstAt = clock.wallTime
            for _ in 0..<5 {
                recorder.record(pod("web-1"), type: .warning, reason: "BackOff", message: "Back-off restarting failed container")
                clock.advance(by: .seconds(1))
            }
            try await waitUntilWritten(recorder, 5)

            let written = try await events(about: "web-1", client)
            #expect(written.count == 1, "\(written.map(\.name))")
            let event = try #require(written.first)
            #expect(event.count == 5)
            #expect(event.type == "Warning" && event.reason == "BackOff")
            #expect(event.message == "Back-off restarting failed container")
            #expect(event.source == Event.Source(component: "conductor", host: "node-1"))
            #expect(event.reportingComponent == "conductor" && event.reportingInstance == "node-1")
            #expect(event.involvedObject == pod("web-1"))
            #expect(event.firstTimestamp == KubeTimestamp.time(firstAt))
            #expect(event.lastTimestamp == KubeTimestamp.time(firstAt.addingTimeInterval(4)))
            // client-go's name: the object's name and the first occurrence's Unix nanoseconds in hex.
            #expect(event.name == "web-1." + String(Int64(firstAt.timeIntervalSince1970 * 1e9), radix: 16))

            // Another reason is another event.
            recorder.record(pod("web-1"), type: .normal, reason: "Pulled", message: "Container image pulled")
            try await waitUntilWritten(recorder, 6)
            #expect(try await events(about: "web-1", client).count == 2)
            #expect(recorder.stats == EventRecorder.Stats(queued: 6, created: 2, patched: 4))
        }
    }

    @Test func similarEventsAreCombinedWithinTheWindow() async throws {
        try await withRecorder { harness in
            let (client, clock, recorder) = (harness.client, harness.clock, harness.recorder)
            harness.startWriting()
            // Twelve events that differ only in their message, within ten minutes.
            for attempt in 0..<12 {
                recorder.record(pod("web-2"), type: .warning, reason: "Unhealthy", message: "probe failed: attempt \(attempt)")
                clock.advance(by: .seconds(10))
            }
            try await waitUntilWritten(recorder, 12)

            var written = try await events(about: "web-2", client)
            let combined = written.filter { $0.message?.hasPrefix("(combined from similar events): ") == true }
            // The first nine stand alone; from the tenth on they are counted on one combined event.
            #expect(written.count == 10)
            #expect(Set(written.compactMap(\.message)).isSuperset(of: (0..<9).map { "probe failed: attempt \($0)" }))
            #expect(combined.count == 1)
            #expect(combined.first?.count == 3)
            #expect(combined.first?.message == "(combined from similar events): probe failed: attempt 11")
            #expect(combined.first?.reason == "Unhealthy" && combined.first?.type == "Warning")

            // Once ten quiet minutes have passed, a new message stands alone again.
            clock.advance(by: .seconds(601))
            recorder.record(pod("web-2"), type: .warning, reason: "Unhealthy", message: "probe failed: attempt 12")
            try await waitUntilWritten(recorder, 13)
            written = try await events(about: "web-2", client)
            #expect(written.count == 11)
            #expect(written.contains { $0.message == "probe failed: attempt 12" && $0.count == 1 })
            #expect(recorder.stats == EventRecorder.Stats(queued: 13, created: 11, patched: 2))
        }
    }

    @Test func fullQueueAndSpamAreDroppedAndCountedWithoutBlocking() async throws {
        var options = EventRecorder.Options.retryingAtOnce
        options.queueCapacity = 4
        options.spamBurst = 3
        try await withRecorder(options: options) { harness in
            let (client, clock, recorder) = (harness.client, harness.clock, harness.recorder)

            // Nothing drains the queue yet: the first four wait, the rest are dropped at once.
            for index in 0..<7 {
                recorder.record(pod("web-3"), type: .normal, reason: "Step\(index)", message: "step \(index)")
            }
            recorder.record(ObjectReference(kind: "Pod", namespace: "default"), type: .normal, reason: "NoName", message: "no object")
            #expect(recorder.stats == EventRecorder.Stats(queued: 4, droppedQueueFull: 3, failed: 1))

            // Draining: the object's burst is three, so the fourth is dropped as spam.
            harness.startWriting()
            try await waitUntil("the queue is drained") {
                let stats = recorder.stats
                return stats.created + stats.droppedAsSpam == 4
            }
            #expect(recorder.stats.droppedAsSpam == 1)
            #expect(Set(try await events(about: "web-3", client).compactMap(\.reason)) == ["Step0", "Step1", "Step2"])

            // The bucket refills one event every five minutes.
            recorder.record(pod("web-3"), type: .normal, reason: "Early", message: "too soon")
            clock.advance(by: .seconds(300))
            recorder.record(pod("web-3"), type: .normal, reason: "Later", message: "after the refill")
            try await waitUntil("both are handled") {
                let stats = recorder.stats
                return stats.created + stats.droppedAsSpam == 6
            }
            #expect(recorder.stats.droppedAsSpam == 2)
            #expect(try await events(about: "web-3", client).contains { $0.reason == "Later" })

            await harness.finish()
            recorder.record(pod("web-3"), type: .normal, reason: "AfterFinish", message: "dropped")
            #expect(recorder.stats.droppedQueueFull == 4)
        }
    }

    @Test func writesFailingWhileTheServerIsDownAreRetriedOnTheClock() async throws {
        try await withRecorder(options: EventRecorder.Options()) { harness in
            let (clock, recorder) = (harness.clock, harness.recorder)
            harness.startWriting()
            await harness.server.kill()
            recorder.record(pod("web-4"), type: .warning, reason: "Failed", message: "written once the server is back")

            // The write fails and the writer pauses on the clock, for a random part of the retry delay at first.
            try await waitUntil("the writer waits to retry") { clock.sleeperCount == 1 }
            #expect(recorder.stats == EventRecorder.Stats(queued: 1))
            let retryAt = try #require(clock.nextWakeUp)
            #expect(retryAt <= clock.now.advanced(by: EventRecorder.Options().retryDelay))

            try await harness.server.start()
            clock.advance(to: retryAt)
            try await waitUntilWritten(recorder, 1)
            #expect(recorder.stats == EventRecorder.Stats(queued: 1, created: 1))
            #expect(try await events(about: "web-4", harness.client).map(\.message) == ["written once the server is back"])
        }
    }
}
