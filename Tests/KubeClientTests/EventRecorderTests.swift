import Foundation
import KubeClient
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

@Suite struct EventRecording {
    @Test func repeatsAreCountedOnOneEvent() async throws {
        try await withServer { _, client in
            let clock = ManualClock()
            let recorder = EventRecorder(client: client, component: "conductor", host: "node-1", clock: clock)
            let writer = Task { await recorder.run() }
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

            recorder.finish()
            await writer.value
        }
    }

    @Test func similarEventsAreCombinedWithinTheWindow() async throws {
        try await withServer { _, client in
            let clock = ManualClock()
            let recorder = EventRecorder(client: client, component: "conductor", clock: clock)
            let writer = Task { await recorder.run() }
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

            recorder.finish()
            await writer.value
        }
    }

    @Test func fullQueueAndSpamAreDroppedAndCountedWithoutBlocking() async throws {
        try await withServer { _, client in
            let clock = ManualClock()
            var options = EventRecorder.Options()
            options.queueCapacity = 4
            options.spamBurst = 3
            let recorder = EventRecorder(client: client, component: "conductor", options: options, clock: clock)

            // Nothing drains the queue yet: the first four wait, the rest are dropped at once.
            for index in 0..<7 {
                recorder.record(pod("web-3"), type: .normal, reason: "Step\(index)", message: "step \(index)")
            }
            recorder.record(ObjectReference(kind: "Pod", namespace: "default"), type: .normal, reason: "NoName", message: "no object")
            #expect(recorder.stats == EventRecorder.Stats(queued: 4, droppedQueueFull: 3, failed: 1))

            // Draining: the object's burst is three, so the fourth is dropped as spam.
            let writer = Task { await recorder.run() }
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

            recorder.finish()
            await writer.value
            recorder.record(pod("web-3"), type: .normal, reason: "AfterFinish", message: "dropped")
            #expect(recorder.stats.droppedQueueFull == 4)
        }
    }
}
