import Foundation
import KubeJSON
import Testing

/// `JSON` inside Codable models (a task's payload and result): every kind of value survives Foundation's coders.
@Suite struct JSONCodable {
    struct Holder: Codable, Equatable {
        var payload: JSON
    }

    @Test func everyKindOfValueRoundTripsThroughFoundationsCoders() throws {
        let payload: JSON = [
            "string": "s\"q", "int": 42, "negative": -7, "big": .int(9_007_199_254_740_993), "double": 2.5, "true": true, "false": false,
            "null": nil, "array": [1, "two", [3.5], ["four": 4]], "object": ["nested": ["deeper": []]], "empty": [:],
        ]
        let data = try JSONEncoder().encode(Holder(payload: payload))
        let decoded = try JSONDecoder().decode(Holder.self, from: data)
        #expect(decoded.payload == payload)
        // Integers stay integers (structural schemas tell integer from number), doubles stay doubles.
        #expect(decoded.payload["big"] == .int(9_007_199_254_740_993))
        #expect(decoded.payload["double"].map { if case .double = $0 { true } else { false } } == true)
        #expect(decoded.payload["null"] == .null)
        // What Foundation wrote is what KubeJSON reads.
        #expect(try JSON.parse(Array(data))["payload"] == payload)
    }

    @Test func aTopLevelScalarDecodes() throws {
        #expect(try JSONDecoder().decode(JSON.self, from: Data("\"text\"".utf8)) == "text")
        #expect(try JSONDecoder().decode(JSON.self, from: Data("[]".utf8)) == [])
    }
}
