import KubeJSON
import Testing
@testable import KubeSchema

@Suite struct DefaultTests {
    @Test func nestedDefaultsApplyWhereTheParentExists() throws {
        let schema = try Seed.task
        var present = try json(#"{"spec":{"retryPolicy":{"maxRetries":5}}}"#)
        schema.applyDefaults(&present)
        #expect(present == (try json(#"{"spec":{"retryPolicy":{"maxRetries":5,"backoffStrategy":"exponential"}}}"#)))

        var absent = try json(#"{"spec":{"priority":2}}"#)
        schema.applyDefaults(&absent)
        #expect(absent == (try json(#"{"spec":{"priority":2}}"#)))
    }

    @Test func defaultsAreAddedInSchemaOrder() throws {
        let schema = try Seed.task
        var value = try json(#"{"spec":{"retryPolicy":{}}}"#)
        schema.applyDefaults(&value)
        #expect(value["spec"]?["retryPolicy"]?.object.map { Array($0.keys) } == ["maxRetries", "backoffStrategy"])
    }

    @Test func nulls() throws {
        let schema = try specSchema(#"""
            {"withDefault":{"type":"integer","default":3},"plain":{"type":"string"},"nullable":{"type":"string","nullable":true},
             "nested":{"type":"object","properties":{"x":{"type":"string"}}}}
            """#)
        var value = try json(#"{"spec":{"withDefault":null,"plain":null,"nullable":null,"nested":{"x":null},"unknown":null}}"#)
        schema.applyDefaults(&value)
        // A null with a default gets the default; a non-nullable null without one goes; nullable and
        // undeclared nulls stay (pruning removes the undeclared one).
        #expect(value == (try json(#"{"spec":{"withDefault":3,"nullable":null,"nested":{},"unknown":null}}"#)))
    }

    @Test func defaultObjectsGetTheirOwnNestedDefaults() throws {
        let schema = try specSchema(#"""
            {"retry":{"type":"object","default":{},"properties":{"max":{"type":"integer","default":3}}}}
            """#)
        var value = try json(#"{"spec":{}}"#)
        schema.applyDefaults(&value)
        #expect(value == (try json(#"{"spec":{"retry":{"max":3}}}"#)))
    }

    @Test func arrayItemsAndMapValues() throws {
        let schema = try specSchema(#"""
            {"list":{"type":"array","items":{"type":"string","default":"x"}},
             "noDefault":{"type":"array","items":{"type":"string"}},
             "map":{"type":"object","additionalProperties":{"type":"object","properties":{"n":{"type":"integer","default":1}}}},
             "objects":{"type":"array","items":{"type":"object","properties":{"n":{"type":"integer","default":7}}}}}
            """#)
        var value = try json(#"{"spec":{"list":[null,"y"],"noDefault":[null],"map":{"a":{},"b":{"n":2}},"objects":[{},{"n":1}]}}"#)
        schema.applyDefaults(&value)
        #expect(value == (try json(#"{"spec":{"list":["x","y"],"noDefault":[null],"map":{"a":{"n":1},"b":{"n":2}},"objects":[{"n":7},{"n":1}]}}"#)))
    }

    @Test func preserveUnknownFieldsSubtreesAreLeftAlone() throws {
        let schema = try Seed.task
        var value = try json(#"{"spec":{"payload":{"a":null}}}"#)
        schema.applyDefaults(&value)
        #expect(value == (try json(#"{"spec":{"payload":{"a":null}}}"#)))
    }
}
