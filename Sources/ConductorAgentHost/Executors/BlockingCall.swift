import Foundation
import Synchronization

/// Runs blocking system calls (read, write, waitpid) on threads of their own, so that they never hold a
/// thread of Swift's cooperative pool, which has only as many threads as cores.
///
/// Each call gets a thread at once (a command executor needs four per running task, stdin, stdout, stderr
/// and wait, which block on each other: a fixed pool could leave a reader queued behind the wait it ends).
/// A thread whose call returned waits a while for the next one before it ends, instead of a thread made and
/// ended per call: four per task, each a clone(2), a stack and often a fresh allocator arena (an agent
/// running `cat` per task went from 121 to 142 tasks/s on two cores, one run each).
enum BlockingCall {
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            BlockingThreads.shared.submit { continuation.resume(returning: body()) }
        }
    }
}

/// The threads `BlockingCall` runs on: as many as calls in progress, each kept idle for `idleLifetime`
/// after its call. Work goes to one idle thread by hand (its own slot and condition), never to a queue.
final class BlockingThreads: Sendable {
    static let shared = BlockingThreads(idleLifetime: .seconds(60))

    /// An idle thread's hand: the work given to it, and the condition it waits on.
    /// `@unchecked Sendable`: `work` is read and written only with `condition` locked.
    private final class Hand: @unchecked Sendable {
        let condition = NSCondition()
        var work: (@Sendable () -> Void)?
    }

    private let idleLifetime: Duration
    /// Idle threads, the most recently idle last (it is given work first, so that the others time out).
    private let idle = Mutex<[Hand]>([])
    /// Numbers the threads' names (conductor-blocking-N), for a stack dump or `top -H` to tell them apart.
    private let threadsMade = Atomic<Int>(0)
    private let threadsDone = Atomic<Int>(0)

    init(idleLifetime: Duration) {
        self.idleLifetime = idleLifetime
    }

    /// Idle threads now.
    var idleThreads: Int { idle.withLock { $0.count } }

    /// Threads made so far.
    var threadsStarted: Int { threadsMade.load(ordering: .relaxed) }

    /// Threads that ended, idle for their whole `idleLifetime`.
    var threadsEnded: Int { threadsDone.load(ordering: .relaxed) }

    /// Runs `work` on an idle thread, or a new one when none is idle: never queued behind another call.
    func submit(_ work: @escaping @Sendable () -> Void) {
        if let hand = idle.withLock({ $0.popLast() }) {
            hand.condition.lock()
            hand.work = work
            hand.condition.signal()
            hand.condition.unlock()
        } else {
            let thread = Thread { [self] in serve(first: work) }
            thread.name = "conductor-blocking-\(threadsMade.add(1, ordering: .relaxed).newValue)"
            thread.start()
        }
    }

    private func serve(first: @escaping @Sendable () -> Void) {
        var work: (@Sendable () -> Void)? = first
        let hand = Hand()
        while let current = work {
            current()
            work = waitForWork(hand)
        }
        threadsDone.add(1, ordering: .relaxed)
    }

    /// Offers the thread for work until `idleLifetime` passes; nil then (the thread ends).
    private func waitForWork(_ hand: Hand) -> (@Sendable () -> Void)? {
        hand.condition.lock()
        defer { hand.condition.unlock() }
        hand.work = nil
        idle.withLock { $0.append(hand) }
        let deadline = Date(timeIntervalSinceNow: Double(idleLifetime.components.seconds))
        var promised = false
        while hand.work == nil {
            if promised {
                hand.condition.wait()
            } else if !hand.condition.wait(until: deadline) {
                // Leave, unless a submitter took this hand from the idle list meanwhile: its work is coming.
                let left = idle.withLock { hands in
                    guard let index = hands.firstIndex(where: { $0 === hand }) else { return false }
                    hands.remove(at: index)
                    return true
                }
                if left { return nil }
                promised = true
            }
        }
        return hand.work
    }
}
