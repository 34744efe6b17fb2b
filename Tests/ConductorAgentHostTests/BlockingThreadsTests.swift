import ConductorTestSupport
import Foundation
import Synchronization
import Testing

@testable import ConductorAgentHost

@Suite(.timeLimit(.minutes(1))) struct BlockingThreadsTests {
    final class Started: Sendable {
        let count = Mutex(0)
    }

    /// Runs `count` calls that each block until all have started: they finish only if none waits for another's
    /// thread.
    func runTogether(_ count: Int, on threads: BlockingThreads) async {
        let started = Started()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        threads.submit {
                            started.count.withLock { $0 += 1 }
                            while started.count.withLock({ $0 }) < count { usleep(1_000) }
                            continuation.resume()
                        }
                    }
                }
            }
        }
    }

    @Test func callsThatWaitOnEachOtherEachGetAThreadAndIdleThreadsAreReused() async throws {
        let threads = BlockingThreads(idleLifetime: .seconds(600))
        await runTogether(4, on: threads)
        #expect(threads.threadsStarted == 4)
        try await waitUntil("the four threads are idle") { threads.idleThreads == 4 }
        await runTogether(4, on: threads)
        #expect(threads.threadsStarted == 4, "the idle threads ran the second calls")
    }

    @Test func idleThreadsEndAfterTheirIdleLifetime() async throws {
        let threads = BlockingThreads(idleLifetime: .seconds(3))
        await runTogether(2, on: threads)
        // Counted as they end, not sampled while idle: a loaded machine may not poll within the 3 s they idle.
        try await waitUntil("the idle threads ended") { threads.threadsEnded == 2 }
        #expect(threads.idleThreads == 0)
        await runTogether(2, on: threads)
        #expect(threads.threadsStarted == 4, "new threads ran the later calls")
    }
}
