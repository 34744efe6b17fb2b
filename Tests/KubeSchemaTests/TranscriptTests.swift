import ConductorTestSupport
import Foundation
import KubeJSON
import Testing
@testable import KubeSchema

/// Replays the recorded requests (`kube-reference/transcripts`) that create or update Tasks through
/// defaults, pruning and validation, and compares with what the real server answered: the stored
/// spec for accepted writes, the causes for refused ones. Runs where the reference files are found
/// beside the repository (as in CI and on developer machines).
@Suite struct TranscriptTests {
    static let directory = KubeReference.transcripts

    static func steps(_ name: String) throws -> [JSON] {
        guard let directory else { return [] }
        let data = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name))
        return try JSON.parse(data).array ?? []
    }

    @Test(.enabled(if: directory != nil), arguments: ["02-create-get.json", "03-validation.json", "04-update-patch.json", "06-watch.json"])
    func replay(file: String) throws {
        let schema = try Seed.task
        var compared = 0
        for step in try Self.steps(file) {
            guard let request = step["request"], let method = request["method"]?.string, method == "POST" || method == "PUT",
                let path = request["path"]?.string, path.contains("/tasks"), !path.hasSuffix("/status"),
                var body = request["body"], body.object != nil, (body["kind"]?.string ?? "Task") == "Task",
                let response = step["response"], let status = response["status"]?.int
            else { continue }
            schema.applyDefaults(&body)
            _ = schema.prune(&body)
            let causes = schema.validate(body)
            if status == 200 || status == 201, let stored = response["body"]?["spec"] {
                #expect(causes.isEmpty, "\(step["note"]?.string ?? "")")
                #expect(body["spec"] == stored, "\(step["note"]?.string ?? "")")
                compared += 1
            } else if status == 422, let recorded = response["body"]?["details"]?["causes"]?.array,
                recorded.allSatisfy({ ($0["field"]?.string ?? "").hasPrefix("spec") || ($0["field"]?.string ?? "").hasPrefix("status") })
            {
                let expected = recorded.map { cause in
                    FieldError(field: cause["field"]?.string ?? "", reason: FieldError.Reason(rawValue: cause["reason"]?.string ?? "")!,
                               message: cause["message"]?.string ?? "")
                }
                #expect(causes == expected, "\(step["note"]?.string ?? "")")
                compared += 1
            }
        }
        #expect(compared > 0)
    }
}
