import Foundation
import KubeJSON
import Testing
@testable import LocalAPIServer

@Suite struct LabelSelectors {
    static let cases: [(String, [String: String], Bool)] = [
        ("team=b", ["team": "b"], true),
        ("team==b", ["team": "a"], false),
        ("team!=b", [:], true),
        ("team in (a,b),!missing", ["team": "a"], true),
        ("team in (a, b), !missing", ["team": "a", "missing": ""], false),
        ("team notin (a)", ["team": "c"], true),
        ("team", ["team": ""], true),
        ("!team", ["team": "x"], false),
        ("rank>3", ["rank": "5"], true),
        ("rank<3", ["rank": "5"], false),
        ("", ["anything": "x"], true),
    ]

    @Test(arguments: cases)
    func matching(selector: String, labels: [String: String], expected: Bool) throws {
        #expect(try LabelSelector(parsing: selector).matches(labels) == expected)
    }

    @Test(arguments: ["team in a", "team=(b", "a b", "Bad Key=1", "x=has space", "rank>x", "team in (a"])
    func malformedSelectorsAreBadRequests(selector: String) {
        do {
            _ = try LabelSelector(parsing: selector)
            Issue.record("\(selector) parsed")
        } catch {
            #expect(error.code == 400)
            #expect(error.message.hasPrefix("unable to parse requirement"))
        }
    }
}

@Suite struct FieldSelectors {
    let task: JSON = ["metadata": ["name": "t3", "namespace": "ns"], "status": ["phase": "Assigned", "assignedAgent": "agent-a"]]
    let supported = ["metadata.name", "metadata.namespace", "status.phase", "status.assignedAgent"]

    @Test func equalityAndInequality() throws {
        #expect(try FieldSelector(parsing: "status.phase=Assigned,metadata.name!=t3", supported: supported).matches(task) == false)
        #expect(try FieldSelector(parsing: "status.assignedAgent==agent-a", supported: supported).matches(task))
        #expect(try FieldSelector(parsing: "status.assignedAgent=", supported: supported).matches(["metadata": ["name": "x"]]))
    }

    /// The field a watch is filed under in the store's watcher index: the first equality, never an inequality.
    @Test func theFirstEqualityIsThePinnedField() throws {
        let name = try FieldSelector(parsing: "metadata.name=t3", supported: supported).pinnedField
        #expect(name?.path == ["metadata", "name"] && name?.value == "t3")
        let agent = try FieldSelector(parsing: "status.phase!=Completed,status.assignedAgent=agent-a", supported: supported).pinnedField
        #expect(agent?.path == ["status", "assignedAgent"] && agent?.value == "agent-a")
        #expect(try FieldSelector(parsing: "status.phase!=Completed", supported: supported).pinnedField == nil)
        #expect(try FieldSelector(parsing: "", supported: supported).pinnedField == nil)
    }

    @Test func unsupportedFieldsAreNamed() {
        do {
            _ = try FieldSelector(parsing: "spec.priority=5", supported: supported)
            Issue.record("parsed")
        } catch {
            #expect(error.code == 400)
            #expect(error.message == "field label not supported: spec.priority")
        }
    }
}

@Suite struct NamesAndFormats {
    @Test func subdomainNames() {
        #expect(Names.subdomainProblems("t1").isEmpty)
        #expect(Names.subdomainProblems("a.b-c").isEmpty)
        #expect(Names.subdomainProblems("Bad_Name") == [Names.dns1123SubdomainMessage])
        #expect(!Names.subdomainProblems(String(repeating: "a", count: 254)).isEmpty)
    }

    @Test func generatedNamesHaveFiveCharacterSuffixes() {
        let name = Names.generate(prefix: "gen-")
        #expect(name.hasPrefix("gen-") && name.count == 9)
        #expect(name.dropFirst(4).allSatisfy { Names.suffixAlphabet.contains($0) })
    }

    @Test func agesReadAsKubectlPrintsThem() {
        let cases: [(Double, String)] = [
            (0, "0s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3 * 3600 + 60, "3h1m"), (50 * 3600, "2d2h"), (30 * 86400, "30d"),
        ]
        for (seconds, text) in cases { #expect(Table.humanDuration(seconds) == text) }
    }

    @Test func continueTokensRoundTripInTheRealServersForm() throws {
        let token = ContinueToken.encode(revision: 14544, start: "gen-2wprh")
        #expect(token == "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTQ1NDQsInN0YXJ0IjoiL2dlbi0yd3ByaFx1MDAwMCJ9")
        let decoded = try ContinueToken.decode(token)
        #expect(decoded.revision == 14544 && decoded.start == "gen-2wprh")
        #expect(throws: APIError.self) { try ContinueToken.decode("not-a-token!") }
    }
}
