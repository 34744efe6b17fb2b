import Foundation
import KubeJSON
import Testing
@testable import LocalAPIServer

@Suite struct ObjectStoreRecovery {
    func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "store-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func put(_ store: ObjectStore, _ name: String, _ value: Int64) throws {
        _ = try store.mutate("g/things", namespace: "ns", name: name) { _ throws(APIError) -> Mutation in
            .put(["metadata": ["name": .string(name)], "value": .int(value)])
        }
    }

    @Test func reopeningRestoresObjectsRevisionsAndHistory() async throws {
        let directory = temporaryDirectory()
        do {
            let store = try ObjectStore(directory: directory)
            try put(store, "a", 1)
            try put(store, "b", 2)
            try put(store, "a", 3)
            _ = try store.mutate("g/things", namespace: "ns", name: "b") { _ throws(APIError) -> Mutation in .delete }
            #expect(store.currentRevision == 4)
        }
        let reopened = try ObjectStore(directory: directory)
        #expect(reopened.currentRevision == 4)
        #expect(reopened.get("g/things", namespace: "ns", name: "a")?.object["value"] == 3)
        #expect(reopened.get("g/things", namespace: "ns", name: "a")?.revision == 3)
        #expect(reopened.get("g/things", namespace: "ns", name: "b") == nil)
        // The changes after revision 1 are still there to watch from.
        let subscription = try reopened.watch("g/things", namespace: nil, from: .after(1))
        var kinds: [String] = []
        for await signal in subscription.signals {
            if case .change(let event) = signal { kinds.append("\(event.kind.rawValue) \(event.name) \(event.revision)") }
            if kinds.count == 3 { break }
        }
        #expect(kinds == ["ADDED b 2", "MODIFIED a 3", "DELETED b 4"])
    }

    @Test func aTornLastLineIsDroppedAndLaterWritesFollowWholeLines() throws {
        let directory = temporaryDirectory()
        do {
            let store = try ObjectStore(directory: directory)
            try put(store, "a", 1)
        }
        let log = directory + "/store.log"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"rev":2,"op":"put","r":"g/thi"#.utf8))
        try handle.close()
        do {
            let store = try ObjectStore(directory: directory)
            #expect(store.currentRevision == 1)
            try put(store, "b", 2)
        }
        let reopened = try ObjectStore(directory: directory)
        #expect(reopened.currentRevision == 2)
        #expect(reopened.get("g/things", namespace: "ns", name: "b")?.object["value"] == 2)
    }

    @Test func watchingFromBeforeTheKeptHistoryExpires() throws {
        let store = try ObjectStore(directory: temporaryDirectory(), historyLimit: 2)
        for value in 1...5 { try put(store, "a", Int64(value)) }
        do {
            _ = try store.watch("g/things", namespace: nil, from: .after(1))
            Issue.record("watch from revision 1 should have expired")
        } catch {
            #expect(error.code == 410)
            #expect(error.message == "too old resource version: 1 (3)")
        }
        #expect((try? store.watch("g/things", namespace: nil, from: .after(3))) != nil)
    }

    @Test func aRefusedMutationChangesNothing() throws {
        let store = try ObjectStore(directory: temporaryDirectory())
        try put(store, "a", 1)
        #expect(throws: APIError.self) {
            _ = try store.mutate("g/things", namespace: "ns", name: "a") { _ throws(APIError) -> Mutation in
                throw APIError.badRequest("no")
            }
        }
        #expect(store.currentRevision == 1)
    }

    @Test func theHistoryIsBoundedByBytesAsWellAsByCountAndAfterARestart() throws {
        let directory = temporaryDirectory()
        // Each change of "a" is one log line of the same length: measure it, then keep room for three.
        let measured = temporaryDirectory()
        try put(try ObjectStore(directory: measured), "a", 1)
        let line = try #require(try FileManager.default.attributesOfItem(atPath: measured + "/store.log")[.size] as? Int)
        do {
            let store = try ObjectStore(directory: directory, historyByteLimit: 3 * line)
            for value in 1...9 { try put(store, "a", Int64(value)) }
            #expect(throws: APIError.self) { _ = try store.watch("g/things", namespace: nil, from: .after(5)) }
            #expect((try? store.watch("g/things", namespace: nil, from: .after(6))) != nil)
        }
        // Recovery applies the same bound to the history it rebuilds from the log.
        let reopened = try ObjectStore(directory: directory, historyByteLimit: 3 * line)
        #expect(throws: APIError.self) { _ = try reopened.watch("g/things", namespace: nil, from: .after(5)) }
        #expect((try? reopened.watch("g/things", namespace: nil, from: .after(6))) != nil)
    }

    @Test func compactionWritesItsSnapshotWhileChangesGoOnAndKeepsThem() throws {
        let directory = temporaryDirectory()
        do {
            let store = try ObjectStore(directory: directory)
            for value in 1...5 { try put(store, "a", Int64(value)) }
            try put(store, "b", 1)
            let compaction = try #require(store.beginCompaction())
            #expect(compaction.revision == 6)
            #expect(store.beginCompaction() == nil, "one compaction at a time")
            // Changes while the snapshot is written (here: before it is) land in the log it replaces...
            try put(store, "c", 1)
            _ = try store.mutate("g/things", namespace: "ns", name: "b") { _ throws(APIError) -> Mutation in .delete }
            store.compact(compaction)
            // ...and changes after it in the new log.
            try put(store, "a", 6)
            #expect(store.currentRevision == 9)
            #expect(store.beginCompaction() != nil, "the next compaction may begin")
        }
        let log = try String(contentsOfFile: directory + "/store.log", encoding: .utf8)
        let lines = log.split(separator: "\n")
        #expect(lines.first == #"{"compacted":6}"#)
        // The snapshot's two objects, then the three changes made during and after it.
        #expect(lines.count == 1 + 2 + 3)
        #expect(!FileManager.default.fileExists(atPath: directory + "/store.log.snapshot"))

        let reopened = try ObjectStore(directory: directory)
        #expect(reopened.currentRevision == 9)
        #expect(reopened.get("g/things", namespace: "ns", name: "a")?.object["value"] == 6)
        #expect(reopened.get("g/things", namespace: "ns", name: "b") == nil)
        #expect(reopened.get("g/things", namespace: "ns", name: "c")?.revision == 7)
        // What came after the snapshot is history to watch from; what came before it is gone.
        #expect((try? reopened.watch("g/things", namespace: nil, from: .after(6))) != nil)
        #expect(throws: APIError.self) { _ = try reopened.watch("g/things", namespace: nil, from: .after(5)) }
    }
}

