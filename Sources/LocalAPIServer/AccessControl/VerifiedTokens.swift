import Synchronization

/// Service-account tokens whose signature this server has checked, with their claims. A client sends its token
/// with every request, and checking it (base64, JSON and an ES256 signature) took some 5 % of the server's CPU
/// under `loadtest dispatch`. What a signature proves never changes, so that is what is kept; what can change
/// (the time, the account and its uid, the audiences asked for) is still checked on every request, so the answers
/// are the same as without it. Only tokens whose signature held are kept, at most `capacity` of them (4,096 by
/// default; a token is about 1 KB, and at most `JWT.maxTokenBytes`): when full it starts again empty, so a server
/// with more live tokens than that checks more signatures, and answers the same.
final class VerifiedTokens: Sendable {
    let capacity: Int
    private let verified = Mutex<[String: ServiceAccountClaims]>([:])

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func claims(of token: String) -> ServiceAccountClaims? {
        verified.withLock { $0[token] }
    }

    func remember(_ claims: ServiceAccountClaims, of token: String) {
        verified.withLock { verified in
            if verified.count >= capacity { verified.removeAll() }
            verified[token] = claims
        }
    }
}
