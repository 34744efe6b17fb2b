import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON
import Testing

/// Every answer a real kube-apiserver 1.36 gave in `kube-reference/transcripts` that the project reads, decoded
/// with the model the project reads it with: objects, lists (built-in kinds' items without apiVersion and kind),
/// watch events and Statuses. A model that demands a field the real server leaves out fails here, not on a
/// cluster.
@Suite struct RecordedAnswerDecodingTests {
    static let directory = KubeReference.transcripts

    /// Each recorded body (answers, and the objects of watch events as lines), with where it came from.
    static func recordedBodies() throws -> [(place: String, body: JSON, watchLine: Bool)] {
        guard let directory else { return [] }
        var bodies: [(String, JSON, Bool)] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory).filter({ $0.hasSuffix(".json") }).sorted() {
            let steps = try JSON.parse(Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(file))).array ?? []
            for (index, step) in steps.enumerated() {
                let place = "\(file) step \(index)"
                if let body = step["response"]?["body"], body.object != nil { bodies.append((place, body, false)) }
                for (n, event) in (step["response"]?["events"]?.array ?? []).enumerated() where event["type"] != nil {
                    bodies.append(("\(place) event \(n)", event, true))
                }
            }
        }
        return bodies
    }

    /// Decodes one body the way the client would, by its apiVersion and kind; returns what it read as.
    static func decode(_ body: JSON, watchLine: Bool) throws -> String? {
        let bytes = body.serialized()
        if watchLine {
            switch body["object"]?["kind"]?.string {
            case "Task": _ = try TaskResource.decodeWatchEvent(bytes)
            case "Agent": _ = try Agent.decodeWatchEvent(bytes)
            case "Lease": _ = try Lease.decodeWatchEvent(bytes)
            case "Event" where body["object"]?["apiVersion"] == "v1": _ = try Event.decodeWatchEvent(bytes)
            default: _ = try JSON.decodeWatchEvent(bytes)
            }
            return "watch event"
        }
        switch (body["apiVersion"]?.string, body["kind"]?.string) {
        case ("mcp.io/v1", "Task"): _ = try TaskResource.decode(bytes)
        case ("mcp.io/v1", "TaskList"): _ = try TaskResource.decodeList(bytes)
        case ("mcp.io/v1", "Agent"): _ = try Agent.decode(bytes)
        case ("mcp.io/v1", "AgentList"): _ = try Agent.decodeList(bytes)
        case ("coordination.k8s.io/v1", "Lease"): _ = try Lease.decode(bytes)
        case ("coordination.k8s.io/v1", "LeaseList"): _ = try Lease.decodeList(bytes)
        case ("v1", "Event"): _ = try Event.decode(bytes)
        case ("v1", "EventList"): _ = try Event.decodeList(bytes)
        case ("v1", "Status"): _ = try JSONValueDecoder.decode(KubeStatus.self, from: body)
        case (_, let kind?) where kind.hasSuffix("List"): _ = try JSON.decodeList(bytes)
        default: return nil
        }
        return body["kind"]?.string
    }

    @Test(.enabled(if: directory != nil)) func everyRecordedAnswerDecodesWithTheProjectsModels() throws {
        var read: [String: Int] = [:]
        for (place, body, watchLine) in try Self.recordedBodies() {
            do {
                if let kind = try Self.decode(body, watchLine: watchLine) { read[kind, default: 0] += 1 }
            } catch {
                Issue.record("\(place): \(body["kind"]?.string ?? "?") does not decode: \(error)")
            }
        }
        // The audit covered what the project reads.
        for kind in ["Task", "TaskList", "Lease", "LeaseList", "Event", "EventList", "Status", "watch event"] {
            #expect(read[kind, default: 0] > 0, "no recorded \(kind) was decoded: \(read)")
        }
    }

    @Test(.enabled(if: directory != nil)) func builtInListItemsTakeTheirKindFromTheList() throws {
        let lists = try Self.recordedBodies().filter { $0.body["kind"] == "LeaseList" || $0.body["kind"] == "EventList" }
        #expect(!lists.isEmpty)
        for (place, body, _) in lists where !(body["items"]?.array ?? []).isEmpty {
            let items = try JSON.decodeList(body.serialized()).items
            let kind = String(body["kind"]!.string!.dropLast(4))
            #expect(items.allSatisfy { $0["kind"]?.string == kind && $0["apiVersion"] == body["apiVersion"] }, "\(place)")
        }
    }
}
