import KubeJSON
import Testing
@testable import KubeSchema

/// Schemas the server refuses, with its causes.
@Suite struct SchemaCheckTests {
    func causes(_ text: String) -> [String] { schemaError(text).map { texts($0.causes) } ?? [] }

    @Test func missingTypeOfAField() throws {
        let text = #"{"type":"object","properties":{"spec":{"properties":{"x":{"type":"string"}}}}}"#
        let error = try #require(schemaError(text, fieldPath: "spec.versions[0].schema.openAPIV3Schema"))
        #expect(error.field == "spec.versions[0].schema.openAPIV3Schema.properties[spec].type")
        #expect(error.reason == .required)
        #expect(error.message == "Required value: must not be empty for specified object fields")
        #expect(error.description
            == "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields")
        // Without a place, fields are relative to the openAPIV3Schema, and can be placed later.
        let relative = try #require(schemaError(text))
        #expect(relative.field == "properties[spec].type")
        #expect(relative.causes(under: "spec.versions[1].schema.openAPIV3Schema").map(\.field)
            == ["spec.versions[1].schema.openAPIV3Schema.properties[spec].type"])
    }

    @Test func root() {
        #expect(causes(#"{"properties":{"spec":{"type":"object"}}}"#) == ["type: Required value: must not be empty at the root"])
        #expect(causes(#"{"type":"string"}"#) == [#"type: Invalid value: "string": must be object at the root"#])
        #expect(causes(#"{"type":"object","nullable":true}"#) == ["nullable: Forbidden: nullable cannot be true at the root"])
        #expect(causes(#"{"type":"object","additionalProperties":{"type":"string"}}"#)
            == ["additionalProperties: Forbidden: must not be used at the root"])
        #expect(causes(#"[]"#) == ["json: cannot unmarshal array into Go value of type v1.JSONSchemaProps"].map { ": " + $0 })
    }

    @Test func arrays() {
        #expect(causes(#"{"type":"object","properties":{"a":{"type":"array"}}}"#) == ["properties[a].items: Required value: must be specified"])
        #expect(causes(#"{"type":"object","properties":{"a":{"type":"array","items":{}}}}"#)
            == ["properties[a].items.type: Required value: must not be empty for specified array items"])
        #expect(causes(#"{"type":"object","properties":{"a":{"type":"array","items":[{"type":"string"}]}}}"#)
            == ["properties[a].items: Forbidden: items must be a schema object and not an array"])
    }

    @Test func valueValidationsMayNotDeclareStructure() {
        let text = #"""
            {"type":"object","properties":{"spec":{"type":"object","properties":{"a":{"type":"string"}},
              "anyOf":[{"type":"object"}],"allOf":[{"default":1,"description":"d","properties":{"metadata":{}}}],
              "not":{"x-kubernetes-preserve-unknown-fields":true,"nullable":true}}}}
            """#
        #expect(causes(text) == [
            "properties[spec].allOf[0].default: Forbidden: must be undefined to be structural",
            "properties[spec].allOf[0].description: Forbidden: must be empty to be structural",
            "properties[spec].allOf[0].properties[metadata]: Forbidden: must not be specified in a nested context",
            "properties[spec].anyOf[0].type: Forbidden: must be empty to be structural",
            "properties[spec].not.nullable: Forbidden: must be false to be structural",
            "properties[spec].not.x-kubernetes-preserve-unknown-fields: Forbidden: must be false to be structural",
        ])
    }

    @Test func valueValidationsMustNameDeclaredFields() {
        let text = #"{"type":"object","properties":{"spec":{"type":"object"}},"anyOf":[{"properties":{"bar":{}}}]}"#
        let error = schemaError(text, fieldPath: "spec.versions[0].schema.openAPIV3Schema")
        #expect(error.map { texts($0.causes) } == [
            "spec.versions[0].schema.openAPIV3Schema.properties[bar]: Required value: because it is defined in "
                + "spec.versions[0].schema.openAPIV3Schema.anyOf[0].properties[bar]",
        ])
    }

    @Test func intOrStringPatternsMayNameTypes() throws {
        _ = try StructuralSchema(json(#"""
            {"type":"object","properties":{"a":{"x-kubernetes-int-or-string":true,"anyOf":[{"type":"integer"},{"type":"string"}]},
             "b":{"x-kubernetes-int-or-string":true,"allOf":[{"anyOf":[{"type":"integer"},{"type":"string"}]},{"pattern":"^[0-9a-z]+$"}]}}}
            """#))
        #expect(causes(#"{"type":"object","properties":{"a":{"x-kubernetes-int-or-string":true,"x-kubernetes-preserve-unknown-fields":true}}}"#)
            == ["properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if x-kubernetes-int-or-string is true"])
    }

    @Test func metadata() throws {
        _ = try StructuralSchema(json(#"{"type":"object","properties":{"metadata":{"type":"object","properties":{"name":{"type":"string","maxLength":10}}}}}"#))
        #expect(causes(#"{"type":"object","properties":{"metadata":{"type":"object","properties":{"labels":{"type":"object"}}}}}"#) == [
            "properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
        ])
        #expect(causes(#"{"type":"object","properties":{"metadata":{"type":"object","default":{}}}}"#)
            == ["properties[metadata].default: Forbidden: must not be set in top-level metadata"])
        #expect(causes(#"{"type":"object","properties":{"kind":{"type":"integer"}}}"#)
            == [#"properties[kind].type: Invalid value: "integer": must be string"#])
    }

    @Test func embeddedResources() throws {
        #expect(causes(#"{"type":"object","properties":{"t":{"type":"object","x-kubernetes-embedded-resource":true}}}"#) == [
            "properties[t].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ])
        #expect(causes(#"{"type":"object","properties":{"t":{"x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}}}"#) == [
            "properties[t].type: Required value: must be object if x-kubernetes-embedded-resource is true",
        ])
        _ = try StructuralSchema(json(#"{"type":"object","properties":{"t":{"type":"object","x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}}}"#))
    }

    @Test func unsupportedKeywords() {
        #expect(causes(#"{"type":"object","properties":{"a":{"type":"array","items":{"type":"string"},"uniqueItems":true}}}"#) == [
            "properties[a].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ])
        #expect(causes(##"{"type":"object","properties":{"spec":{"$ref":"#/definitions/x"}}}"##) == ["properties[spec].$ref: Forbidden: $ref is not supported"])
        #expect(causes(#"{"type":"object","properties":{"a":{"type":"foo"}}}"#) == [
            #"properties[a].type: Unsupported value: "foo": supported values: "array", "boolean", "integer", "number", "object", "string""#,
        ])
        #expect(causes(#"{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"string"}},"additionalProperties":{"type":"string"}}}}"#)
            == ["properties[a].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"])
        #expect(causes(#"{"type":"object","properties":{"a":{"type":"object","x-kubernetes-preserve-unknown-fields":false}}}"#)
            == ["properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"])
    }

    @Test func listExtensions() {
        #expect(causes(#"{"type":"object","properties":{"a":{"type":"string","x-kubernetes-list-type":"set"}}}"#)
            == [#"properties[a].type: Invalid value: "string": must be array if x-kubernetes-list-type is specified"#])
        #expect(causes(#"{"type":"object","properties":{"a":{"type":"array","items":{"type":"string"},"x-kubernetes-list-type":"bag"}}}"#)
            == [#"properties[a].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "set", "map""#])
        let noKeys = #"{"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"map","items":{"type":"object"}}}}"#
        #expect(causes(noKeys) == ["properties[a].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"])
        let optionalKey = #"""
            {"type":"object","properties":{"a":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name","missing"],
              "items":{"type":"object","properties":{"name":{"type":"string"}}}}}}
            """#
        #expect(causes(optionalKey) == [
            #"properties[a].x-kubernetes-list-map-keys: Invalid value: []string{"name", "missing"}: entries must all be names of item properties"#,
            "properties[a].items.properties[name].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
        ])
    }

    @Test func defaults() {
        #expect(causes(#"{"type":"object","properties":{"spec":{"type":"object","properties":{"p":{"type":"integer","maximum":10,"default":11}}}}}"#)
            == ["properties[spec].properties[p].default: Invalid value: 11:  in body should be less than or equal to 10"])
        #expect(causes(#"{"type":"object","properties":{"r":{"type":"object","default":{"foo":1,"n":"x"},"properties":{"n":{"type":"integer"}}}}}"#) == [
            #"properties[r].default: Invalid value: map[string]interface {}{"foo":1, "n":"x"}: must not have unknown fields"#,
            #"properties[r].default.n: Invalid value: "string": n in body must be of type integer: "string""#,
        ])
    }

    @Test func patterns() throws {
        #expect(causes(#"{"type":"object","properties":{"s":{"type":"string","pattern":"(a"}}}"#) == [
            #"properties[s].pattern: Invalid value: "(a": must be a valid regular expression, but isn't: error parsing regexp: missing closing ): `(a`"#,
        ])
        #expect(causes(#"{"type":"object","properties":{"s":{"type":"string","pattern":"a(?=b)"}}}"#) == [
            #"properties[s].pattern: Invalid value: "a(?=b)": must be a valid regular expression, but isn't: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"#,
        ])
    }

    @Test func celRules() throws {
        _ = try StructuralSchema(json(#"{"type":"object","x-kubernetes-validations":[{"rule":"has(self.spec)"}],"properties":{"spec":{"type":"object"}}}"#))
        #expect(causes(#"{"type":"object","x-kubernetes-validations":[{"rule":"  "}]}"#) == ["x-kubernetes-validations[0].rule: Required value: rule is not specified"])
        #expect(causes(#"{"type":"object","properties":{"s":{"type":"object","allOf":[{"x-kubernetes-validations":[{"rule":"true"}]}]}}}"#)
            == ["properties[s].allOf[0].x-kubernetes-validations: Forbidden: must be empty to be structural"])
    }

    @Test func keywordsOfTheWrongType() {
        #expect(causes(#"{"type":5}"#) == ["type: json: cannot unmarshal number into Go struct field JSONSchemaProps.type of type string"])
        #expect(causes(#"{"type":"object","properties":{"s":{"type":"string","maxLength":1.5}}}"#)
            == ["properties[s].maxLength: json: cannot unmarshal number 1.5 into Go struct field JSONSchemaProps.maxLength of type int64"])
    }

    @Test func structuralErrorsAreSortedLikeTheServer() {
        let text = #"{"type":"object","properties":{"b":{},"a":{},"c":{"type":"array"}}}"#
        #expect(causes(text) == [
            "properties[a].type: Required value: must not be empty for specified object fields",
            "properties[b].type: Required value: must not be empty for specified object fields",
            "properties[c].items: Required value: must be specified",
        ])
    }

    @Test func deepSchemasAreRefused() throws {
        var schema: JSON = ["type": "string"]
        for _ in 0..<300 { schema = ["type": "object", "properties": ["a": schema]] }
        // Built in code: parsed JSON could not even nest this deep.
        #expect(throws: SchemaError.self) { try StructuralSchema(schema) }
        do {
            _ = try StructuralSchema(schema)
        } catch {
            #expect(error.message == "Forbidden: must not nest more than 256 schemas deep")
        }
    }
}
