@testable import ConductorController
import ConductorAPI
import ConductorTestSupport
import KubeClient
import Testing

/// The health monitor's verdicts, pure.
@Suite struct HeartbeatJudgementTests {
    private let renewed = Timestamp(secondsSinceEpoch: 1_800_000_000)

    private func heartbeat(durationSeconds: Int = 15) -> Heartbeat {
        Heartbeat(lease: "ns/a", renewTime: renewed, expiresAt: renewed.adding(.seconds(durationSeconds)))
    }

    private func agent(_ phase: AgentPhase?, readyReason: Reason? = nil) -> Agent {
        var agent = Agent(metadata: ObjectMeta(name: "a", namespace: "ns"), status: AgentStatus(phase: phase))
        if let readyReason {
            agent.status.conditions.set(.ready, phase == .ready ? .true : .false, reason: readyReason, now: renewed)
        }
        return agent
    }

    @Test func aLeaseIsReadWithItsDurationOrTheDefault() throws {
        let lease = Lease(metadata: ObjectMeta(name: "a", namespace: "ns", labels: [Labels.agent: "agent-a"]),
                          spec: Lease.Spec(leaseDurationSeconds: 40, renewTime: "2027-01-15T08:00:00.250000Z"))
        let read = try #require(Heartbeat(lease))
        #expect(read.renewTime == Timestamp(secondsSinceEpoch: 1_800_000_000, nanoseconds: 250_000_000))
        #expect(read.expiresAt == read.renewTime.adding(.seconds(40)))
        #expect(Heartbeat.agentName(of: lease) == "agent-a")
        var noDuration = lease
        noDuration.spec?.leaseDurationSeconds = nil
        #expect(Heartbeat(noDuration)?.expiresAt == read.renewTime.adding(.seconds(HeartbeatLease.defaultDurationSeconds)))
        var neverRenewed = lease
        neverRenewed.spec?.renewTime = nil
        #expect(Heartbeat(neverRenewed) == nil)
    }

    @Test func expiryIsStrictlyAfterRenewTimePlusDuration() {
        let beat = heartbeat()
        #expect(!beat.isExpired(at: renewed.adding(.seconds(15))))
        #expect(beat.isExpired(at: renewed.adding(.seconds(15) + .nanoseconds(1))))
    }

    @Test func anExpiredHeartbeatMakesTheAgentNotReadyOnce() throws {
        let late = renewed.adding(.seconds(16))
        let status = try #require(HeartbeatJudgement.status(of: agent(.ready), heartbeat: heartbeat(), now: late))
        #expect(status.phase == .notReady && status.lastHeartbeat == renewed)
        let ready = try #require(status.conditions[.ready])
        #expect(ready.status == .false && ready.reason == .heartbeatExpired && ready.lastTransitionTime == late)
        var marked = agent(.ready)
        marked.status = status
        #expect(HeartbeatJudgement.status(of: marked, heartbeat: heartbeat(), now: late.adding(.seconds(30))) == nil)
    }

    @Test func aRenewedHeartbeatBringsBackOnlyWhatExpiryTookOrAFirstHeartbeat() throws {
        let soon = renewed.adding(.seconds(1))
        let recovered = try #require(HeartbeatJudgement.status(of: agent(.notReady, readyReason: .heartbeatExpired),
                                                               heartbeat: heartbeat(), now: soon))
        #expect(recovered.phase == .ready && recovered.conditions[.ready]?.reason == .heartbeatRenewed)
        #expect(HeartbeatJudgement.status(of: agent(nil), heartbeat: heartbeat(), now: soon)?.phase == .ready)
        #expect(HeartbeatJudgement.status(of: agent(.unknown), heartbeat: heartbeat(), now: soon)?.phase == .ready)
        // Already Ready, or NotReady by its own account: nothing to write.
        #expect(HeartbeatJudgement.status(of: agent(.ready), heartbeat: heartbeat(), now: soon) == nil)
        #expect(HeartbeatJudgement.status(of: agent(.notReady, readyReason: "Overloaded"), heartbeat: heartbeat(), now: soon) == nil)
        // No heartbeat yet: not judged.
        #expect(HeartbeatJudgement.status(of: agent(.ready), heartbeat: nil, now: soon.adding(.seconds(3600))) == nil)
    }
}

/// The health monitor with the whole controller on a real local API server, time on a `ManualClock`.
@Suite struct HealthMonitorTests {
    @Test func aTaskOfAnAgentThatStopsRenewingIsReassignedAndTheLostAgentsLateWriteIsFenced() async throws {
        try await AssignmentHarness.run(monitorHealth: true) { harness in
            try await harness.createAgent("lost", slots: 1)
            try await harness.renewLease(of: "lost")
            try await harness.createTask("work")
            let assigned = try await harness.waitForAssignment("work")
            #expect(assigned.status.assignedAgent == "lost" && assigned.status.attempt == 1)
            let running = try await harness.report(assigned, .running)

            try await harness.createAgent("survivor", slots: 1)
            try await harness.renewLease(of: "survivor")
            harness.clock.advance(by: .seconds(10))
            try await harness.renewLease(of: "survivor")
            // "lost" last renewed 16 s ago with a 15 s Lease; "survivor" 6 s ago.
            harness.clock.advance(by: .seconds(6))

            let lost = try await harness.waitForAgent("lost", "NotReady") { $0.status.phase == .notReady }
            #expect(lost.status.conditions[.ready]?.status == .false && lost.status.conditions[.ready]?.reason == .heartbeatExpired)
            let reassigned = try await harness.waitForTask("work", "reassigned to survivor") {
                $0.status.phase == .assigned && $0.status.assignedAgent == "survivor"
            }
            #expect(reassigned.status.attempt == 2 && reassigned.status.agentLossRetries == 1)
            #expect(try await harness.agents.get("survivor").status.phase == .ready)

            // The lost agent comes back and reports its attempt finished: refused, whatever version it read.
            var late = running.status
            late.phase = .completed
            late.result = ["stale": true]
            let fenced = try await harness.writer.write(late, over: try await harness.tasks.get("work"), holding: 1)
            guard case .fenced(held: 1, current: 2) = fenced else { throw TestFailure("expected fenced, got \(fenced)") }
            guard case .conflict = try await harness.writer.write(late, over: running, holding: 1) else {
                throw TestFailure("a write over the stale read went through")
            }
            let stored = try await harness.tasks.get("work")
            #expect(stored.status.phase == .assigned && stored.status.assignedAgent == "survivor" && stored.status.attempt == 2)
            #expect(stored.status.result == nil)

            // Renewing again makes it Ready; written once per change of state.
            try await harness.renewLease(of: "lost")
            let back = try await harness.waitForAgent("lost", "Ready again") { $0.status.phase == .ready }
            #expect(back.status.conditions[.ready]?.status == .true && back.status.conditions[.ready]?.reason == .heartbeatRenewed)
            // The monitor counts a write once its answer is back, a moment after the server shows it.
            try await waitUntil("the monitor counted its writes") { (harness.monitor?.statusWrites ?? 0) >= 2 }
            #expect(harness.monitor?.statusWrites == 2)
        }
    }
}
