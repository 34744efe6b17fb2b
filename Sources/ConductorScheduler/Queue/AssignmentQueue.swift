/// The producing side of an unbounded lock-free multi-producer single-consumer queue. Task actors enqueue the
/// schedulable tasks here; the scheduler drains them through the one `AssignmentQueueConsumer` made with it.
/// Enqueueing never blocks and never takes a lock while the consumer is running; it takes one short lock only to
/// wake a consumer that is parked.
///
/// Elements from one producer arrive in the order that producer enqueued them; elements of different producers
/// interleave in the order of their atomic appends.
public struct AssignmentQueue<Element: Sendable>: Sendable {
    @usableFromInline let core: QueueCore<Element>

    @usableFromInline
    init(core: QueueCore<Element>) {
        self.core = core
    }

    /// Makes a queue and its single consumer. Hand the consumer to the one task or actor that drains the queue.
    public static func make() -> (queue: AssignmentQueue, consumer: AssignmentQueueConsumer<Element>) {
        let core = QueueCore<Element>()
        return (AssignmentQueue(core: core), AssignmentQueueConsumer(core: core))
    }

    @inlinable
    public func enqueue(_ element: Element) {
        core.enqueue(element)
    }
}

/// The consuming side of an `AssignmentQueue`. It is deliberately not `Sendable`: the compiler then keeps it in
/// one isolation domain, which is what makes the queue single-consumer.
public final class AssignmentQueueConsumer<Element: Sendable> {
    @usableFromInline let core: QueueCore<Element>

    init(core: QueueCore<Element>) {
        self.core = core
    }

    /// Whether an element can be drained now.
    @inlinable
    public var hasElements: Bool { core.hasLinkedElement }

    /// Takes up to `max` elements, oldest first, without waiting.
    @inlinable
    public func drain(max: Int) -> [Element] {
        var batch: [Element] = []
        batch.reserveCapacity(Swift.min(max, 64))
        while batch.count < max, let element = core.dequeue() {
            batch.append(element)
        }
        return batch
    }

    /// Suspends, without spinning, until an element can be drained. Returns `true` when one can, `false` when the
    /// calling task was cancelled. It runs in the caller's isolation, so an actor can own the consumer and await
    /// here.
    nonisolated(nonsending) public func waitForElements() async -> Bool {
        while true {
            if core.hasLinkedElement { return true }
            core.announceParking()
            // The re-check after the announcement closes the race with a producer that linked its node before it
            // could see the announcement.
            if core.hasLinkedElement {
                core.withdrawParking()
                return true
            }
            let woken = await core.wakeup.wait()
            core.withdrawParking()
            if !woken { return false }
        }
    }
}
