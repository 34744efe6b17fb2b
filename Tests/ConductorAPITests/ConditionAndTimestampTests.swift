import ConductorAPI
import Foundation
import KubeJSON
import Testing

@Suite struct Conditions {
    let first = try! Timestamp(rfc3339: "2030-01-01T00:00:00Z")
    let later = try! Timestamp(rfc3339: "2030-01-01T00:05:00Z")

    @Test func aNewTypeIsAddedWithTheTimeOfTheChange() {
        var conditions: [Condition] = []
        let added = conditions.set(.scheduled, .false, reason: .allAgentsBusy, message: "3 agents busy", now: first)
        #expect(added)
        #expect(conditions.count == 1)
        #expect(conditions[.scheduled]?.lastTransitionTime == first)
        #expect(conditions[.scheduled]?.reason == .allAgentsBusy)
        #expect(!conditions.isTrue(.scheduled))
    }

    @Test func theTransitionTimeChangesOnlyWhenTheStatusDoes() {
        var conditions: [Condition] = []
        conditions.set(.scheduled, .false, reason: .noAgentWithCapability, now: first)
        // Same status, another reason: reason and message change, the transition time stays.
        let reasonChanged = conditions.set(.scheduled, .false, reason: .allAgentsBusy, message: "busy", now: later)
        #expect(reasonChanged)
        #expect(conditions[.scheduled]?.lastTransitionTime == first)
        #expect(conditions[.scheduled]?.reason == .allAgentsBusy)
        #expect(conditions[.scheduled]?.message == "busy")
        // The status changes: so does the time.
        let statusChanged = conditions.set(.scheduled, .true, reason: .assigned, now: later)
        #expect(statusChanged)
        #expect(conditions[.scheduled]?.lastTransitionTime == later)
        #expect(conditions.isTrue(.scheduled))
        #expect(conditions.count == 1, "one condition per type")
    }

    @Test func settingWhatIsAlreadyThereChangesNothing() {
        var conditions: [Condition] = []
        conditions.set(.ready, .true, reason: .heartbeatRenewed, message: "ok", observedGeneration: 3, now: first)
        let before = conditions
        let changed = conditions.set(.ready, .true, reason: .heartbeatRenewed, message: "ok", observedGeneration: 3, now: later)
        #expect(!changed)
        #expect(conditions == before)
    }

    @Test func anExplicitTransitionTimeIsKeptAndOtherTypesAreLeftAlone() {
        var conditions: [Condition] = []
        conditions.set(.running, .true, reason: .started, now: first)
        conditions.set(Condition(type: .complete, status: .true, reason: .succeeded, lastTransitionTime: later), now: first)
        #expect(conditions[.complete]?.lastTransitionTime == later)
        #expect(conditions[.running]?.lastTransitionTime == first)
        let removed = conditions.remove(.running)
        #expect(removed)
        let removedAgain = conditions.remove(.running)
        #expect(!removedAgain)
        #expect(conditions.map(\.type) == [.complete])
    }

    @Test func reasonsAndTypesAreOpenSoAnAgentsOwnDecode() throws {
        let json = #"{"type":"ToolHealthy","status":"Unknown","reason":"UpstreamTimeout"}"#
        let condition = try JSONDecoder().decode(Condition.self, from: Data(json.utf8))
        #expect(condition.type == "ToolHealthy")
        #expect(condition.reason == "UpstreamTimeout")
        #expect(condition.status == .unknown)
        #expect(try JSON.parse(Array(try JSONEncoder().encode(condition))) == (try JSON.parse(json)))
        #expect(Reason.unschedulable.isDisjoint(with: Reason.finalFailures))
        #expect(Reason.unschedulable.contains(.tagsNotMatched))
    }
}

@Suite struct TaskFinality {
    @Test func aTaskIsFinalWhenCompletedOrFailedForAReasonThatIsNotRetried() {
        #expect(TaskStatus(phase: .completed, reason: .succeeded).isFinal)
        #expect(TaskStatus(phase: .failed, reason: .deadlineExceeded).isFinal)
        #expect(TaskStatus(phase: .failed, reason: .retriesExhausted).isFinal)
        // A failed attempt, as the agent reports it, waits for the controller's verdict.
        #expect(!TaskStatus(phase: .failed, reason: .executionFailed).isFinal)
        #expect(!TaskStatus(phase: .failed, reason: "ToolCrashed").isFinal)
        #expect(!TaskStatus(phase: .failed).isFinal)
        #expect(!TaskStatus(phase: .running).isFinal)
        #expect(!TaskStatus().isFinal)
        #expect(TaskPhase.allCases.filter(\.holdsAgent) == [.assigned, .running])
    }
}

@Suite struct Timestamps {
    @Test(arguments: [
        ("2030-06-10T12:00:00Z", Int64(1_907_323_200), Int32(0), "2030-06-10T12:00:00Z"),
        ("2030-06-10T14:00:00+02:00", 1_907_323_200, 0, "2030-06-10T12:00:00Z"),
        ("2030-06-10T11:30:00-00:30", 1_907_323_200, 0, "2030-06-10T12:00:00Z"),
        ("2030-06-10t12:00:00z", 1_907_323_200, 0, "2030-06-10T12:00:00Z"),
        ("2030-06-10T12:00:00.5Z", 1_907_323_200, 500_000_000, "2030-06-10T12:00:00.5Z"),
        ("2030-06-10T12:00:00.123456789Z", 1_907_323_200, 123_456_789, "2030-06-10T12:00:00.123456789Z"),
        ("2030-06-10T12:00:00.1234567891Z", 1_907_323_200, 123_456_789, "2030-06-10T12:00:00.123456789Z"),
        ("1970-01-01T00:00:00Z", 0, 0, "1970-01-01T00:00:00Z"),
        ("1969-12-31T23:59:59.25Z", -1, 250_000_000, "1969-12-31T23:59:59.25Z"),
        ("2024-02-29T00:00:00Z", 1_709_164_800, 0, "2024-02-29T00:00:00Z"),
    ])
    func readsRFC3339AndWritesUTC(text: String, seconds: Int64, nanoseconds: Int32, written: String) throws {
        let timestamp = try Timestamp(rfc3339: text)
        #expect(timestamp.secondsSinceEpoch == seconds)
        #expect(timestamp.nanoseconds == nanoseconds)
        #expect(timestamp.rfc3339 == written)
    }

    @Test(arguments: [
        "", "2030-06-10", "2030-06-10T12:00:00", "2030-06-10 12:00Z", "2030-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2030-06-10T24:00:00Z", "2030-06-10T12:00:00.Z", "2030-06-10T12:00:00+2:00", "2030-06-10T12:00:00Z trailing", "tomorrow",
    ])
    func refusesWhatIsNotRFC3339WithTheText(text: String) {
        do {
            _ = try Timestamp(rfc3339: text)
            Issue.record("\"\(text)\" was accepted")
        } catch {
            #expect(error.text == text)
            #expect(error.description.contains("RFC 3339"))
        }
    }

    @Test func convertsToAndFromDateAndDuration() throws {
        let date = Date(timeIntervalSince1970: 1_907_323_200.25)
        #expect(Timestamp(date) == Timestamp(secondsSinceEpoch: 1_907_323_200, nanoseconds: 250_000_000))
        #expect(Timestamp(date).date == date)
        #expect(Timestamp.now(date).nanoseconds == 0, "now() keeps whole seconds, as metav1.Time")
        let start = try Timestamp(rfc3339: "2030-06-10T12:00:00.75Z")
        #expect(start.adding(.milliseconds(500)).rfc3339 == "2030-06-10T12:00:01.25Z")
        #expect(start.adding(.seconds(-1)).rfc3339 == "2030-06-10T11:59:59.75Z")
        #expect(start.duration(to: start.adding(.seconds(90))) == .seconds(90))
        #expect(start < start.adding(.nanoseconds(1)))
        #expect(Timestamp(secondsSinceEpoch: 10, nanoseconds: -1) == Timestamp(secondsSinceEpoch: 9, nanoseconds: 999_999_999))
    }
}

@Suite struct SizeLimits {
    @Test func aPayloadOrResultOverTheLimitIsRefusedWithItsSize() throws {
        let atLimit: JSON = ["data": .string(String(repeating: "x", count: Limits.maximumPayloadBytes - 11))]
        #expect(atLimit.serialized().count == Limits.maximumPayloadBytes)
        try Limits.checkPayload(atLimit)
        let over: JSON = ["data": .string(String(repeating: "x", count: Limits.maximumPayloadBytes))]
        #expect(throws: SizeLimitError(field: "spec.payload", size: Limits.maximumPayloadBytes + 11, limit: 262_144)) {
            try Limits.checkPayload(over)
        }
        do {
            try Limits.checkResult(over)
            Issue.record("the result was accepted")
        } catch {
            #expect(error.field == "status.result")
            #expect(error.description.contains("256 KiB"))
        }
    }
}
