import NIOCore

/// Turns the writes and flushes a connection receives within one turn of its event loop into one write and one
/// flush.
///
/// Every watch event and every part of a response arrives at the connection as its own write and flush
/// (Hummingbird's writer flushes each element it is given), and HTTP/2 writes each frame apart, a DATA frame as two
/// writes (its 9-byte header, then its payload). Below HTTP/2 each write is a TLS record of its own (NIOSSL encrypts
/// each write it holds by itself) and each flush a `write(2)`; the client reads a record in two system calls (OpenSSL
/// reads its header, then the rest). One write to the store sends an event to every watch that selects it, often
/// several on one connection (a process's informers and agents share it), and answers the writer on that connection
/// as well. Deferring the flush to a task queued behind the writes already queued on the loop lets them leave
/// together, and gathering their bytes into one buffer makes them one record (or as few as TLS allows); a lone flush
/// leaves one task later, within the same turn of the loop, before it next waits for I/O.
///
/// It sits right after TLS, so it sees the bytes of every stream and of HTTP/1.1 alike.
final class FlushCoalescer: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Gathered bytes are passed on, unflushed, once they pass this: a large answer (a long list) is not copied
    /// whole into one buffer.
    static let gatherLimit = 64 * 1024

    private var flushQueued = false
    /// The bytes written since the last flush passed on, and the promises of their writes.
    private var gathered: ByteBuffer?
    private var promises: [EventLoopPromise<Void>] = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var bytes) = unwrapOutboundIn(data) else {
            // A file region cannot be gathered: what came before it goes first.
            passOnGathered(context: context)
            context.write(data, promise: promise)
            return
        }
        if gathered == nil {
            gathered = bytes
        } else {
            gathered!.writeBuffer(&bytes)
        }
        if let promise { promises.append(promise) }
        if gathered!.readableBytes >= Self.gatherLimit { passOnGathered(context: context) }
    }

    func flush(context: ChannelHandlerContext) {
        guard !flushQueued else { return }
        flushQueued = true
        context.eventLoop.assumeIsolated().execute {
            guard self.flushQueued else { return }   // a close has flushed already
            self.flushQueued = false
            self.passOnGathered(context: context)
            context.flush()
        }
    }

    /// A close that follows a flush in the same turn (an answer, then the end of the connection) flushes first: TLS
    /// shuts down on a close and would drop what it still holds unflushed.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if flushQueued {
            flushQueued = false
            passOnGathered(context: context)
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }

    /// What is still gathered when the connection ends (or the handler leaves it) can no longer be written.
    func channelInactive(context: ChannelHandlerContext) {
        failGathered(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failGathered(ChannelError.ioOnClosedChannel)
    }

    private func passOnGathered(context: ChannelHandlerContext) {
        guard let bytes = gathered else { return }
        gathered = nil
        let waiting = promises
        promises.removeAll(keepingCapacity: true)
        switch waiting.count {
        case 0:
            context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
        case 1:
            context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: waiting[0])
        default:
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenComplete { result in
                for promise in waiting { promise.completeWith(result) }
            }
            context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: written)
        }
    }

    private func failGathered(_ error: any Error) {
        gathered = nil
        let waiting = promises
        promises.removeAll()
        for promise in waiting { promise.fail(error) }
    }
}
