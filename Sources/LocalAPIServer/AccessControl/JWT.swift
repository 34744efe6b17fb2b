import Crypto
import Foundation
import KubeJSON

/// JSON Web Tokens in compact form, signed ES256 (ECDSA over P-256 with SHA-256, the signature as
/// r||s, RFC 7518 3.4): the form of the service-account tokens kube-apiserver issues.
enum JWT {
    /// Why a token was not accepted; `message` is what TokenReview's status.error shows.
    struct Failure: Error, Equatable {
        var message: String
    }

    /// Longest token read: a service-account token is under 2 KiB; this leaves room and bounds the work.
    static let maxTokenBytes = 16 * 1024

    static func sign(header: JSON, claims: JSON, key: P256.Signing.PrivateKey) throws -> String {
        let input = base64URL(header.serialized()) + "." + base64URL(claims.serialized())
        let signature = try key.signature(for: Data(input.utf8))
        return input + "." + base64URL(Array(signature.rawRepresentation))
    }

    /// Whether the text has the shape of a compact JWS (three base64url parts, a JSON header): what
    /// decides that the service-account authenticator, not another, judges the token.
    static func looksLikeJWT(_ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, token.utf8.count <= maxTokenBytes, let header = decodeBase64URL(parts[0]) else { return false }
        return (try? JSON.parse(header))?.object != nil
    }

    /// The header and claims of a token whose ES256 signature `key` verifies.
    static func verify(_ token: String, key: P256.Signing.PublicKey) throws(Failure) -> (header: JSON, claims: JSON) {
        guard token.utf8.count <= maxTokenBytes else { throw Failure(message: "token is longer than \(maxTokenBytes) bytes") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = decodeBase64URL(parts[0]), let claimBytes = decodeBase64URL(parts[1]),
            let signatureBytes = decodeBase64URL(parts[2])
        else { throw Failure(message: "malformed token") }
        guard let header = try? JSON.parse(headerBytes), let claims = try? JSON.parse(claimBytes),
            header.object != nil, claims.object != nil
        else { throw Failure(message: "malformed token: header or claims are not JSON objects") }
        guard header["alg"]?.string == "ES256" else {
            throw Failure(message: "unexpected signature algorithm \(header["alg"]?.string ?? "none"), want ES256")
        }
        guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes),
            key.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8))
        else { throw Failure(message: "invalid signature") }
        return (header, claims)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard.append("=") }
        return Data(base64Encoded: standard).map(Array.init)
    }
}
