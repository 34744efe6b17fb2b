import Atomics

/// One link of the queue's chain. Nodes live in manually managed memory so that a producer can publish one
/// with a single atomic exchange, without reference counting on the hot path.
struct QueueNode<Element> {
    typealias Pointer = UnsafeMutablePointer<QueueNode<Element>>
    typealias Link = UnsafeAtomic<Pointer?>

    /// The node after this one; written once by the producer that appends the next node.
    var nextStorage: Link.Storage
    /// The carried element; `nil` in the node that currently serves as the consumer's stub.
    var element: Element?

    static func allocate(carrying element: Element?) -> Pointer {
        let node = Pointer.allocate(capacity: 1)
        node.initialize(to: QueueNode(nextStorage: Link.Storage(nil), element: element))
        return node
    }

    static func free(_ node: Pointer) {
        node.deinitialize(count: 1)
        node.deallocate()
    }

    /// The atomic view of a node's link. The storage has a fixed address for the node's whole life.
    static func next(of node: Pointer) -> Link {
        Link(at: node.pointer(to: \.nextStorage)!)
    }
}
