import NIOCore
import NIOEmbedded
import Testing
@testable import LocalAPIServer

/// Records the flushes and closes that reach it, in order, as the TLS handler below the coalescer would receive them.
private final class FlushCounter: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    var operations: [String] = []
    var flushes: Int { operations.filter { $0 == "flush" }.count }

    func flush(context: ChannelHandlerContext) {
        operations.append("flush")
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        operations.append("close")
        context.close(mode: mode, promise: promise)
    }
}

@Suite struct FlushCoalescerTests {
    /// A channel with the coalescer above a counter of what reaches the layer below it.
    fileprivate func coalescedChannel() throws -> (EmbeddedEventLoop, EmbeddedChannel, FlushCounter) {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let counter = FlushCounter()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(FlushCoalescer())
        return (loop, channel, counter)
    }

    @Test func flushesWithinOneTurnOfTheLoopLeaveAsOne() throws {
        let (loop, channel, counter) = try coalescedChannel()

        for text in ["first", "second", "third"] {
            channel.write(ByteBuffer(string: text), promise: nil)
            channel.flush()
        }
        #expect(counter.flushes == 0)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)

        loop.run()
        #expect(counter.flushes == 1)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "first"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "second"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "third"))

        // A later turn flushes again: the coalescer holds nothing back once its flush has run.
        channel.write(ByteBuffer(string: "fourth"), promise: nil)
        channel.flush()
        loop.run()
        #expect(counter.flushes == 2)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "fourth"))
        _ = try channel.finish()
    }

    @Test func aCloseRightAfterAFlushFlushesFirst() throws {
        let (loop, channel, counter) = try coalescedChannel()

        channel.write(ByteBuffer(string: "last answer"), promise: nil)
        channel.flush()
        channel.close(promise: nil)
        #expect(counter.operations == ["flush", "close"])
        loop.run()
        #expect(counter.operations == ["flush", "close"], "the queued flush found nothing left to do")
    }
}
