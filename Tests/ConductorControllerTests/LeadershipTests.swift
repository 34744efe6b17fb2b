@testable import ConductorController
import ConductorAPI
import ConductorTestSupport
import KubeClient
import Synchronization
import Testing

@Suite struct LeadershipGateTests {
    @Test func subscribersHearTheStateThenEachChangeAndRefusalsAreCounted() async throws {
        let gate = LeadershipGate()
        var changes = gate.changes().makeAsyncIterator()
        #expect(await changes.next() == false)
        #expect(!gate.permitsWrite(by: .agentHealth) && !gate.permitsWrite(by: .agentHealth))
        gate.set(leading: true)
        gate.set(leading: true)  // a repeat is not news
        gate.set(leading: false)
        #expect(await changes.next() == true)
        #expect(await changes.next() == false)
        #expect(gate.refusals(of: .agentHealth) == 2 && gate.refusals(of: .taskLifecycle) == 0)
        gate.set(leading: true)
        #expect(gate.permitsWrite(by: .taskLifecycle) && gate.refusals(of: .taskLifecycle) == 0)
    }

    @Test func gainsAreTheComingsToLeadAfterFollowing() async throws {
        // Each next() returns only once the gate has gone from following to leading.
        let gate = LeadershipGate(leading: true)
        var gains = gate.gains().makeAsyncIterator()
        gate.set(leading: false)
        gate.set(leading: true)
        await gains.next()
        gate.set(leading: false)
        gate.set(leading: true)
        await gains.next()
    }

    @Test func aLeaderElectorOpensTheGateWhileItLeadsAndClosesItWhenItStops() async throws {
        try await withServer { _, client in
            let gate = LeadershipGate()
            let leaders = Mutex<[String]>([])
            let lock = LeaseLock(client: client, namespace: "default", name: Installation.leaderElectionLeaseName, identity: "replica-1")
            let elector = try LeaderElector(config: LeaderElectionConfig(
                lock: lock, callbacks: gate.callbacks(onNewLeader: { leader in leaders.withLock { $0.append(leader) } }),
                clock: ManualClock()))
            let running = Task { try await elector.run() }
            try await waitUntil("the elector leads and the gate is open") { gate.isLeading }
            #expect(leaders.withLock { $0 } == ["replica-1"])
            running.cancel()
            try await running.value
            #expect(!gate.isLeading)
        }
    }
}

/// A replica that does not lead mirrors the cluster but writes nothing; coming to lead, it does what it withheld.
@Suite struct FollowerTests {
    @Test func aFollowerWritesNothingUntilItLeadsThenActsOnWhatItWithheld() async throws {
        let gate = LeadershipGate(leading: false)
        try await AssignmentHarness.run(monitorHealth: true, leadership: gate) { harness in
            // Offers are kept, not scheduled.
            try await harness.createAgent("a", slots: 1)
            let created = try await harness.createTask("t")
            try await waitUntil("the follower keeps the offer") { await harness.loop.parkedOfferCount == 1 }
            #expect(try await harness.tasks.get("t").resourceVersion == created.resourceVersion)

            gate.set(leading: true)
            let running = try await harness.report(try await harness.waitForAssignment("t"), .running)
            #expect(running.status.assignedAgent == "a" && running.status.attempt == 1)
            #expect(await harness.loop.parkedOfferCount == 0)

            // As a follower again: the heartbeat expires, and another replica's monitor marks the agent
            // NotReady; this one writes neither the agent's status nor the task's return to Pending.
            gate.set(leading: false)
            try await harness.renewLease(of: "a")
            harness.clock.advance(by: .seconds(16))
            try await waitUntil("the monitor withholds its verdict") { gate.refusals(of: .agentHealth) >= 1 }
            try await harness.setPhase(.notReady, ofAgent: "a")
            try await waitUntil("the task actor withholds the requeue") { gate.refusals(of: .taskLifecycle) >= 1 }
            let stillRunning = try await harness.tasks.get("t")
            #expect(stillRunning.resourceVersion == running.resourceVersion)
            #expect(try await harness.agents.get("a").status.conditions[.ready] == nil)

            // Leading: the monitor writes its verdict, the task returns to Pending and waits for a Ready agent.
            gate.set(leading: true)
            let lost = try await harness.waitForAgent("a", "HeartbeatExpired") { $0.status.conditions[.ready]?.reason == .heartbeatExpired }
            #expect(lost.status.phase == .notReady)
            let waiting = try await harness.waitForWaiting("t", reason: .noReadyAgent)
            #expect(waiting.status.agentLossRetries == 1 && waiting.status.attempt == 1)
        }
    }
}
