import KubeJSON
import Testing
@testable import KubeSchema

@Suite struct PruneTests {
    @Test func removesUndeclaredFieldsInDocumentOrder() throws {
        let schema = try Seed.task
        var value = try json(#"""
            {"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"t","extra":1},"top":1,
             "spec":{"z":1,"priority":1,"a":{"b":2}},
             "status":{"conditions":[{"type":"Ready","extra":true},{"type":"Done"},{"more":1}]}}
            """#)
        let removed = schema.prune(&value)
        #expect(removed == ["top", "spec.z", "spec.a", "status.conditions[0].extra", "status.conditions[2].more"])
        #expect(value == (try json(#"""
            {"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"t","extra":1},
             "spec":{"priority":1},"status":{"conditions":[{"type":"Ready"},{"type":"Done"},{}]}}
            """#)))
    }

    @Test func preserveUnknownFieldsKeepsEverythingBelow() throws {
        let schema = try Seed.task
        var value = try json(#"{"spec":{"payload":{"anything":{"deep":[1,{"x":2}]}}},"status":{"result":{"ok":true}}}"#)
        let before = value
        #expect(schema.prune(&value).isEmpty)
        #expect(value == before)
    }

    @Test func declaredFieldsBelowPreserveUnknownFieldsAreStillPruned() throws {
        let schema = try specSchema(#"""
            {"payload":{"type":"object","x-kubernetes-preserve-unknown-fields":true,
              "properties":{"inner":{"type":"object","properties":{"keep":{"type":"string"}}}}}}
            """#)
        var value = try json(#"{"spec":{"payload":{"free":1,"inner":{"keep":"k","drop":1}}}}"#)
        #expect(schema.prune(&value) == ["spec.payload.inner.drop"])
        #expect(value == (try json(#"{"spec":{"payload":{"free":1,"inner":{"keep":"k"}}}}"#)))
    }

    @Test func additionalPropertiesKeepKeysAndPruneTheirValues() throws {
        let schema = try specSchema(#"""
            {"labels":{"type":"object","additionalProperties":{"type":"object","properties":{"keep":{"type":"string"}}}},
             "loose":{"type":"object","additionalProperties":true}}
            """#)
        var value = try json(#"{"spec":{"labels":{"a":{"keep":"k","drop":1}},"loose":{"n":1,"o":{"inner":2}}}}"#)
        // additionalProperties: true has no schema, so object values below it are emptied, as on the server.
        #expect(schema.prune(&value) == ["spec.labels.a.drop", "spec.loose.o.inner"])
        #expect(value == (try json(#"{"spec":{"labels":{"a":{"keep":"k"}},"loose":{"n":1,"o":{}}}}"#)))
    }

    @Test func embeddedResourcesKeepTheirTypeAndMetadata() throws {
        let schema = try specSchema(#"""
            {"template":{"type":"object","x-kubernetes-embedded-resource":true,"properties":{"spec":{"type":"object"}}}}
            """#)
        var value = try json(#"{"spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"x":1},"other":1}}}"#)
        #expect(schema.prune(&value) == ["spec.template.spec.x", "spec.template.other"])
        #expect(value == (try json(#"{"spec":{"template":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{}}}}"#)))
    }

    @Test func scalarsWhereObjectsAreDeclaredAreLeftForValidation() throws {
        let schema = try Seed.task
        var value = try json(#"{"spec":"text","status":[1,2]}"#)
        #expect(schema.prune(&value).isEmpty)
        #expect(value == (try json(#"{"spec":"text","status":[1,2]}"#)))
    }
}
