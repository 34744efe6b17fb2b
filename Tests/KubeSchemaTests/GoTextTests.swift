import KubeJSON
import Testing
@testable import KubeSchema

/// Values are spelled as Go's fmt and encoding/json spell them.
@Suite struct GoTextTests {
    @Test(arguments: [
        (1e6, "1e+06"), (123456.0, "123456"), (1234567.0, "1.234567e+06"), (0.0001, "0.0001"), (0.00001, "1e-05"),
        (1.5, "1.5"), (-2.5e-7, "-2.5e-07"), (10.0, "10"), (0.1, "0.1"), (1e100, "1e+100"), (100.25, "100.25"),
    ])
    func percentV(value: Double, text: String) {
        #expect(GoText.float(value) == text)
    }

    @Test(arguments: [(1e21, "1e+21"), (1e-7, "1e-7"), (1234567.0, "1234567"), (0.000001, "0.000001"), (2.5, "2.5")])
    func json(value: Double, text: String) {
        #expect(GoText.jsonFloat(value) == text)
    }

    @Test func quote() {
        #expect(GoText.quote("a\"b\\c") == #""a\"b\\c""#)
        #expect(GoText.quote("tab\tnl\n\u{1}") == #""tab\tnl\n\x01""#)
        #expect(GoText.quote("héllo ✓") == "\"héllo ✓\"")
        #expect(GoText.quote("zero\u{200B}width\u{A0}") == #""zero\u200bwidth\u00a0""#)
    }

    @Test func goSyntaxOfDecodedValues() throws {
        let value = try KubeJSON.JSON.parse(#"{"b":[1,"x",null,true],"a":{"n":1.5}}"#)
        #expect(GoText.goSyntax(value)
            == #"map[string]interface {}{"a":map[string]interface {}{"n":1.5}, "b":[]interface {}{1, "x", interface {}(nil), true}}"#)
        #expect(GoText.marshal(value) == #"{"a":{"n":1.5},"b":[1,"x",null,true]}"#)
    }

    @Test func badValues() {
        #expect(FieldError.badValue(.null) == #""null""#)
        #expect(FieldError.badValue(11) == "11")
        #expect(FieldError.badValue(2.5) == "2.5")
        #expect(FieldError.badValue("x") == #""x""#)
        #expect(FieldError.badValue([1]) == "[]interface {}{1}")
    }
}
