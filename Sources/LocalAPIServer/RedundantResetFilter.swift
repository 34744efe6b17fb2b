import NIOCore

/// Drops a client's RST_STREAM(STREAM_CLOSED) for a stream that both sides have already ended.
///
/// libcurl (7.88, Debian 12) sends such a reset after every response it has read in full. The stream is
/// closed by then, so the reset means nothing, but swift-nio-http2 counts each one as a stream error and,
/// after 200 of them on one connection, ends it with GOAWAY ENHANCE_YOUR_CALM: a client that multiplexes
/// everything over one connection (ours) would lose it every 200 requests, and libcurl then resends requests
/// the server already answered. kube-apiserver (Go) ignores these resets, so the local server must too.
///
/// The handler sits between TLS and HTTP/2 and reads frame headers in both directions: it records which
/// streams the client and the server ended (END_STREAM), and drops only a STREAM_CLOSED reset of a stream
/// ended on both sides. A reset of a stream still open (a cancelled watch) passes, so the server stops it.
/// A connection that does not start with the HTTP/2 preface (HTTP/1.1) passes through untouched.
final class RedundantResetFilter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private static let frameHeaderLength = 9
    private static let typeData: UInt8 = 0x0, typeHeaders: UInt8 = 0x1, typeReset: UInt8 = 0x3
    private static let flagEndStream: UInt8 = 0x1
    private static let streamClosedCode: UInt32 = 0x5
    /// Ended streams remembered per side; older ones are forgotten (a reset for them then passes).
    private static let rememberedStreams = 4096

    private enum Mode { case undecided, http2, passThrough }
    private var mode = Mode.undecided
    private var inbound = ByteBuffer()
    private var outboundParser = FrameHeaderParser()
    private var endedByClient = RecentStreams(capacity: rememberedStreams)
    private var endedByServer = RecentStreams(capacity: rememberedStreams)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if mode == .passThrough {
            context.fireChannelRead(data)
            return
        }
        var bytes = unwrapInboundIn(data)
        inbound.writeBuffer(&bytes)
        if mode == .undecided {
            // Hold bytes only while they could still be the preface; any difference means HTTP/1.1.
            let seen = Array(inbound.readableBytesView.prefix(Self.preface.count))
            guard seen == Array(Self.preface.prefix(seen.count)) else {
                mode = .passThrough
                context.fireChannelRead(wrapInboundOut(inbound))
                inbound = ByteBuffer()
                return
            }
            guard seen.count == Self.preface.count else { return }
            mode = .http2
            context.fireChannelRead(wrapInboundOut(inbound.readSlice(length: Self.preface.count)!))
        }
        var forward = context.channel.allocator.buffer(capacity: inbound.readableBytes)
        while inbound.readableBytes >= Self.frameHeaderLength {
            let start = inbound.readerIndex
            guard let length = inbound.getUInt24(at: start), let type = inbound.getInteger(at: start + 3, as: UInt8.self),
                  let flags = inbound.getInteger(at: start + 4, as: UInt8.self),
                  let rawStream = inbound.getInteger(at: start + 5, as: UInt32.self) else { break }
            let frameLength = Self.frameHeaderLength + Int(length)
            guard inbound.readableBytes >= frameLength else { break }
            let stream = rawStream & 0x7fff_ffff
            var frame = inbound.readSlice(length: frameLength)!
            if (type == Self.typeData || type == Self.typeHeaders) && flags & Self.flagEndStream != 0 {
                endedByClient.insert(stream)
            }
            if type == Self.typeReset, length == 4, frame.getInteger(at: frame.readerIndex + Self.frameHeaderLength, as: UInt32.self) == Self.streamClosedCode,
               endedByClient.remove(stream), endedByServer.remove(stream) {
                continue  // redundant: both sides ended this stream already
            }
            forward.writeBuffer(&frame)
        }
        inbound.discardReadBytes()
        if forward.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(forward))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if mode == .http2, case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
            outboundParser.scan(buffer) { type, flags, stream in
                if (type == Self.typeData || type == Self.typeHeaders) && flags & Self.flagEndStream != 0 {
                    endedByServer.insert(stream)
                }
            }
        }
        context.write(data, promise: promise)
    }
}

/// Follows frame boundaries across the server's writes, which may split a frame anywhere.
private struct FrameHeaderParser {
    private var header: [UInt8] = []
    private var payloadLeft = 0

    mutating func scan(_ buffer: ByteBuffer, onFrame: (_ type: UInt8, _ flags: UInt8, _ stream: UInt32) -> Void) {
        var view = buffer.readableBytesView[...]
        while !view.isEmpty {
            if payloadLeft > 0 {
                let skipped = min(payloadLeft, view.count)
                view = view.dropFirst(skipped)
                payloadLeft -= skipped
                continue
            }
            let needed = 9 - header.count
            header.append(contentsOf: view.prefix(needed))
            view = view.dropFirst(needed)
            guard header.count == 9 else { return }
            payloadLeft = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
            let stream = (UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8])) & 0x7fff_ffff
            onFrame(header[3], header[4], stream)
            header.removeAll(keepingCapacity: true)
        }
    }
}

/// A bounded set of stream IDs: the oldest insertions are forgotten first.
private struct RecentStreams {
    private var members: Set<UInt32> = []
    private var order: [UInt32] = []
    private var oldest = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    mutating func insert(_ stream: UInt32) {
        guard members.insert(stream).inserted else { return }
        order.append(stream)
        if members.count > capacity {
            // Drop the oldest that is still a member (removed ones leave stale entries in `order`).
            while oldest < order.count, members.count > capacity {
                members.remove(order[oldest])
                oldest += 1
            }
        }
        if oldest > capacity {
            order.removeFirst(oldest)
            oldest = 0
        }
    }

    /// Removes `stream`, saying whether it was there.
    mutating func remove(_ stream: UInt32) -> Bool {
        members.remove(stream) != nil
    }
}

private extension ByteBuffer {
    func getUInt24(at index: Int) -> UInt32? {
        guard let high = getInteger(at: index, as: UInt8.self), let low = getInteger(at: index + 1, as: UInt16.self) else { return nil }
        return UInt32(high) << 16 | UInt32(low)
    }
}
