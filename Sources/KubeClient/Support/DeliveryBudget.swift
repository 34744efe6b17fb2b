import Synchronization

/// What a stream's producer and its consumer share to keep the elements between them bounded: the producer
/// counts each element it hands over (`delivered`), the consumer each one it takes (`taken`), and the producer
/// waits (`waitForRoom`) while more than `limit` are outstanding, until the consumer is down to half. Handing
/// over never waits, so a producer may do it under its own lock and wait afterwards, outside it. The producer
/// counts an element before it hands it over: a consumer may take it the moment it is yielded.
///
/// Holding the producer back is the point: a watch whose consumer falls behind stops reading its response, the
/// transport stops reading the connection (`StreamBackpressure`), and HTTP/2 flow control holds the server
/// back, instead of this process buffering every event in memory.
public final class DeliveryBudget: Sendable {
    private struct State {
        var outstanding = 0
        /// The consumer is gone: nothing will be taken, so nobody may wait for room.
        var ended = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    /// The most elements handed over and not taken before the producer waits.
    public let limit: Int
    private let state = Mutex(State())

    public init(limit: Int) {
        precondition(limit > 0, "a delivery budget needs room for at least one element")
        self.limit = limit
    }

    /// Elements handed over and not taken yet.
    public var outstanding: Int { state.withLock { $0.outstanding } }

    /// Producers waiting for room now.
    var waitingProducers: Int { state.withLock { $0.waiters.count } }

    /// The producer handed over `count` elements.
    public func delivered(_ count: Int = 1) {
        state.withLock { $0.outstanding += count }
    }

    /// The consumer took `count` elements; wakes a waiting producer once half the budget is free.
    public func taken(_ count: Int = 1) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.outstanding -= count
            guard state.outstanding <= limit / 2, !state.waiters.isEmpty else { return [] }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        // Resumed outside the lock, so that holding it never waits on a task.
        for waiter in woken { waiter.resume() }
    }

    /// The consumer is gone (finished or cancelled): a producer waiting for room, now or later, goes on.
    public func end() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.ended = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns at once while at most `limit` elements are outstanding; otherwise once the consumer is down to
    /// half of it, has ended, or the waiting task is cancelled.
    public func waitForRoom() async {
        // The common case, without a continuation: suspending and resuming at once costs a trip through the
        // executor for every element of every watch.
        let id = state.withLock { state -> Int? in
            if state.ended || state.outstanding <= limit { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let mayGoOn = state.withLock { state -> Bool in
                    // Checked under the lock: a cancellation handler that ran before this found nothing to resume.
                    if state.ended || state.outstanding <= limit || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if mayGoOn { continuation.resume() }
            }
        } onCancel: {
            // Runs with the cancelled task's runtime lock held: it takes only this budget's lock, which no
            // holder keeps while waiting for anything.
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

/// A stream whose consumer's progress is counted against a `DeliveryBudget`: each element it takes frees one
/// unit of the budget, and the end of the base stream ends the budget. Its producer hands elements to `base`
/// and counts them with `budget.delivered`, waiting with `budget.waitForRoom` when it may.
///
/// A consumer that stops iterating early must end the budget some other way (the base stream's termination
/// handler), or its producer may wait for it forever.
public struct BoundedStream<Base: AsyncSequence>: AsyncSequence {
    public typealias Element = Base.Element
    public typealias Failure = Base.Failure

    let base: Base
    let budget: DeliveryBudget

    public init(_ base: Base, budget: DeliveryBudget) {
        self.base = base
        self.budget = budget
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let budget: DeliveryBudget

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(Base.Failure) -> Element? {
            do {
                guard let element = try await base.next(isolation: actor) else {
                    budget.end()
                    return nil
                }
                budget.taken()
                return element
            } catch {
                budget.end()
                throw error
            }
        }

        public mutating func next() async throws(Base.Failure) -> Element? {
            try await next(isolation: nil)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), budget: budget)
    }
}

extension BoundedStream: Sendable where Base: Sendable {}
