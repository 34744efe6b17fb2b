import Atomics

/// The shared state of an unbounded lock-free multi-producer single-consumer queue: Dmitry Vyukov's linked
/// queue with a rotating stub node. A producer appends with one atomic exchange on `head` and then links the
/// previous node to its own; the consumer follows the links from `tail`. Between a producer's exchange and its
/// link the chain is briefly cut, and the consumer then sees no item yet; the parking handshake below makes
/// sure it is woken once the link lands.
///
/// `@unchecked Sendable` invariant: `head` and the nodes' links are touched only through atomics; `tail`, and the
/// elements of nodes already linked, are touched only by the single consumer, which `AssignmentQueueConsumer`
/// guarantees by being the one non-Sendable owner of the consuming side. A node's element is written by its
/// producer before the node is published (release by the exchange and the link store) and read by the consumer
/// after it loads the link (acquire), so element and link never race.
@usableFromInline
final class QueueCore<Element: Sendable>: @unchecked Sendable {
    @usableFromInline typealias Node = QueueNode<Element>

    /// The most recently appended node.
    @usableFromInline let head: ManagedAtomic<Node.Pointer>
    /// The consumer's stub: the node whose successor carries the oldest element. Consumer-only.
    @usableFromInline var tail: Node.Pointer
    /// Set by the consumer just before it sleeps; a producer that sees it set wakes the consumer.
    @usableFromInline let consumerParked = ManagedAtomic<Bool>(false)
    @usableFromInline let wakeup = ConsumerWakeup()

    @usableFromInline
    init() {
        let stub = Node.allocate(carrying: nil)
        head = ManagedAtomic(stub)
        tail = stub
    }

    deinit {
        // Both sides are gone, so nothing else can touch the chain.
        var node: Node.Pointer? = tail
        while let current = node {
            node = Node.next(of: current).load(ordering: .relaxed)
            Node.free(current)
        }
    }

    // MARK: Producers

    @inlinable
    func enqueue(_ element: Element) {
        let node = Node.allocate(carrying: element)
        let previous = head.exchange(node, ordering: .acquiringAndReleasing)
        // Sequentially consistent, paired with the consumer's store to `consumerParked` and its re-check of the
        // link: either the consumer sees this link, or this producer sees the consumer parked and wakes it.
        Node.next(of: previous).store(node, ordering: .sequentiallyConsistent)
        if consumerParked.load(ordering: .sequentiallyConsistent),
           consumerParked.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged
        {
            wakeup.post()
        }
    }

    // MARK: The consumer

    /// Whether an element is linked and ready to dequeue. Consumer-only.
    @inlinable
    var hasLinkedElement: Bool {
        Node.next(of: tail).load(ordering: .sequentiallyConsistent) != nil
    }

    /// The oldest linked element, or `nil` when none is linked yet. Consumer-only.
    @inlinable
    func dequeue() -> Element? {
        let stub = tail
        guard let next = Node.next(of: stub).load(ordering: .acquiring) else { return nil }
        // `next` becomes the stub: its element moves out and the old stub is freed.
        let element = next.pointee.element.take()
        tail = next
        Node.free(stub)
        return element
    }

    /// Announces that the consumer is about to sleep. Consumer-only; always followed by a re-check of
    /// `hasLinkedElement` before sleeping.
    @inlinable
    func announceParking() {
        consumerParked.store(true, ordering: .sequentiallyConsistent)
    }

    /// Withdraws the announcement after the consumer found work or woke up. A producer that cleared it first
    /// has posted (or will post) a wake-up, which the next wait consumes as a spurious one.
    @inlinable
    func withdrawParking() {
        consumerParked.store(false, ordering: .sequentiallyConsistent)
    }
}
