import Foundation
import KubeJSON
import Synchronization
import Testing
@testable import LocalAPIServer

/// A watch cancelled while a write wakes it. Cancelling a task runs its cancellation handlers (here the
/// stream's termination handler) with the task's runtime lock held; a writer that holds the store's lock
/// wakes the same task (a yield to its stream), which takes that runtime lock. A termination handler that
/// waited for the store's lock would leave both waiting forever: every request behind the store stalls,
/// and `conductor dev` stopped answering that way.
@Suite struct WatchCancellationRaceTests {
    /// What the writer and canceller threads share with the test.
    final class Shared: Sendable {
        let stop = Atomic<Bool>(false)
        let writes = Atomic<Int>(0)
        let cancelled = Atomic<Int>(0)
        let pending = Mutex<[Task<Void, Never>]>([])
    }

    @Test func cancellingWatchesWhileWritesWakeThemNeverDeadlocks() async throws {
        let directory = NSTemporaryDirectory() + "store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try ObjectStore(directory: directory)
        let shared = Shared()
        let rounds = 600
        defer { shared.stop.store(true, ordering: .relaxed) }

        // The writer, the watcher and the canceller run on threads of their own, so that a deadlock stalls them
        // and the test still fails in time.
        Thread {
            var value: Int64 = 0
            while !shared.stop.load(ordering: .relaxed) {
                value += 1
                _ = try? store.mutate("g/things", namespace: "ns", name: "hot") { _ throws(APIError) -> Mutation in
                    .put(["metadata": ["name": "hot"], "value": .int(value)])
                }
                shared.writes.add(1, ordering: .relaxed)
            }
        }.start()
        Thread {
            while !shared.stop.load(ordering: .relaxed) {
                let readers = shared.pending.withLock { pending in
                    defer { pending.removeAll() }
                    return pending
                }
                for reader in readers {
                    reader.cancel()
                    shared.cancelled.add(1, ordering: .relaxed)
                }
                if readers.isEmpty { usleep(20) }  // idle without spinning: the suites beside this one need the cores
            }
        }.start()

        Thread {
            for _ in 0..<rounds where !shared.stop.load(ordering: .relaxed) {
                guard let subscription = try? store.watch("g/things", namespace: nil, from: .after(store.currentRevision)) else { continue }
                let reader = Task { for await _ in subscription.signals {} }
                shared.pending.withLock { $0.append(reader) }
                sched_yield()
            }
        }.start()

        let deadline = ContinuousClock.now + .seconds(60)
        while shared.cancelled.load(ordering: .relaxed) < rounds, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(shared.cancelled.load(ordering: .relaxed) == rounds, "the canceller stalled: a cancellation waits for the store")
        // And the writer still writes.
        let writes = shared.writes.load(ordering: .relaxed)
        while shared.writes.load(ordering: .relaxed) == writes, ContinuousClock.now < deadline + .seconds(5) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(shared.writes.load(ordering: .relaxed) > writes, "the writer stalled: a write waits for a cancelled watch")
    }
}
