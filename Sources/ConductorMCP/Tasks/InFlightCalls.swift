import KubeClient
import Metrics
import Synchronization

/// The calls waiting on this replica, by session and request id, so that `notifications/cancelled` finds
/// the one it names; and how many each caller has waiting, so that one caller cannot hold every connection
/// and continuation (`MCPConfiguration.maxCallsPerCaller`). A cancellation that reaches another replica
/// finds the task by its annotation instead (`TaskSubmitter.requestAnnotation`).
final class InFlightCalls: Sendable {
    private struct State {
        var calls: [String: (caller: String, signal: Signal)] = [:]
        var perCaller: [String: Int] = [:]
        /// Waits registered and not yet unregistered: `calls` holds one per key, and a request id reused within a
        /// session replaces the entry of a wait that goes on.
        var waiting = 0

        mutating func release(_ caller: String) {
            let left = (perCaller[caller] ?? 1) - 1
            perCaller[caller] = left > 0 ? left : nil
            perCaller.shrinkIfSparse()
        }
    }

    private let state = Mutex(State())
    private let limitPerCaller: Int
    /// Set under the lock at each change (see `MCPMetrics`).
    private let gauge = MCPMetrics.waitingCallsGauge()

    init(limitPerCaller: Int = .max) {
        self.limitPerCaller = limitPerCaller
    }

    static func key(session: String, request: JSONRPCID) -> String { "\(session) \(request)" }

    /// The call's cancellation signal; nil when the caller already has `limitPerCaller` calls waiting here.
    func register(_ key: String, caller: String) -> Signal? {
        let signal = Signal()
        let registered = state.withLock { state -> Signal? in
            guard state.perCaller[caller, default: 0] < limitPerCaller else { return nil }
            state.perCaller[caller, default: 0] += 1
            // A request id reused within a session replaces the older entry: its count is returned first.
            if let replaced = state.calls.updateValue((caller, signal), forKey: key) { state.release(replaced.caller) }
            state.waiting += 1
            gauge.record(state.waiting)
            return signal
        }
        if registered == nil { MCPMetrics.recordCallerLimitReached() }
        return registered
    }

    /// Called once for each signal `register` returned.
    func unregister(_ key: String, signal: Signal) {
        state.withLock { state in
            state.waiting -= 1
            gauge.record(state.waiting)
            guard let entry = state.calls[key], entry.signal === signal else { return }
            state.calls[key] = nil
            state.calls.shrinkIfSparse()
            state.release(entry.caller)
        }
    }

    /// Fires the call's signal; false when no such call waits here.
    func cancel(_ key: String) -> Bool {
        guard let signal = state.withLock({ $0.calls[key]?.signal }) else { return false }
        signal.fire()
        return true
    }

    /// Waits registered and not yet unregistered (what `conductor_mcp_waiting_calls` reports).
    var count: Int { state.withLock { $0.waiting } }

    func count(of caller: String) -> Int { state.withLock { $0.perCaller[caller] ?? 0 } }
}
