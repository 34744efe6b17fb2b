import Synchronization

/// What a streamed body's reader and the transport thread share to keep the chunks between them bounded: the
/// transport pauses the transfer once `limit` bytes wait unread, and the reader has it resumed once they are
/// down to half. With HTTP/2 a paused stream stops taking data (its flow-control window is not reopened), so a
/// slow reader holds the server back instead of growing this process's memory; the other streams go on.
final class StreamBackpressure: Sendable {
    /// Bytes handed to the reader and not read yet.
    private let buffered = Atomic<Int>(0)
    private let paused = Atomic<Bool>(false)
    /// The most that ever waited unread, for tests and diagnostics.
    private let peak = Atomic<Int>(0)
    let limit: Int
    /// Asks the transport thread to resume the transfer.
    private let resume: @Sendable () -> Void

    init(limit: Int, resume: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.resume = resume
    }

    var peakBufferedBytes: Int { peak.load(ordering: .relaxed) }

    /// On the transport thread, before handing over `count` bytes: false to pause the transfer instead (the
    /// bytes stay with libcurl, which hands them over again once resumed).
    func admit(_ count: Int) -> Bool {
        if buffered.load(ordering: .acquiring) >= limit {
            paused.store(true, ordering: .sequentiallyConsistent)
            // The reader may have drained meanwhile without seeing the flag: look again, so that a pause is
            // never left with nothing unread to lift it.
            if buffered.load(ordering: .sequentiallyConsistent) >= limit / 2 { return false }
            paused.store(false, ordering: .sequentiallyConsistent)
        }
        let now = buffered.add(count, ordering: .acquiringAndReleasing).newValue
        if now > peak.load(ordering: .relaxed) { peak.store(now, ordering: .relaxed) }
        return true
    }

    /// On the reader's side, after taking `count` bytes.
    func consumed(_ count: Int) {
        let now = buffered.subtract(count, ordering: .sequentiallyConsistent).newValue
        if now < limit / 2, paused.exchange(false, ordering: .sequentiallyConsistent) { resume() }
    }
}

/// A streamed response body: chunks as they arrive, bounded by `StreamBackpressure`. Ends when the server ends
/// the response; throws `TransportError` when the connection fails.
public struct TransportBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let chunks: AsyncThrowingStream<[UInt8], any Error>
    let backpressure: StreamBackpressure

    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
        let backpressure: StreamBackpressure

        public mutating func next() async throws -> [UInt8]? {
            guard let chunk = try await chunks.next() else { return nil }
            backpressure.consumed(chunk.count)
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: chunks.makeAsyncIterator(), backpressure: backpressure)
    }

    /// The most bytes that ever waited unread.
    var peakBufferedBytes: Int { backpressure.peakBufferedBytes }
}
