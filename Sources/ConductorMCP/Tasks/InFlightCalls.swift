import Synchronization

/// The calls waiting on this replica, by session and request id, so that `notifications/cancelled` finds
/// the one it names. A cancellation that reaches another replica finds the task by its annotation instead
/// (`TaskSubmitter.requestAnnotation`).
final class InFlightCalls: Sendable {
    private let calls = Mutex<[String: Signal]>([:])

    init() {}

    static func key(session: String, request: JSONRPCID) -> String { "\(session) \(request)" }

    func register(_ key: String) -> Signal {
        let signal = Signal()
        calls.withLock { $0[key] = signal }
        return signal
    }

    func unregister(_ key: String) {
        _ = calls.withLock { $0.removeValue(forKey: key) }
    }

    /// Fires the call's signal; false when no such call waits here.
    func cancel(_ key: String) -> Bool {
        guard let signal = calls.withLock({ $0[key] }) else { return false }
        signal.fire()
        return true
    }

    var count: Int { calls.withLock { $0.count } }
}
