import Foundation
import KubeJSON
import Testing

@Suite struct JSONValueEncoderTests {
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
        var fraction: Float
    }

    static let model = Model(
        name: "a/b <c> & \"d\"", ratio: 2.5, small: -5, big: 9_223_372_036_854_775_807, tags: ["x", "y"],
        conditions: [.init(type: "Ready", status: true, count: 3), .init(type: "Busy", status: false)],
        labels: ["k": "v"], optional: nil, payload: ["z": 1, "a": [true, nil, 1.5]], nested: [[1, 2], []], fraction: 0.1)

    @Test func encodesWhatFoundationEncodesInTheModelsOrderAndEscapedAsTheServerWrites() throws {
        let ours = try JSONValueEncoder.encode(Self.model)
        let foundation = try JSON.parse(Array(JSONEncoder().encode(Self.model)))
        #expect(try JSON.parse(ours) == foundation)
        #expect(try JSONValueDecoder.decode(Model.self, from: ours) == Self.model)
        let text = String(decoding: ours, as: UTF8.self)
        #expect(text.hasPrefix(#"{"name":"a/b \u003cc\u003e \u0026 \"d\"","ratio":2.5,"small":-5,"big":9223372036854775807,"tags":["x","y"]"#),
                "members in declaration order, HTML-safe escapes and no escaped slash: \(text)")
        #expect(text.contains(#""payload":{"z":1,"a":[true,null,1.5]}"#), "a JSON member is written as it is, in its order")
        #expect(text.contains(#""fraction":0.1"#) && !text.contains("optional"), "a Float as its own digits; nil left out")
    }

    struct Interleaved: Encodable {
        func encode(to encoder: any Encoder) throws {
            var outer = encoder.container(keyedBy: Key.self)
            var list = outer.nestedUnkeyedContainer(forKey: .list)
            var inner = outer.nestedContainer(keyedBy: Key.self, forKey: .inner)
            try list.encode(1)
            try inner.encode("late", forKey: .name)
            try list.encode(2)
            try outer.encode("first", forKey: .name)
            try outer.encode("second", forKey: .name)
            try outer.encode(Nothing(), forKey: .empty)
        }

        enum Key: CodingKey { case list, inner, name, empty }
    }

    struct Nothing: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    @Test func containersStayOpenUntilTheEndAndTheLastWriteOfAKeyWins() throws {
        let text = String(decoding: try JSONValueEncoder.encode(Interleaved()), as: UTF8.self)
        #expect(text == #"{"list":[1,2],"inner":{"name":"late"},"name":"second","empty":{}}"#)
    }

    @Test func dataAndURLAreWrittenAsFoundationWritesThem() throws {
        let value: [String: JSONValueEncoderTests.Either] = ["data": .data(Data([0, 1, 255])), "url": .url(URL(string: "https://x.example/a?b=c")!)]
        let ours = try JSON.parse(JSONValueEncoder.encode(value))
        #expect(ours == (try JSON.parse(Array(JSONEncoder().encode(value)))))
        #expect(ours["data"] == "AAH/" && ours["url"] == "https://x.example/a?b=c")
    }

    enum Either: Encodable {
        case data(Data)
        case url(URL)

        func encode(to encoder: any Encoder) throws {
            var single = encoder.singleValueContainer()
            switch self {
            case .data(let data): try single.encode(data)
            case .url(let url): try single.encode(url)
            }
        }
    }

    struct Numbers: Encodable {
        var values: [Double]
        var counts: [String: UInt64]
    }

    /// The coding path of the error that encoding `value` throws; nil when it encodes.
    static func failurePath(_ value: Numbers) -> [String]? {
        do {
            _ = try JSONValueEncoder.encode(value)
            return nil
        } catch {
            guard case EncodingError.invalidValue(_, let context) = error else { return ["not invalidValue: \(error)"] }
            return context.codingPath.map(\.stringValue)
        }
    }

    /// What a model that reads `codingPath` sees, at each kind of nesting.
    final class PathLog {
        var entries: [String] = []

        func note(_ what: String, _ path: [any CodingKey]) {
            entries.append(what + " " + path.map(\.stringValue).joined(separator: "/"))
        }
    }

    struct PathReader: Encodable {
        let log: PathLog
        let depth: Int

        enum Key: CodingKey { case child, list, wrapped, sup }

        func encode(to encoder: any Encoder) throws {
            log.note("encoder", encoder.codingPath)
            var keyed = encoder.container(keyedBy: Key.self)
            log.note("keyed", keyed.codingPath)
            guard depth > 0 else { return }
            try keyed.encode(PathReader(log: log, depth: depth - 1), forKey: .child)
            var list = keyed.nestedUnkeyedContainer(forKey: .list)
            log.note("list", list.codingPath)
            try list.encode(PathReader(log: log, depth: depth - 1))
            var inner = list.nestedContainer(keyedBy: Key.self)
            log.note("inner", inner.codingPath)
            try inner.encode(Wrapper(inner: PathReader(log: log, depth: depth - 1)), forKey: .wrapped)
            log.note("super", keyed.superEncoder(forKey: .sup).codingPath)
        }
    }

    /// A single value that is a whole model.
    struct Wrapper: Encodable {
        let inner: PathReader

        func encode(to encoder: any Encoder) throws {
            var single = encoder.singleValueContainer()
            inner.log.note("single", single.codingPath)
            try single.encode(inner)
        }
    }

    @Test func modelsReadTheirCodingPathsAtEveryKindOfNesting() throws {
        // Not judged against Foundation's encoder: below a nested container it leaves that container's key out
        // ("Index 0" where "list/Index 0" is meant).
        let log = PathLog()
        _ = try JSONValueEncoder.encode(PathReader(log: log, depth: 1))
        #expect(log.entries == [
            "encoder ", "keyed ", "encoder child", "keyed child", "list list", "encoder list/Index 0", "keyed list/Index 0",
            "inner list/Index 1", "single list/Index 1/wrapped", "encoder list/Index 1/wrapped", "keyed list/Index 1/wrapped", "super sup",
        ])
        let deeper = PathLog()
        _ = try JSONValueEncoder.encode(PathReader(log: deeper, depth: 2))
        #expect(deeper.entries.contains("keyed list/Index 1/wrapped/list/Index 0"))
    }

    @Test func aNumberJSONCannotHoldIsAnErrorNamingItsPath() throws {
        #expect(Self.failurePath(Numbers(values: [1, .infinity], counts: [:])) == ["values", "Index 1"])
        #expect(Self.failurePath(Numbers(values: [.nan], counts: [:])) == ["values", "Index 0"])
        #expect(Self.failurePath(Numbers(values: [], counts: ["n": .max])) == ["counts", "n"])
        #expect(Self.failurePath(Numbers(values: [0], counts: ["n": UInt64(Int64.max)])) == nil)
        #expect(throws: EncodingError.self) { try JSONValueEncoder.encode(Nothing()) }
    }
}
