import KubeJSON
import Testing
@testable import KubeSchema

@Suite struct DepthTests {
    /// A schema and value nested 200 deep work on a task's thread without exhausting its stack.
    @Test func deepValuesOnATask() async throws {
        var schema: JSON = ["type": "integer", "maximum": 1]
        var value: JSON = 5
        for _ in 0..<200 {
            schema = ["type": "object", "properties": ["a": schema, "d": ["type": "integer", "default": 1]]]
            value = ["a": value, "x": 1]
        }
        let parsed = try StructuralSchema(schema)
        let input = value
        let (errors, removed) = await Task.detached {
            var copy = input
            parsed.applyDefaults(&copy)
            let removed = parsed.prune(&copy)
            return (parsed.validate(copy), removed)
        }.value
        #expect(removed.count == 200)
        #expect(errors.count == 1)
        #expect(errors.first?.message.hasSuffix("in body should be less than or equal to 1") == true)
    }

    /// Values built in code deeper than JSON allows are walked without crashing.
    @Test func valuesDeeperThanJSONAllows() throws {
        var value: JSON = 1
        for _ in 0..<2_000 { value = ["n": value] }
        let schema = try specSchema(#"{"free":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}"#)
        var object: JSON = ["spec": ["free": value, "gone": value]]
        schema.applyDefaults(&object)
        #expect(schema.prune(&object) == ["spec.gone"])
        #expect(schema.validate(object).isEmpty)
    }
}
