import NIOCore
import NIOEmbedded
import Testing

@testable import ConductorMCP

/// The front end's graceful shutdown waits on these counts: they must fall as connections close, and the wait
/// must end when the last one does, or at once when cancelled.
struct OpenConnectionsTests {
    @Test func theWaitEndsWhenTheLastConnectionCloses() async throws {
        let connections = OpenConnections()
        await connections.allClosed()  // none open: returns at once
        let first = EmbeddedChannel()
        let second = EmbeddedChannel()
        connections.opened(first)
        connections.opened(second)
        #expect(connections.count == 2)
        let waiting = Task { await connections.allClosed() }
        close(first)
        #expect(connections.count == 1)
        close(second)
        await waiting.value
        #expect(connections.count == 0)
    }

    @Test func aCancelledWaitReturnsWithConnectionsStillOpen() async throws {
        let connections = OpenConnections()
        let channel = EmbeddedChannel()
        connections.opened(channel)
        let waiting = Task { await connections.allClosed() }
        waiting.cancel()
        await waiting.value
        #expect(connections.count == 1)
        close(channel)
        #expect(connections.count == 0)
    }

    /// EmbeddedChannel completes its close future when its loop runs.
    private func close(_ channel: EmbeddedChannel) {
        channel.close(promise: nil)
        channel.embeddedEventLoop.run()
    }
}
