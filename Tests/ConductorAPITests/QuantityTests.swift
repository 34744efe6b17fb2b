import ConductorAPI
import Foundation
import Testing

@Suite struct QuantityParsing {
    static let valid: [(text: String, nanoUnits: Int128)] = [
        ("0", 0),
        ("1", 1_000_000_000),
        ("2", 2_000_000_000),
        ("500m", 500_000_000),
        ("0.5", 500_000_000),
        (".5", 500_000_000),
        ("1.", 1_000_000_000),
        ("+1", 1_000_000_000),
        ("-250m", -250_000_000),
        ("100n", 100),
        ("3u", 3_000),
        ("1k", 1_000_000_000_000),
        ("1M", 1_000_000_000_000_000),
        ("1G", 1_000_000_000_000_000_000),
        ("1T", 1_000_000_000_000_000_000_000),
        ("1P", 1_000_000_000_000_000_000_000_000),
        ("1E", 1_000_000_000_000_000_000_000_000_000),
        ("1Ki", 1_024_000_000_000),
        ("4Gi", 4 * 1_073_741_824 * 1_000_000_000),
        ("1.5Gi", 1_610_612_736 * 1_000_000_000),
        ("1Ei", 1_152_921_504_606_846_976 * 1_000_000_000),
        ("1e3", 1_000_000_000_000),
        ("1E3", 1_000_000_000_000),
        ("1.5e3", 1_500_000_000_000),
        ("1e+3", 1_000_000_000_000),
        ("25e-2", 250_000_000),
        ("0.000000001", 1),
        ("000123.4500", 123_450_000_000),
    ]

    @Test(arguments: valid)
    func parsesTheKubernetesGrammarExactly(text: String, nanoUnits: Int128) throws {
        let quantity = try Quantity(text)
        #expect(quantity.nanoUnits == nanoUnits)
        #expect(quantity.description == text, "the text is written back as it was read")
    }

    @Test func roundsAValueFinerThanANanoUnitUpAsKubernetesDoes() throws {
        #expect(try Quantity("0.1n").nanoUnits == 1)
        #expect(try Quantity("1.5n").nanoUnits == 2)
        #expect(try Quantity("1e-100").nanoUnits == 1)
        #expect(try Quantity("-0.1n").nanoUnits == -1)
        #expect(try Quantity("0.0000000000000").nanoUnits == 0)
        // A binary suffix on a fraction: 0.3Ki is 307.2, exactly.
        #expect(try Quantity("0.3Ki").nanoUnits == 307_200_000_000)
        #expect(try Quantity("0.000000000001Ki").nanoUnits == 2, "1.024e-9 is rounded up to 2n")
    }

    @Test func capsAtTheLargestQuantityKubernetesHolds() throws {
        #expect(try Quantity("1e30").nanoUnits == Quantity.maximumNanoUnits)
        #expect(try Quantity("1e2000000000").nanoUnits == Quantity.maximumNanoUnits)
        #expect(try Quantity("100000Ei").nanoUnits == Quantity.maximumNanoUnits)
        #expect(try Quantity("-1e30").nanoUnits == -Quantity.maximumNanoUnits)
        #expect(try Quantity(String(repeating: "9", count: 200)).nanoUnits == Quantity.maximumNanoUnits)
        #expect(try Quantity("9223372036854775807").units == Int64.max)
    }

    static let invalid: [(text: String, expected: QuantityError)] = [
        ("", .empty),
        ("abc", .invalidNumber(text: "abc")),
        (".", .invalidNumber(text: ".")),
        ("+", .invalidNumber(text: "+")),
        ("-m", .invalidNumber(text: "-m")),
        (" 1", .invalidNumber(text: " 1")),
        ("1 ", .invalidSuffix(text: "1 ", suffix: " ")),
        ("1.2.3", .invalidSuffix(text: "1.2.3", suffix: ".3")),
        ("1Gb", .invalidSuffix(text: "1Gb", suffix: "Gb")),
        ("1KI", .invalidSuffix(text: "1KI", suffix: "KI")),
        ("1K", .invalidSuffix(text: "1K", suffix: "K")),
        ("1e", .invalidSuffix(text: "1e", suffix: "e")),
        ("1e-", .invalidSuffix(text: "1e-", suffix: "e-")),
        ("1mi", .invalidSuffix(text: "1mi", suffix: "mi")),
        ("1e1.5", .invalidExponent(text: "1e1.5", exponent: "1.5")),
        ("1e99999999999", .invalidExponent(text: "1e99999999999", exponent: "99999999999")),
    ]

    @Test(arguments: invalid)
    func refusesBadInputWithATypedErrorThatNamesIt(text: String, expected: QuantityError) {
        #expect(throws: expected) { try Quantity(text) }
        if !text.isEmpty {
            #expect(expected.description.contains("\"\(text)\""), "the message names the text: \(expected)")
        }
    }
}

@Suite struct QuantityComparison {
    @Test func comparesByValueAcrossSuffixes() throws {
        #expect(try Quantity("1") == Quantity("1000m"))
        #expect(try Quantity("1k") == Quantity("1e3"))
        #expect(try Quantity("1Ki") == Quantity("1024"))
        #expect(try Quantity("1Gi") > Quantity("1G"))
        #expect(try Quantity("500m") < Quantity("1"))
        #expect(try Quantity("999999999n") < Quantity("1"))
        #expect(try Quantity("-1") < Quantity.zero)
        #expect(try Set([Quantity("1"), Quantity("1000m"), Quantity("1e0")]).count == 1)
        #expect(try [Quantity("2Gi"), Quantity("512Mi"), Quantity("1G")].sorted().map(\.description) == ["512Mi", "1G", "2Gi"])
    }

    @Test func comparesExactlyWhereFloatingPointWouldNot() throws {
        // As doubles, 2^53 + 1 and 2^53 are the same number.
        #expect(try Quantity("9007199254740993") > Quantity("9007199254740992"))
        #expect(try Quantity("0.1") + Quantity("0.2") == Quantity("0.3"))
        #expect(try Quantity("1.000000001") > Quantity("1"))
    }

    @Test func sumsAndDifferencesAreExactAndWrittenCanonically() throws {
        var total = Quantity.zero
        for cpu in ["500m", "250m", "1.25"] { total += try Quantity(cpu) }
        #expect(total == (try Quantity("2")))
        #expect(total.description == "2")
        #expect((try Quantity("1") - Quantity("1m")).description == "999m")
        #expect((try Quantity("1u") + Quantity("1n")).description == "1001n")
        #expect((try Quantity("3u")).units == 1, "units round up")
        #expect((try Quantity("1.5")).milliUnits == 1500)
        #expect((try Quantity("1500m")).units == 2)
        #expect(Quantity(milliUnits: 250) == (try Quantity("250m")))
        #expect(Quantity(nanoUnits: Quantity.maximumNanoUnits) + (try Quantity("1")) == Quantity(nanoUnits: Quantity.maximumNanoUnits))
    }

    @Test func decodesTheIntOrStringTheCRDAllowsAndWritesBackTheSameForm() throws {
        struct Holder: Codable, Equatable { var cpu: Quantity }
        let fromInteger = try JSONDecoder().decode(Holder.self, from: Data(#"{"cpu":2}"#.utf8))
        let fromString = try JSONDecoder().decode(Holder.self, from: Data(#"{"cpu":"2000m"}"#.utf8))
        #expect(fromInteger == fromString)
        #expect(String(decoding: try JSONEncoder().encode(fromInteger), as: UTF8.self) == #"{"cpu":2}"#)
        #expect(String(decoding: try JSONEncoder().encode(fromString), as: UTF8.self) == #"{"cpu":"2000m"}"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Holder.self, from: Data(#"{"cpu":"2 cores"}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Holder.self, from: Data(#"{"cpu":true}"#.utf8)) }
    }
}
