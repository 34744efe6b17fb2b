import Synchronization

/// Sessions ended by DELETE on this replica. A signed id cannot be revoked by forgetting it, so ended ones
/// are remembered here, by nonce; another replica does not know of them (a known gap: sharing them needs a
/// store the replicas share, such as a ConfigMap, which is a later step).
final class EndedSessions: Sendable {
    /// At most this many are kept; the oldest are forgotten first.
    private let capacity: Int
    private let state = Mutex<(set: Set<String>, order: [String])>(([], []))

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    func end(_ nonce: String) {
        state.withLock { state in
            guard state.set.insert(nonce).inserted else { return }
            state.order.append(nonce)
            if state.order.count > capacity {
                state.set.remove(state.order.removeFirst())
            }
        }
    }

    func isEnded(_ nonce: String) -> Bool { state.withLock { $0.set.contains(nonce) } }
}
