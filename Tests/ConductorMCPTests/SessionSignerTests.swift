
import Testing

@testable import ConductorMCP

struct SessionSignerTests {
    let claims = SessionClaims(nonce: "abc", protocolVersion: "2025-11-25", caller: "alice", issuedAt: 1_700_000_000)
    let signer = SessionSigner(key: [UInt8](repeating: 7, count: 32))

    @Test func anIssuedIdVerifiesToItsClaimsAndHoldsOnlyVisibleASCII() throws {
        let token = signer.issue(claims)
        #expect(try signer.verify(token) == claims)
        #expect(token.utf8.allSatisfy { (0x21...0x7E).contains($0) })
        #expect(token.hasPrefix("v1."))
    }

    @Test func anotherReplicaWithTheSameKeyAcceptsIt() throws {
        let other = SessionSigner(key: [UInt8](repeating: 7, count: 32))
        #expect(try other.verify(signer.issue(claims)) == claims)
    }

    @Test func aDifferentKeyRefusesIt() {
        let stranger = SessionSigner(key: [UInt8](repeating: 8, count: 32))
        #expect(throws: SessionTokenError.badSignature) { try stranger.verify(signer.issue(claims)) }
    }

    @Test func changedClaimsAreRefused() {
        let token = signer.issue(claims)
        let parts = token.split(separator: ".").map(String.init)
        var forged = claims
        forged.caller = "mallory"
        let forgedPayload = Base64URL.encode(forged.json.serialized())
        #expect(throws: SessionTokenError.badSignature) { try signer.verify("v1.\(forgedPayload).\(parts[2])") }
    }

    @Test(arguments: ["", "v1", "v2.a.b", "v1.a", "v1.a.b.c", "v1.!!!.???"])
    func malformedIdsAreRefused(_ token: String) {
        #expect(throws: SessionTokenError.self) { try signer.verify(token) }
    }

    @Test func base64URLRoundTripsEveryLength() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 250) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
    }
}
