import Atomics

/// One link of the queue's chain. Nodes live in manually managed memory so that a producer can publish one
/// with a single atomic exchange, without reference counting on the hot path.
@usableFromInline
struct QueueNode<Element> {
    @usableFromInline typealias Pointer = UnsafeMutablePointer<QueueNode<Element>>
    @usableFromInline typealias Link = UnsafeAtomic<Pointer?>

    /// The node after this one; written once by the producer that appends the next node.
    @usableFromInline var nextStorage: Link.Storage
    /// The carried element; `nil` in the node that currently serves as the consumer's stub.
    @usableFromInline var element: Element?

    @inlinable
    init(nextStorage: Link.Storage, element: Element?) {
        self.nextStorage = nextStorage
        self.element = element
    }

    @inlinable
    static func allocate(carrying element: Element?) -> Pointer {
        let node = Pointer.allocate(capacity: 1)
        node.initialize(to: QueueNode(nextStorage: Link.Storage(nil), element: element))
        return node
    }

    @inlinable
    static func free(_ node: Pointer) {
        node.deinitialize(count: 1)
        node.deallocate()
    }

    /// The atomic view of a node's link. The storage has a fixed address for the node's whole life.
    @inlinable
    static func next(of node: Pointer) -> Link {
        Link(at: node.pointer(to: \.nextStorage)!)
    }
}
