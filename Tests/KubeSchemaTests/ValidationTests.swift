import KubeJSON
import Testing
@testable import KubeSchema

/// Each validation keyword, with the server's wording.
@Suite struct ValidationTests {
    func check(_ properties: String, _ spec: String) throws -> [String] {
        texts(try specSchema(properties).validate(json(#"{"spec":\#(spec)}"#)))
    }

    @Test func types() throws {
        let properties = #"""
            {"i":{"type":"integer"},"n":{"type":"number"},"b":{"type":"boolean"},"s":{"type":"string"},
             "o":{"type":"object"},"a":{"type":"array","items":{"type":"string"}}}
            """#
        #expect(try check(properties, #"{"i":1.5,"n":"x","b":1,"s":true,"o":[],"a":{}}"#) == [
            #"spec.i: Invalid value: "number": spec.i in body must be of type integer: "number""#,
            #"spec.n: Invalid value: "string": spec.n in body must be of type number: "string""#,
            #"spec.b: Invalid value: "integer": spec.b in body must be of type boolean: "integer""#,
            #"spec.s: Invalid value: "boolean": spec.s in body must be of type string: "boolean""#,
            #"spec.o: Invalid value: "array": spec.o in body must be of type object: "array""#,
            #"spec.a: Invalid value: "object": spec.a in body must be of type array: "object""#,
        ])
        // A whole float is an integer; an integer is a number.
        #expect(try check(properties, #"{"i":2.0,"n":3,"b":false,"s":"","o":{},"a":[]}"#).isEmpty)
    }

    @Test func reasonsAreTheServers() throws {
        let found = try specSchema(#"{"i":{"type":"integer","maximum":1}}"#).validate(json(#"{"spec":{"i":"x"}}"#))
        #expect(found.map(\.reason) == [.typeInvalid])
        #expect(found.map(\.reason.rawValue) == ["FieldValueTypeInvalid"])
    }

    @Test func nullable() throws {
        let properties = #"{"x":{"type":"string","nullable":true},"y":{"type":"string"}}"#
        #expect(try check(properties, #"{"x":null,"y":null}"#) == [
            #"spec.y: Invalid value: "null": spec.y in body must be of type string: "null""#,
        ])
    }

    @Test func required() throws {
        let schema = try StructuralSchema(json(#"""
            {"type":"object","required":["spec"],"properties":{"spec":{"type":"object","required":["a","b"],
             "properties":{"a":{"type":"integer"},"b":{"type":"integer"}}}}}
            """#))
        #expect(texts(schema.validate(try json(#"{"spec":{"a":1}}"#))) == ["spec.b: Required value"])
        #expect(texts(schema.validate(try json(#"{"metadata":{}}"#))) == ["spec: Required value"])
        #expect(schema.validate(try json(#"{"spec":{"a":1}}"#)).map(\.reason) == [.required])
    }

    @Test func enums() throws {
        let properties = #"""
            {"n":{"type":"integer","enum":[1,2]},"f":{"type":"number","enum":[1,2]},
             "s":{"type":"string","enum":["a"]},"z":{"type":"string","nullable":true,"enum":["a"]}}
            """#
        #expect(try check(properties, #"{"n":3}"#) == [#"spec.n: Unsupported value: 3: supported values: "1", "2""#])
        // Go converts the value to the entry's type before comparing: 1.5 becomes 1.
        #expect(try check(properties, #"{"f":1.5}"#).isEmpty)
        // A value of the wrong type fails both the type and the enum.
        #expect(try check(properties, #"{"s":5}"#) == [
            #"spec.s: Invalid value: "integer": spec.s in body must be of type string: "integer""#,
            #"spec.s: Unsupported value: 5: supported values: "a""#,
        ])
        // A null never matches an enum, nullable or not.
        #expect(try check(properties, #"{"z":null}"#) == [#"spec.z: Unsupported value: "null": supported values: "a""#])
    }

    @Test func minimumAndMaximum() throws {
        let properties = #"""
            {"p":{"type":"integer","minimum":1,"maximum":10,"exclusiveMaximum":true},
             "r":{"type":"number","minimum":0.5,"exclusiveMinimum":true,"maximum":1e6}}
            """#
        #expect(try check(properties, #"{"p":10,"r":0.5}"#) == [
            "spec.p: Invalid value: 10: spec.p in body should be less than 10",
            "spec.r: Invalid value: 0.5: spec.r in body should be greater than 0.5",
        ])
        #expect(try check(properties, #"{"p":0,"r":2e6}"#) == [
            "spec.p: Invalid value: 0: spec.p in body should be greater than or equal to 1",
            "spec.r: Invalid value: 2e+06: spec.r in body should be less than or equal to 1e+06",
        ])
        #expect(try check(properties, #"{"p":9,"r":0.51}"#).isEmpty)
    }

    @Test func multipleOf() throws {
        let properties = #"{"i":{"type":"integer","multipleOf":3},"f":{"type":"number","multipleOf":0.5}}"#
        #expect(try check(properties, #"{"i":7,"f":1.25}"#) == [
            "spec.i: Invalid value: 7: spec.i in body should be a multiple of 3",
            "spec.f: Invalid value: 1.25: spec.f in body should be a multiple of 0.5",
        ])
        #expect(try check(properties, #"{"i":9,"f":1.5}"#).isEmpty)
    }

    @Test func stringLengths() throws {
        let properties = #"{"s":{"type":"string","minLength":3,"maxLength":5}}"#
        let schema = try specSchema(properties)
        let short = schema.validate(try json(#"{"spec":{"s":"ab"}}"#))
        #expect(short == [FieldError(field: "spec.s", reason: .invalid,
                                     message: #"Invalid value: "ab": spec.s in body should be at least 3 chars long"#)])
        let long = schema.validate(try json(#"{"spec":{"s":"abcdef"}}"#))
        #expect(long == [FieldError(field: "spec.s", reason: .tooLong, message: "Too long: may not be more than 5 bytes")])
        // Lengths count characters (runes), not bytes.
        #expect(schema.validate(try json(#"{"spec":{"s":"héllo"}}"#)).isEmpty)
    }

    @Test func pattern() throws {
        let properties = #"{"s":{"type":"string","pattern":"^a"},"t":{"type":"string","pattern":"b"},"d":{"type":"string","pattern":"^\\d+$"}}"#
        #expect(try check(properties, #"{"s":"b"}"#) == [#"spec.s: Invalid value: "b": spec.s in body should match '^a'"#])
        // Unanchored patterns match anywhere; \d is ASCII only, as in Go.
        #expect(try check(properties, #"{"s":"abc","t":"abc","d":"123"}"#).isEmpty)
        #expect(try check(properties, #"{"d":"١٢٣"}"#) == [#"spec.d: Invalid value: "١٢٣": spec.d in body should match '^\d+$'"#])
        // Go's one-letter Unicode classes work.
        let letters = #"{"l":{"type":"string","pattern":"^\\pL+$"}}"#
        #expect(try check(letters, #"{"l":"héllo"}"#).isEmpty)
        #expect(try check(letters, #"{"l":"h3llo"}"#) == [#"spec.l: Invalid value: "h3llo": spec.l in body should match '^\pL+$'"#])
    }

    @Test func itemCounts() throws {
        let schema = try specSchema(#"{"a":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2}}"#)
        #expect(texts(schema.validate(try json(#"{"spec":{"a":[]}}"#))) == [
            "spec.a: Invalid value: 0: spec.a in body should have at least 1 items",
        ])
        let tooMany = schema.validate(try json(#"{"spec":{"a":["x","y","z"]}}"#))
        #expect(tooMany == [FieldError(field: "spec.a", reason: .tooMany, message: "Too many: 3: must have at most 2 items")])
    }

    @Test func propertyCounts() throws {
        let properties = #"{"o":{"type":"object","additionalProperties":{"type":"string"},"minProperties":1,"maxProperties":2}}"#
        #expect(try check(properties, #"{"o":{}}"#) == ["spec.o: Invalid value: 0: spec.o in body should have at least 1 properties"])
        // A count failure ends the object's checks: the integers are not reported.
        let found = try specSchema(properties).validate(json(#"{"spec":{"o":{"a":1,"b":2,"c":3}}}"#))
        #expect(found == [FieldError(field: "spec.o", reason: .tooMany, message: "Too many: 3: must have at most 2 items")])
    }

    @Test func additionalProperties() throws {
        let properties = #"{"labels":{"type":"object","additionalProperties":{"type":"string"}},"closed":{"type":"object","additionalProperties":false}}"#
        #expect(try check(properties, #"{"labels":{"a":"x","b":1},"closed":{"x":1}}"#) == [
            #"spec.labels.b: Invalid value: "integer": spec.labels.b in body must be of type string: "integer""#,
            #"spec.closed: Invalid value: "x": spec.closed.x in body is a forbidden property"#,
        ])
    }

    @Test func items() throws {
        let properties = #"""
            {"list":{"type":"array","items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}}}
            """#
        #expect(try check(properties, #"{"list":[{"name":"a"},{},{"name":5}]}"#) == [
            "spec.list[1].name: Required value",
            #"spec.list[2].name: Invalid value: "integer": spec.list[2].name in body must be of type string: "integer""#,
        ])
    }

    @Test func intOrString() throws {
        let properties = #"""
            {"port":{"x-kubernetes-int-or-string":true},
             "strict":{"x-kubernetes-int-or-string":true,"anyOf":[{"type":"integer"},{"type":"string"}]}}
            """#
        #expect(try check(properties, #"{"port":80,"strict":"http"}"#).isEmpty)
        #expect(try check(properties, #"{"port":"http","strict":443}"#).isEmpty)
        #expect(try check(properties, #"{"port":true}"#) == [
            #"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#,
        ])
        #expect(try check(properties, #"{"strict":true}"#) == [
            #"spec.strict: Invalid value: "boolean": spec.strict in body must be of type integer,string: "boolean""#,
            #"<nil>: Invalid value: "": "spec.strict" must validate at least one schema (anyOf)"#,
            #"spec.strict: Invalid value: "boolean": spec.strict in body must be of type integer: "boolean""#,
        ])
    }

    @Test func preserveUnknownFieldsValidatesWhatIsDeclared() throws {
        let properties = #"{"payload":{"type":"object","x-kubernetes-preserve-unknown-fields":true,"properties":{"n":{"type":"integer"}}}}"#
        #expect(try check(properties, #"{"payload":{"anything":{"deep":[1,"x"]}}}"#).isEmpty)
        #expect(try check(properties, #"{"payload":{"n":"x"}}"#) == [
            #"spec.payload.n: Invalid value: "string": spec.payload.n in body must be of type integer: "string""#,
        ])
    }

    @Test func listTypeSet() throws {
        let schema = try specSchema(#"{"tags":{"type":"array","items":{"type":"string"},"x-kubernetes-list-type":"set"}}"#)
        let found = schema.validate(try json(#"{"spec":{"tags":["a","b","a","a","b"]}}"#))
        #expect(found == [
            FieldError(field: "spec.tags[2]", reason: .duplicate, message: #"Duplicate value: "a""#),
            FieldError(field: "spec.tags[4]", reason: .duplicate, message: #"Duplicate value: "b""#),
        ])
    }

    @Test func listTypeMap() throws {
        let schema = try specSchema(#"""
            {"ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
              "items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"port":{"type":"integer"}}}},
             "routes":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name","protocol"],
              "items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},
                "protocol":{"type":"string","default":"TCP"}}}}}
            """#)
        #expect(texts(schema.validate(try json(#"{"spec":{"ports":[{"name":"a","port":1},{"name":"a","port":2}]}}"#))) == [
            #"spec.ports[1]: Duplicate value: map[string]interface {}{"name":"a"}"#,
        ])
        #expect(texts(schema.validate(try json(#"{"spec":{"routes":[{"name":"a","protocol":"TCP"},{"name":"a","protocol":"TCP"},{"name":"a","protocol":"UDP"}]}}"#))) == [
            #"spec.routes[1]: Duplicate value: map[string]interface {}{"name":"a", "protocol":"TCP"}"#,
        ])
        // Schema errors come first, then the list's own.
        #expect(texts(schema.validate(try json(#"{"spec":{"ports":["x"]}}"#))) == [
            #"spec.ports[0]: Invalid value: "string": spec.ports[0] in body must be of type object: "string""#,
            #"spec.ports[0]: Invalid value: "x": must be an object for an array of list-type map"#,
        ])
    }

    @Test func anyOf() throws {
        let schema = try StructuralSchema(json(#"""
            {"type":"object","properties":{"spec":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},
              "anyOf":[{"required":["a"]},{"required":["b"]}]}}}
            """#))
        #expect(schema.validate(try json(#"{"spec":{"b":"x"}}"#)).isEmpty)
        let found = schema.validate(try json(#"{"spec":{}}"#))
        #expect(found == [
            FieldError(field: "<nil>", reason: .invalid, message: #"Invalid value: "": "spec" must validate at least one schema (anyOf)"#),
            FieldError(field: "spec.a", reason: .required, message: "Required value"),
        ])
    }

    @Test func oneOf() throws {
        let schema = try StructuralSchema(json(#"""
            {"type":"object","properties":{"spec":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},
              "oneOf":[{"required":["a"]},{"required":["b"]}]}}}
            """#))
        #expect(schema.validate(try json(#"{"spec":{"a":"x"}}"#)).isEmpty)
        #expect(texts(schema.validate(try json(#"{"spec":{"a":"x","b":"y"}}"#))) == [
            #"<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid alternatives"#,
        ])
        #expect(texts(schema.validate(try json(#"{"spec":{}}"#))) == [
            #"<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found none valid"#,
            "spec.a: Required value",
        ])
    }

    @Test func allOf() throws {
        let properties = #"{"n":{"type":"integer","allOf":[{"minimum":5},{"multipleOf":2}]}}"#
        #expect(try check(properties, #"{"n":3}"#) == [
            "spec.n: Invalid value: 3: spec.n in body should be greater than or equal to 5",
            "spec.n: Invalid value: 3: spec.n in body should be a multiple of 2",
            #"<nil>: Invalid value: "": "spec.n" must validate all the schemas (allOf). None validated"#,
        ])
        #expect(try check(properties, #"{"n":4}"#) == [
            "spec.n: Invalid value: 4: spec.n in body should be greater than or equal to 5",
            #"<nil>: Invalid value: "": "spec.n" must validate all the schemas (allOf)"#,
        ])
        #expect(try check(properties, #"{"n":6}"#).isEmpty)
    }

    @Test func not() throws {
        let properties = #"{"s":{"type":"string","not":{"pattern":"^x"}}}"#
        #expect(try check(properties, #"{"s":"xy"}"#) == [#"<nil>: Invalid value: "": "spec.s" must not validate the schema (not)"#])
        #expect(try check(properties, #"{"s":"yx"}"#).isEmpty)
    }

    @Test func formats() throws {
        let properties = #"""
            {"t":{"type":"string","format":"date-time"},"d":{"type":"string","format":"date"},"b":{"type":"string","format":"byte"},
             "u":{"type":"string","format":"uuid"},"e":{"type":"string","format":"email"},"h":{"type":"string","format":"hostname"},
             "i":{"type":"integer","format":"int32"},"l":{"type":"integer","format":"int64"},"x":{"type":"string","format":"no-such-format"}}
            """#
        let good = #"""
            {"t":"2030-06-10T12:00:00.123+02:00","d":"2024-02-29","b":"aGVsbG8=","u":"123e4567-e89b-12d3-a456-426614174000",
             "e":"ops@example.com","h":"api.example.com","i":7,"l":9007199254740993,"x":"anything"}
            """#
        #expect(try check(properties, good).isEmpty)
        let bad = #"""
            {"t":"2030-06-10 12:00:00","d":"2023-02-29","b":"abc","u":"123e4567","e":"not-an-address","h":"-bad-.com"}
            """#
        #expect(try check(properties, bad) == [
            #"spec.t: Invalid value: "2030-06-10 12:00:00": spec.t in body must be of type date-time: "2030-06-10 12:00:00""#,
            #"spec.d: Invalid value: "2023-02-29": spec.d in body must be of type date: "2023-02-29""#,
            #"spec.b: Invalid value: "abc": spec.b in body must be of type byte: "abc""#,
            #"spec.u: Invalid value: "123e4567": spec.u in body must be of type uuid: "123e4567""#,
            #"spec.e: Invalid value: "not-an-address": spec.e in body must be of type email: "not-an-address""#,
            #"spec.h: Invalid value: "-bad-.com": spec.h in body must be of type hostname: "-bad-.com""#,
        ])
        // The server checks a non-string against the format before the type.
        #expect(try check(properties, #"{"t":5}"#) == [
            #"spec.t: Invalid value: "int64": spec.t in body must be of type date-time: "int64""#,
        ])
        // int32 is not range-checked by the server either; a float is reported against the format.
        #expect(try check(properties, #"{"i":4294967296}"#).isEmpty)
        #expect(try check(properties, #"{"i":1.5}"#) == [
            #"spec.i: Invalid value: "float64": spec.i in body must be of type int32: "float64""#,
        ])
    }

    @Test func errorsComeInDocumentOrder() throws {
        let schema = try Seed.task
        let value = try json(#"{"spec":{"retryPolicy":{"backoffStrategy":"z","maxRetries":"x"},"priority":0,"deadline":"x"},"status":{"phase":"P"}}"#)
        #expect(schema.validate(value).map(\.field) == [
            "spec.retryPolicy.backoffStrategy", "spec.retryPolicy.maxRetries", "spec.priority", "spec.deadline", "status.phase",
        ])
    }

    @Test func celRulesAreKeptButNotEvaluated() throws {
        let schema = try specSchema(#"{"a":{"type":"integer"}}"#, extra: #","x-kubernetes-validations":[{"rule":"self.a > 0","message":"a must be positive"}]"#)
        #expect(schema.validate(try json(#"{"spec":{"a":-1}}"#)).isEmpty)
    }
}
