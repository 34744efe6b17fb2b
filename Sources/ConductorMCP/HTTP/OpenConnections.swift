import Metrics
import NIOCore
import Synchronization

/// The front end's open connections, counted so that a graceful shutdown can wait until they are closed (NIO's
/// quiescing closes an idle one at once, a busy one after its answer). Hummingbird's server waits only for its
/// connections' tasks, and `PerRequestHTTP1Channel` gives a connection none.
final class OpenConnections: Sendable {
    private struct State {
        var open = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// The waiting was cancelled: waiters return at once.
        var cancelled = false
    }

    private let state = Mutex(State())
    /// Set under the lock at each change (see `MCPMetrics`).
    private let gauge = MCPMetrics.openConnectionsGauge()

    var count: Int { state.withLock { $0.open } }

    /// Counts `channel` until it closes.
    func opened(_ channel: any Channel) {
        state.withLock { state in
            state.open += 1
            gauge.record(state.open)
        }
        channel.closeFuture.whenComplete { _ in self.closed() }
    }

    /// Returns when no connection is open, or when the waiting task is cancelled.
    func allClosed() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let waits = state.withLock { state in
                    guard state.open > 0, !state.cancelled else { return false }
                    state.waiters.append(continuation)
                    return true
                }
                if !waits { continuation.resume() }
            }
        } onCancel: {
            resumeWaiters { $0.cancelled = true }
        }
    }

    private func closed() {
        resumeWaiters { state in
            state.open -= 1
            gauge.record(state.open)
        }
    }

    private func resumeWaiters(after change: (inout State) -> Void) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            change(&state)
            guard state.open == 0 || state.cancelled else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
