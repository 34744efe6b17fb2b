import NIOCore
import NIOEmbedded
import Testing
@testable import LocalAPIServer

/// Counts the flushes that reach it, as the TLS handler below the coalescer would receive them, and records them
/// in order with the closes.
private final class FlushCounter: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    var flushes = 0
    var operations: [String] = []

    func flush(context: ChannelHandlerContext) {
        flushes += 1
        operations.append("flush")
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        operations.append("close")
        context.close(mode: mode, promise: promise)
    }
}

@Suite struct FlushCoalescerTests {
    @Test func flushesWithinOneTurnOfTheLoopLeaveAsOne() throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let counter = FlushCounter()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(FlushCoalescer())

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
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let counter = FlushCounter()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(FlushCoalescer())

        channel.write(ByteBuffer(string: "last answer"), promise: nil)
        channel.flush()
        channel.close(promise: nil)
        #expect(counter.operations == ["flush", "close"])
        loop.run()
        #expect(counter.operations == ["flush", "close"], "the queued flush found nothing left to do")
    }
}
