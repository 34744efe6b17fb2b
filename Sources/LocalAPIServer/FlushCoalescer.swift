import NIOCore

/// Turns the flushes a connection receives within one turn of its event loop into one.
///
/// Every watch event and every part of a response arrives at the connection as its own write and flush
/// (Hummingbird's writer flushes each element it is given), and each flush below HTTP/2 costs a TLS record
/// and a `write(2)`, and the client a wakeup to read it. One write to the store sends an event to every
/// watch that selects it, often several on one connection (a process's informers and agents share it), and
/// answers the writer on that connection as well. Deferring the flush to a task queued behind the writes
/// already queued on the loop lets them leave together; a lone flush leaves one task later, within the same
/// turn of the loop, before it next waits for I/O.
///
/// It sits right after TLS, so it sees the bytes of every stream and of HTTP/1.1 alike.
final class FlushCoalescer: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private var flushQueued = false

    func flush(context: ChannelHandlerContext) {
        guard !flushQueued else { return }
        flushQueued = true
        context.eventLoop.assumeIsolated().execute {
            guard self.flushQueued else { return }   // a close has flushed already
            self.flushQueued = false
            context.flush()
        }
    }

    /// A close that follows a flush in the same turn (an answer, then the end of the connection) flushes first: TLS
    /// shuts down on a close and would drop what it still holds unflushed.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if flushQueued {
            flushQueued = false
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }
}
