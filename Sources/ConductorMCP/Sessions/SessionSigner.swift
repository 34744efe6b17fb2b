import Crypto
import Foundation
import KubeJSON

/// Why a session id was not accepted.
enum SessionTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case badSignature

    var description: String {
        switch self {
        case .malformed(let why): "the session id is malformed: \(why)"
        case .badSignature: "the session id was not issued with this server's session key"
        }
    }
}

/// Issues and checks session ids: `v1.<claims>.<HMAC-SHA256 of the claims>`, both parts base64url, so that
/// an id holds only the visible ASCII the specification allows. Every replica holds the same key (a file
/// from a Secret; `conductor dev` makes one), so each can check what another issued.
struct SessionSigner: Sendable {
    /// The key's bytes: `SymmetricKey` is not Sendable, so one is made for each use (cheap: a copy of 32 bytes).
    private let keyBytes: [UInt8]

    init(key: [UInt8]) {
        keyBytes = key
    }

    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    func issue(_ claims: SessionClaims) -> String {
        let payload = Base64URL.encode(claims.json.serialized())
        let signature = HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: key)
        return "v1.\(payload).\(Base64URL.encode(Array(signature)))"
    }

    func verify(_ token: String) throws(SessionTokenError) -> SessionClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1" else { throw .malformed("expected v1.<claims>.<signature>") }
        guard let signature = Base64URL.decode(String(parts[2])) else { throw .malformed("the signature is not base64url") }
        // Checked before the claims are even parsed, in constant time.
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Array(parts[1].utf8), using: key) else {
            throw .badSignature
        }
        guard let bytes = Base64URL.decode(String(parts[1])), let json = try? JSON.parse(bytes),
              let claims = SessionClaims(json: json) else {
            throw .malformed("the claims do not read")
        }
        return claims
    }
}

/// RFC 4648 §5 base64url without padding.
enum Base64URL {
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map(Array.init)
    }
}
