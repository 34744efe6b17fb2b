import Crypto
import Foundation
import KubeJSON

/// What a service-account token says: the claims kube-apiserver's TokenRequest puts in a bound token.
struct ServiceAccountClaims: Sendable, Equatable {
    var namespace: String
    var name: String
    var uid: String
    var audiences: [String]
    var issuedAt: Int64
    var notBefore: Int64
    var expires: Int64
    /// The token's id, which the user's extra reports as `authentication.kubernetes.io/credential-id`.
    var tokenID: String
    /// The pod a token is bound to (TokenRequest's boundObjectRef), if any.
    var podName: String?
    var podUID: String?
    /// The Secret a token is bound to, if any.
    var secretName: String?
    var secretUID: String?

    var username: String { ServiceAccountNames.username(namespace: namespace, name: name) }

    var json: JSON {
        var kubernetes: JSONObject = [
            "namespace": .string(namespace),
            "serviceaccount": ["name": .string(name), "uid": .string(uid)],
        ]
        if let podName { kubernetes["pod"] = ["name": .string(podName), "uid": .string(podUID ?? "")] }
        if let secretName { kubernetes["secret"] = ["name": .string(secretName), "uid": .string(secretUID ?? "")] }
        return [
            "aud": .array(audiences.map(JSON.string)), "exp": .int(expires), "iat": .int(issuedAt),
            "iss": .string(ServiceAccountTokens.issuer), "jti": .string(tokenID), "kubernetes.io": .object(kubernetes),
            "nbf": .int(notBefore), "sub": .string(username),
        ]
    }

    init(namespace: String, name: String, uid: String, audiences: [String], issuedAt: Int64, notBefore: Int64,
         expires: Int64, tokenID: String, podName: String? = nil, podUID: String? = nil, secretName: String? = nil,
         secretUID: String? = nil)
    {
        self.secretName = secretName
        self.secretUID = secretUID
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.audiences = audiences
        self.issuedAt = issuedAt
        self.notBefore = notBefore
        self.expires = expires
        self.tokenID = tokenID
        self.podName = podName
        self.podUID = podUID
    }

    /// Reads verified claims; a token of another issuer or without the service-account claims fails.
    init(_ claims: JSON) throws(JWT.Failure) {
        guard claims["iss"]?.string == ServiceAccountTokens.issuer else {
            throw JWT.Failure(message: "token issuer \(claims["iss"]?.string ?? "") is not \(ServiceAccountTokens.issuer)")
        }
        let kubernetes = claims["kubernetes.io"]
        guard let namespace = kubernetes?["namespace"]?.string, let name = kubernetes?["serviceaccount"]?["name"]?.string,
            let uid = kubernetes?["serviceaccount"]?["uid"]?.string, let expires = claims["exp"]?.int
        else { throw JWT.Failure(message: "token lacks the service account claims") }
        guard claims["sub"]?.string == ServiceAccountNames.username(namespace: namespace, name: name) else {
            throw JWT.Failure(message: "token subject does not match its service account claims")
        }
        // "aud" is a string or a list of strings (RFC 7519 4.1.3).
        let audiences = claims["aud"]?.string.map { [$0] } ?? (claims["aud"]?.array ?? []).compactMap(\.string)
        self.init(
            namespace: namespace, name: name, uid: uid, audiences: audiences, issuedAt: claims["iat"]?.int ?? 0,
            notBefore: claims["nbf"]?.int ?? 0, expires: expires, tokenID: claims["jti"]?.string ?? "",
            podName: kubernetes?["pod"]?["name"]?.string, podUID: kubernetes?["pod"]?["uid"]?.string,
            secretName: kubernetes?["secret"]?["name"]?.string, secretUID: kubernetes?["secret"]?["uid"]?.string)
    }
}

/// Issues and verifies service-account tokens with one P-256 key kept in the data directory (made on
/// first start, mode 0600), as kube-apiserver's --service-account-signing-key-file.
public struct ServiceAccountTokens: Sendable {
    /// The issuer (iss) of every token, as a real cluster's default --service-account-issuer.
    public static let issuer = "https://kubernetes.default.svc.cluster.local"
    /// The audiences the API server itself answers to (--api-audiences, which defaults to the issuer):
    /// a token is accepted for a request only if it names one of them.
    public static let apiAudiences = [issuer]
    /// TokenRequest's spec.expirationSeconds: the default, and the least the real server accepts.
    static let defaultExpirationSeconds: Int64 = 3600
    static let minimumExpirationSeconds: Int64 = 600
    /// The most the real server accepts (2^32 seconds).
    static let maximumExpirationSeconds: Int64 = 1 << 32

    /// The private scalar: swift-crypto's key type is not Sendable, its bytes are; a key is rebuilt
    /// from them for each signature, which costs far less than the signature.
    let keyBytes: [UInt8]
    /// The header's kid: the SHA-256 of the public key's DER, base64url, as kube-apiserver derives it.
    let keyID: String

    /// The public key's bytes (X9.63), kept so that verifying a token, done on every request, does not
    /// derive the public key from the private one each time.
    let publicKeyBytes: [UInt8]

    public init(key: P256.Signing.PrivateKey) {
        keyBytes = Array(key.rawRepresentation)
        publicKeyBytes = Array(key.publicKey.x963Representation)
        keyID = JWT.base64URL(Array(SHA256.hash(data: key.publicKey.derRepresentation)))
    }

    var publicKey: P256.Signing.PublicKey {
        // The bytes came from a valid key, so they make one again.
        try! P256.Signing.PublicKey(x963Representation: publicKeyBytes)
    }

    var key: P256.Signing.PrivateKey {
        // The bytes came from a valid key, so they make one again.
        try! P256.Signing.PrivateKey(rawRepresentation: keyBytes)
    }

    public static func loadOrCreate(at path: String) throws -> ServiceAccountTokens {
        if FileManager.default.fileExists(atPath: path) {
            let pem = try String(contentsOfFile: path, encoding: .utf8)
            return ServiceAccountTokens(key: try P256.Signing.PrivateKey(pemRepresentation: pem))
        }
        let key = P256.Signing.PrivateKey()
        try ServingCertificates.write(key.pemRepresentation, to: path, mode: 0o600)
        return ServiceAccountTokens(key: key)
    }

    func issue(_ claims: ServiceAccountClaims) throws -> String {
        try JWT.sign(header: ["alg": "ES256", "kid": .string(keyID)], claims: claims.json, key: key)
    }

    /// The clock skew allowed on exp and nbf, as go-jose's DefaultLeeway that kube-apiserver validates with.
    static let leewaySeconds: Int64 = 60

    /// The claims of a token this key signed: its signature checked, not its time (`checkTime`).
    func signedClaims(_ token: String) throws(JWT.Failure) -> ServiceAccountClaims {
        let (_, raw) = try JWT.verify(token, key: publicKey)
        return try ServiceAccountClaims(raw)
    }

    /// Whether signed claims are valid at `now`, as the real validator checks their time.
    static func checkTime(_ claims: ServiceAccountClaims, now: Date) throws(JWT.Failure) {
        let seconds = Int64(now.timeIntervalSince1970)
        if seconds - leewaySeconds >= claims.expires { throw JWT.Failure(message: "service account token has expired") }
        if seconds + leewaySeconds < claims.notBefore { throw JWT.Failure(message: "service account token is not valid yet") }
    }
}
