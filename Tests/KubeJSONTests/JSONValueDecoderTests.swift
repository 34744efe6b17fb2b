import Foundation
import KubeJSON
import Testing

@Suite struct JSONValueDecoderTests {
    struct Model: Codable, Equatable {
        struct Condition: Codable, Equatable {
            var type: String
            var status: Bool
            var count: Int?
        }

        var name: String
        var ratio: Double
        var small: Int8
        var big: UInt64
        var tags: [String]
        var conditions: [Condition]
        var labels: [String: String]
        var optional: String?
        var payload: JSON
        var nested: [[Int]]
        var extra: Condition?
        var limit: UInt32?
    }

    static let text = """
    {"name":"a","ratio":2,"small":-5,"big":9223372036854775807,"tags":["x","y"],
     "conditions":[{"type":"Ready","status":true,"count":3},{"type":"Busy","status":false}],
     "labels":{"k":"v"},"optional":null,"payload":{"z":1,"a":[true,null,1.5]},"nested":[[1,2],[]],"ignored":{"deep":[1]}}
    """

    @Test func decodesAsFoundationDoesAndKeepsJSONMembersAsParsed() throws {
        let ours = try JSONValueDecoder.decode(Model.self, from: Array(Self.text.utf8))
        let foundation = try JSONDecoder().decode(Model.self, from: Data(Self.text.utf8))
        #expect(ours == foundation)
        #expect(ours.payload.serialized() == Array(#"{"z":1,"a":[true,null,1.5]}"#.utf8), "member order kept")
        #expect(ours.optional == nil && ours.conditions[1].count == nil && ours.ratio == 2.0)
        #expect(ours.extra == nil && ours.limit == nil)
    }

    @Test func optionalMembersDecodeWhenPresentAndAreNilWhenAbsentOrNull() throws {
        var object = try #require(JSON.parse(Self.text).object)
        object["extra"] = ["type": "Done", "status": true]
        object["limit"] = 7
        let present = Array(JSON.object(object).text.utf8)
        let ours = try JSONValueDecoder.decode(Model.self, from: present)
        #expect(ours == (try JSONDecoder().decode(Model.self, from: Data(present))))
        #expect(ours.extra == Model.Condition(type: "Done", status: true, count: nil) && ours.limit == 7)

        object["extra"] = .null
        object["limit"] = .null
        let null = try JSONValueDecoder.decode(Model.self, from: Array(JSON.object(object).text.utf8))
        #expect(null.extra == nil && null.limit == nil)
    }

    @Test func errorsNameThePathAndTheReason() throws {
        func failure(_ text: String) -> DecodingError? {
            do {
                _ = try JSONValueDecoder.decode(Model.self, from: Array(text.utf8))
                return nil
            } catch let error as DecodingError {
                return error
            } catch {
                return nil
            }
        }
        let valid = try #require(JSON.parse(Self.text).object)
        func with(_ key: String, _ value: JSON?) -> String {
            var object = valid
            object[key] = value
            return JSON.object(object).text
        }
        guard case .keyNotFound(let key, _) = failure(with("name", nil)) else { Issue.record("missing key"); return }
        #expect(key.stringValue == "name")
        guard case .typeMismatch(_, let context) = failure(with("tags", ["x", 1])) else { Issue.record("type mismatch"); return }
        #expect(context.codingPath.map(\.stringValue) == ["tags", "Index 1"])
        guard case .dataCorrupted(let overflow) = failure(with("small", 300)) else { Issue.record("overflow"); return }
        #expect(overflow.codingPath.map(\.stringValue) == ["small"])
        guard case .dataCorrupted = failure(with("small", 1.5)) else { Issue.record("fraction as integer"); return }
        guard case .valueNotFound = failure(with("ratio", .null)) else { Issue.record("null for a required value"); return }
        guard case .typeMismatch(_, let optional) = failure(with("optional", 5)) else { Issue.record("optional of another type"); return }
        #expect(optional.codingPath.map(\.stringValue) == ["optional"])
        guard case .typeMismatch(_, let nested) = failure(with("extra", ["type": 1, "status": true])) else { Issue.record("optional struct"); return }
        #expect(nested.codingPath.map(\.stringValue) == ["extra", "type"])
        guard case .dataCorrupted(let negative) = failure(with("limit", -1)) else { Issue.record("negative unsigned"); return }
        #expect(negative.codingPath.map(\.stringValue) == ["limit"])
        guard case .dataCorrupted = failure("{not json") else { Issue.record("not JSON"); return }
    }

    /// `[String: String]` (labels, annotations) is read straight from the object: the same maps and the same errors
    /// as through Dictionary's own `init(from:)`, which Foundation's decoder takes.
    @Test func stringMapsDecodeAndFailAsFoundationsDo() throws {
        struct Maps: Codable, Equatable {
            var labels: [String: String]
            var annotations: [String: String]?
            var list: [[String: String]]
        }
        func both(_ text: String) -> (ours: Result<Maps, DecodingError>, foundation: Result<Maps, DecodingError>) {
            (Result { try JSONValueDecoder.decode(Maps.self, from: Array(text.utf8)) }.mapError { $0 as! DecodingError },
             Result { try JSONDecoder().decode(Maps.self, from: Data(text.utf8)) }.mapError { $0 as! DecodingError })
        }
        let valid = both(#"{"labels":{"b":"2","a":"1","":"empty"},"annotations":{},"list":[{"x":"y"},{}]}"#)
        #expect(try valid.ours.get() == (try valid.foundation.get()))
        #expect(try valid.ours.get().labels == ["a": "1", "b": "2", "": "empty"])
        let absent = both(#"{"labels":{},"list":[]}"#)
        #expect(try absent.ours.get() == (try absent.foundation.get()) && (try absent.ours.get().annotations) == nil)

        func kindAndPath(_ error: DecodingError) -> (String, [String]) {
            switch error {
            case .typeMismatch(_, let context): ("typeMismatch", context.codingPath.map(\.stringValue))
            case .valueNotFound(_, let context): ("valueNotFound", context.codingPath.map(\.stringValue))
            case .keyNotFound(_, let context): ("keyNotFound", context.codingPath.map(\.stringValue))
            case .dataCorrupted(let context): ("dataCorrupted", context.codingPath.map(\.stringValue))
            @unknown default: ("unknown", [])
            }
        }
        for text in [#"{"labels":{"a":1},"list":[]}"#, #"{"labels":{"a":null},"list":[]}"#, #"{"labels":["a"],"list":[]}"#,
                     #"{"labels":{},"annotations":{"a":true},"list":[]}"#, #"{"labels":{},"list":[{"x":"y"},{"z":[1]}]}"#] {
            let (ours, foundation) = both(text)
            guard case .failure(let ourError) = ours, case .failure(let theirError) = foundation else {
                Issue.record("\(text) decoded"); continue
            }
            #expect(kindAndPath(ourError) == kindAndPath(theirError), "\(text)")
        }
    }
}
