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

    @Test func writesAndFlushesWithinOneTurnOfTheLoopLeaveAsOne() throws {
        let (loop, channel, counter) = try coalescedChannel()

        for text in ["first", "second", "third"] {
            channel.write(ByteBuffer(string: text), promise: nil)
            channel.flush()
        }
        #expect(counter.flushes == 0)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)

        loop.run()
        #expect(counter.flushes == 1)
        // One buffer, so that TLS makes one record of it.
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "firstsecondthird"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)

        // A later turn flushes again: the coalescer holds nothing back once its flush has run.
        channel.write(ByteBuffer(string: "fourth"), promise: nil)
        channel.flush()
        loop.run()
        #expect(counter.flushes == 2)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "fourth"))
        _ = try channel.finish()
    }

    @Test func everyGatheredWriteIsToldWhenTheWholeIsWritten() throws {
        let (loop, channel, _) = try coalescedChannel()
        let promises = (0..<3).map { _ in loop.makePromise(of: Void.self) }
        var done: [Int] = []
        for (index, promise) in promises.enumerated() {
            promise.futureResult.assumeIsolated().whenSuccess { done.append(index) }
            channel.write(ByteBuffer(string: "part \(index)"), promise: promise)
        }
        channel.write(ByteBuffer(string: "no promise"), promise: nil)
        channel.flush()
        #expect(done.isEmpty)
        loop.run()
        #expect(done == [0, 1, 2])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "part 0part 1part 2no promise"))
        _ = try channel.finish()
    }

    @Test func aLargeAnswerIsPassedOnBeforeItsFlushAndInOrder() throws {
        let (loop, channel, counter) = try coalescedChannel()
        let chunk = String(repeating: "x", count: FlushCoalescer.gatherLimit / 2)
        channel.write(ByteBuffer(string: "head "), promise: nil)
        channel.write(ByteBuffer(string: chunk), promise: nil)
        channel.write(ByteBuffer(string: chunk), promise: nil)
        // Past the limit: passed on unflushed, so the copy stays bounded.
        #expect(counter.flushes == 0)
        channel.write(ByteBuffer(string: " tail"), promise: nil)
        channel.flush()
        loop.run()
        #expect(counter.flushes == 1)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "head " + chunk + chunk))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: " tail"))
        _ = try channel.finish()
    }

    @Test func writesGatheredWhenTheConnectionEndsFail() throws {
        let (_, channel, _) = try coalescedChannel()
        let promise = channel.eventLoop.makePromise(of: Void.self)
        var failure: (any Error)?
        promise.futureResult.assumeIsolated().whenFailure { failure = $0 }
        channel.write(ByteBuffer(string: "never flushed"), promise: promise)
        channel.pipeline.fireChannelInactive()
        #expect(failure as? ChannelError == .ioOnClosedChannel)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
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
