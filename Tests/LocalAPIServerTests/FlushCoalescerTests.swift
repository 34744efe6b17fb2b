import NIOCore
import NIOEmbedded
import Testing
@testable import LocalAPIServer

/// Counts the flushes that reach it, as the TLS handler below the coalescer would receive them.
private final class FlushCounter: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    var flushes = 0

    func flush(context: ChannelHandlerContext) {
        flushes += 1
        context.flush()
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
}
