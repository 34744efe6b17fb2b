import ConductorAgent
import ConductorAPI
import ConductorTestSupport
import KubeClient
import Synchronization
import Testing

/// Two leader-elected `conductor run` replicas; the leader is killed (-9) in the middle of 1,000 tasks.
@Suite(.serialized) struct FailoverTests {
    /// Short leases so that the takeover is quick: the follower may take over 2 s after the last renewal it saw.
    static let election = ["--leader-election-lease-duration", "2", "--leader-election-renew-deadline", "1.5",
                           "--leader-election-retry-period", "0.4"]

    @Test func whenTheLeaderDiesTheOtherTakesOverAndEveryTaskCompletesOnceWithOneAttempt() async throws {
        try await ControlPlane.run(replicas: 2, controllerArguments: ControlPlane.quickRetries + Self.election) { plane in
            let leader = try await plane.waitForLeader()
            let follower = plane.controllers.first { $0.identity != leader.identity }!
            #expect(try await follower.metric("conductor_leader") == 0)

            // Each run as the agents' handlers saw it: the agents' own account of what they ran.
            let runs = RunTally()
            // Leases long enough that no agent is presumed lost while this machine is busy with 1,000 tasks: an
            // agent lost would rightly have its tasks reassigned, which is not what this test is about.
            for index in 1...4 {
                try await plane.startAgent("fleet-\(index)", slots: 50, leaseSeconds: 10) { task in
                    runs.record(task.key)
                    return try await SimulatedWork.echo(task)
                }
            }

            let total = 1000
            let creating = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<total {
                        if index >= 32 { try await group.next() }
                        group.addTask { try await plane.createTask(String(format: "bulk-%04d", index)) }
                    }
                    try await group.waitForAll()
                }
            }
            try await waitUntil("a third of the tasks are completed", timeout: .seconds(60)) {
                try await plane.completedCount() >= total / 3
            }
            await leader.kill()
            let newLeader = try await plane.waitForLeader(other: leader.identity)
            #expect(newLeader.identity == follower.identity)
            try await creating.value
            try await waitUntil("every task is completed", timeout: .seconds(120)) {
                try await plane.completedCount() == total
            }

            // Assigned once each: the attempt is raised at each assignment.
            let finished = try await plane.tasks.listAll().items
            #expect(finished.count == total)
            let reassigned = finished.filter { $0.status.attempt != 1 }.map(\.name)
            #expect(reassigned.isEmpty, "tasks assigned more than once: \(reassigned.prefix(10))")
            // And run once each, by the agents' own account.
            let counts = runs.counts
            #expect(counts.count == total && counts.values.allSatisfy { $0 == 1 })
            #expect(try await newLeader.metric("conductor_leader") == 1)
            #expect(try await newLeader.metric("conductor_agent_loss_requeues_total") == nil)

            // A graceful stop gives the Lease up.
            #expect(await newLeader.terminate() == 0)
            try await waitUntil("the Lease is released") {
                try await plane.leaseHolder() == nil
            }
        }
    }
}

/// How many times the agents' handlers ran each task.
private final class RunTally: Sendable {
    private let runs = Mutex<[String: Int]>([:])

    func record(_ task: String) {
        runs.withLock { $0[task, default: 0] += 1 }
    }

    var counts: [String: Int] { runs.withLock { $0 } }
}

extension ControlPlane {
    /// The replica the leader-election Lease names, once one holds it and says it leads.
    func waitForLeader(other than: String? = nil) async throws -> ControllerProcess {
        var found: ControllerProcess?
        try await waitUntil("a replica leads", timeout: .seconds(30)) {
            guard let holder = try await leaseHolder(), holder != than,
                  let replica = controllers.first(where: { $0.identity == holder }), replica.isRunning,
                  try await replica.metric("conductor_leader") == 1
            else { return false }
            found = replica
            return true
        }
        return found!
    }

    func leaseHolder() async throws -> String? {
        let lease = try await client.resource(Lease.self, namespace: Installation.systemNamespace).get(Installation.leaderElectionLeaseName)
        guard let holder = lease.spec?.holderIdentity, !holder.isEmpty else { return nil }
        return holder
    }

    func completedCount() async throws -> Int {
        try await tasks.listAll(ListOptions(fieldSelector: Selectors.tasks(in: .completed))).items.count
    }
}
