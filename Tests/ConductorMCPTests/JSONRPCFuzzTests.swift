import KubeJSON
import Testing

@testable import ConductorMCP

/// Thousands of mutated and random messages through the parser and the argument check: no crash, and every
/// refusal is one of the JSON-RPC codes a malformed message may get.
struct JSONRPCFuzzTests {
    static let seeds = [
        #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","n":[1,2.5,{"a":null}]},"_meta":{"progressToken":"p"}}}"#,
        #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"x","reason":"r"}}"#,
        #"{"jsonrpc":"2.0","id":"s","result":{"ok":true}}"#,
    ]

    /// A fixed-seed generator (SplitMix64), so that a failure repeats.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func mutatedAndRandomMessagesNeverCrashAndGetOnlyEnvelopeCodes() {
        var random = SplitMix(state: 20_261_202)
        let alphabet = Array(#"{}[]":,0123456789.-eE truefalsnulljsonrpcidmethodparams\"#.utf8) + [0x00, 0xFF, 0xC3, 0x28]
        var parsed = 0
        for round in 0..<6_000 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            switch round % 4 {
            case 0:
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = alphabet.randomElement(using: &random)!
                }
            case 1:
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            case 2:
                let index = Int.random(in: 0...bytes.count, using: &random)
                bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &random)).map { _ in alphabet.randomElement(using: &random)! }, at: index)
            default:
                bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            }
            do {
                let message = try JSONRPCMessage.parse(bytes)
                parsed += 1
                if case .request(_, _, let params?) = message {
                    _ = ArgumentCheck.violation(of: params, against: ["type": "object", "required": ["name"],
                                                                      "properties": ["arguments": ["type": "object"]]])
                    if let meta = params["_meta"]?.object { _ = try? CallOptions.parse(meta, prefix: CallOptions.metaPrefix) }
                }
            } catch {
                #expect(error.code == -32700 || error.code == -32600, "\(error) for \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(parsed > 100)
    }
}
