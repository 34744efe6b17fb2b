import Synchronization
import Testing

@testable import ConductorMCP

/// Requests beyond the limit wait their turn in the order they came, each slot counts once however many of its
/// ends give it back, and the counts fall back to zero once every request has left.
struct RequestAdmissionTests {
    /// The admitted requests' slots, in the order they were started.
    private final class Started: Sendable {
        let slots = Mutex<[(Int, RequestAdmission.Slot)]>([])

        var order: [Int] { slots.withLock { $0.map(\.0) } }

        func admit(_ number: Int, to admission: RequestAdmission) {
            admission.admit { slot in self.slots.withLock { $0.append((number, slot)) } }
        }

        func giveBack(_ number: Int) {
            slots.withLock { $0.first { $0.0 == number } }!.1.giveBack()
        }
    }

    private final class Finished: Sendable {
        let count = Atomic(0)
    }

    @Test func requestsBeyondTheLimitStartInTheOrderTheyCameAsSlotsAreGivenBack() {
        let admission = RequestAdmission(limit: 2)
        let started = Started()
        for number in 1...5 { started.admit(number, to: admission) }
        #expect(started.order == [1, 2])
        #expect(admission.counts == (2, 3))

        started.giveBack(2)
        #expect(started.order == [1, 2, 3])
        started.giveBack(1)
        #expect(started.order == [1, 2, 3, 4])
        #expect(admission.counts == (2, 1))

        for number in [3, 4, 5] { started.giveBack(number) }
        #expect(started.order == [1, 2, 3, 4, 5])
        #expect(admission.counts == (0, 0))

        // With room again, a request starts at once.
        started.admit(6, to: admission)
        #expect(started.order.last == 6)
        #expect(admission.counts == (1, 0))
    }

    /// A request's answer and its stream's first write may both give its slot back: the second does nothing, so
    /// the limit is never exceeded by a slot counted free twice.
    @Test func aSlotGivenBackTwiceFreesOnePlace() {
        let admission = RequestAdmission(limit: 1)
        let started = Started()
        for number in 1...3 { started.admit(number, to: admission) }
        started.giveBack(1)
        started.giveBack(1)
        #expect(started.order == [1, 2])
        #expect(admission.counts == (1, 1))
    }

    @Test func slotsGivenBackFromManyThreadsLeaveNothingInProgress() async {
        let admission = RequestAdmission(limit: 8)
        let finished = Finished()
        await withDiscardingTaskGroup { group in
            for _ in 0..<2_000 {
                group.addTask {
                    admission.admit { slot in
                        Task {
                            finished.count.add(1, ordering: .relaxed)
                            slot.giveBack()
                        }
                    }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while admission.counts != (0, 0) || finished.count.load(ordering: .relaxed) < 2_000, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        #expect(finished.count.load(ordering: .relaxed) == 2_000)
        #expect(admission.counts == (0, 0))
    }
}
