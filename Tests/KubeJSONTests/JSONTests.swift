import Testing
@testable import KubeJSON

@Suite struct ParsingAndWriting {
    @Test func roundTripKeepsMemberOrderAndNumberKinds() throws {
        let text = #"{"z":1,"a":[true,false,null],"m":{"x":-2.5,"y":"s\"q\\"},"big":9007199254740993}"#
        let value = try JSON.parse(text)
        #expect(value.text == text)
        #expect(value["big"] == .int(9_007_199_254_740_993))
        #expect(value["m"]?["x"] == .double(-2.5))
        #expect(Array(value.object!.keys) == ["z", "a", "m", "big"])
    }

    @Test func escapesAsGoDoes() throws {
        let value: JSON = .string("<a&b>\u{2028}\n\u{1}")
        #expect(value.text == #""\u003ca\u0026b\u003e\u2028\n\u0001""#)
        #expect(try JSON.parse(value.text) == value)
        // Around and between the escapes, runs are copied as they are: other three-byte characters led by E2 too.
        let mixed: JSON = .string("plain €\"\\\t\r x\u{2029}é\u{2028}")
        #expect(mixed.text == #""plain €\"\\\t\r x\u2029é\u2028""#)
        #expect(try JSON.parse(mixed.text) == mixed)
        #expect(JSON.string("").text == "\"\"")
        #expect(JSON.string("\u{8}\u{C}\u{B}").text == #""\b\f\u000b""#)
        #expect(JSON.string("ends with <").text == #""ends with \u003c""#)
    }

    @Test func repeatedMembersAreListedWithTheirPathsAndTheLastWins() throws {
        var duplicates: [String] = []
        let value = try JSON.parse(
            Array(#"{"a":1,"s":{"x":[{"k":1,"k":2}],"y":0,"y":3},"a":2,"l":[[{"z":0,"z":1}]]}"#.utf8),
            duplicateKeys: &duplicates)
        #expect(duplicates == ["s.x[0].k", "s.y", "a", "l[0][0].z"])
        #expect(value["a"] == .int(2))
        #expect(value["s"]?["y"] == .int(3))
        #expect(Array(value.object!.keys) == ["a", "s", "l"])
        var none: [String] = []
        _ = try JSON.parse(Array(#"{"a":{"a":{"a":1}}}"#.utf8), duplicateKeys: &none)
        #expect(none.isEmpty)
    }

    @Test func unicodeEscapesAndSurrogatePairs() throws {
        #expect(try JSON.parse(#""\u00e9\ud83d\ude00""#) == .string("é😀"))
    }

    @Test(arguments: [
        ("{not json", "invalid character 'n' looking for beginning of object key string"),
        ("[1,]", "invalid character ']' looking for beginning of value"),
        ("{\"a\" 1}", "invalid character '1' after object key"),
        ("{\"a\":1 \"b\"}", "invalid character '\"' after object key:value pair"),
        ("[1 2]", "invalid character '2' after array element"),
        ("tru", "unexpected end of JSON input"),
        ("nul!", "invalid character '!' in literal null (expecting 'l')"),
        ("1 2", "invalid character '2' after top-level value"),
        ("", "unexpected end of JSON input"),
    ])
    func errorsAreWordedLikeGo(input: String, message: String) {
        #expect(throws: JSONParseError.self) { try JSON.parse(input) }
        do {
            _ = try JSON.parse(input)
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func nestingBeyondTheLimitIsRefused() {
        let deep = String(repeating: "[", count: JSON.maximumDepth + 1) + String(repeating: "]", count: JSON.maximumDepth + 1)
        #expect(throws: JSONParseError.self) { try JSON.parse(deep) }
        let fine = String(repeating: "[", count: JSON.maximumDepth) + String(repeating: "]", count: JSON.maximumDepth)
        #expect((try? JSON.parse(fine)) != nil)
    }

    @Test func anOmittedMemberIsLeftOutAndNothingElse() throws {
        let text = #"""
            {"kind":"TaskList","items":[
              {"metadata":{"name":"a","managedFields":[{"manager":"x\u00e9\"","fieldsV1":{"f:spec":{".":{},"f:n":{}}},"n":-1.5e3,"t":true,"z":null}],"labels":{"managedFields":"kept"}},"spec":{"managedFields":1}},
              {"metadata":{"managedFields":[]}},
              "not an object",
              {"metadata":"a string"}
            ],"metadata":{"managedFields":"kept: not in an item"}}
            """#
        var expected = try JSON.parse(text)
        var items = expected["items"]!.array!
        items[0] = ["metadata": ["name": "a", "labels": ["managedFields": "kept"]], "spec": ["managedFields": 1]]
        items[1] = ["metadata": [:]]
        expected["items"] = .array(items)
        #expect(try JSON.parse(Array(text.utf8), omitting: ["items", "metadata", "managedFields"]) == expected)
        // One object, as a write's answer; a watch event's envelope.
        let object = #"{"metadata":{"managedFields":[{"a":[1,{"b":"c"}]}],"name":"n"},"status":{}}"#
        #expect(try JSON.parse(Array(object.utf8), omitting: ["metadata", "managedFields"]) == ["metadata": ["name": "n"], "status": [:]])
        let event = #"{"type":"ADDED","object":\#(object)}"#
        #expect(try JSON.parse(Array(event.utf8), omitting: ["object", "metadata", "managedFields"])
            == ["type": "ADDED", "object": ["metadata": ["name": "n"], "status": [:]]])
        // Nesting inside it counts as anywhere else.
        let deep = String(repeating: "[", count: JSON.maximumDepth - 2) + String(repeating: "]", count: JSON.maximumDepth - 2)
        #expect((try? JSON.parse(Array(#"{"metadata":{"managedFields":\#(deep)}}"#.utf8), omitting: ["metadata", "managedFields"])) != nil)
        let tooDeep = "[" + deep + "]"
        #expect(throws: JSONParseError.self) {
            try JSON.parse(Array(#"{"metadata":{"managedFields":\#(tooDeep)}}"#.utf8), omitting: ["metadata", "managedFields"])
        }
    }

    @Test(arguments: ["{not json", "[1,]", "{\"a\" 1}", "{\"a\":1 \"b\"}", "[1 2]", "tru", "nul!", "\"a\\u12x4\"", "\"a\u{1}\"", "-", "1.e", "[{}", ""])
    func anOmittedMemberIsCheckedAsStrictly(bad: String) {
        // The same error, at the same offset, as when the member is built.
        let text = #"{"metadata":{"managedFields":"# + bad + "}}"
        var built: JSONParseError?
        var omitted: JSONParseError?
        do { _ = try JSON.parse(text) } catch { built = error }
        do { _ = try JSON.parse(Array(text.utf8), omitting: ["metadata", "managedFields"]) } catch { omitted = error }
        #expect(built != nil)
        #expect(omitted == built)
    }

    @Test func integersAndFloatsCompareByValue() {
        #expect(JSON.int(5) == JSON.double(5))
        #expect(JSON.double(5).text == "5")
        #expect(JSON.double(0.5).text == "0.5")
    }
}

@Suite struct Patches {
    /// The examples of RFC 7386, appendix A.
    @Test(arguments: [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ])
    func mergePatch(target: String, patch: String, result: String) throws {
        #expect(try JSON.parse(target).mergePatched(with: try JSON.parse(patch)) == JSON.parse(result))
    }

    @Test func jsonPatchOperations() throws {
        let document = try JSON.parse(#"{"spec":{"priority":4,"tags":["a","b"]},"x/y":1,"m~n":2}"#)
        let patch = try JSON.parse(#"""
            [{"op":"test","path":"/spec/priority","value":4},
             {"op":"replace","path":"/spec/priority","value":7},
             {"op":"add","path":"/spec/tags/1","value":"z"},
             {"op":"add","path":"/spec/tags/-","value":"end"},
             {"op":"remove","path":"/x~1y"},
             {"op":"copy","from":"/m~0n","path":"/copied"},
             {"op":"move","from":"/spec/tags/0","path":"/first"}]
            """#)
        let result = try document.jsonPatched(with: patch)
        #expect(result == (try JSON.parse(#"{"spec":{"priority":7,"tags":["z","b","end"]},"m~n":2,"copied":2,"first":"a"}"#)))
    }

    @Test func failingTestLeavesNothingApplied() throws {
        let document = try JSON.parse(#"{"spec":{"priority":4}}"#)
        let patch = try JSON.parse(#"[{"op":"replace","path":"/spec/priority","value":2},{"op":"test","path":"/spec/priority","value":1}]"#)
        #expect(throws: JSONPatchError.self) { try document.jsonPatched(with: patch) }
        #expect(document["spec"]?["priority"] == 4)
    }

    @Test func pathsThatDoNotExistAreErrors() throws {
        let document = try JSON.parse(#"{"a":[1]}"#)
        for patch in [#"[{"op":"remove","path":"/b"}]"#, #"[{"op":"replace","path":"/a/5","value":1}]"#,
                      #"[{"op":"add","path":"/x/y","value":1}]"#, #"[{"op":"bogus","path":"/a"}]"#, #"{"op":"add"}"#] {
            #expect(throws: JSONPatchError.self) { try document.jsonPatched(with: try JSON.parse(patch)) }
        }
    }
}
