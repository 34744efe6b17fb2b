/// Agents by how much CPU and memory they have free, in power-of-two steps: for each step, the agents with at
/// least that much free. A request needs at least the largest step not above it, so intersecting with that step's
/// agents drops, 64 at a time, every agent that surely lacks the request; the few left that are within a factor
/// of two below it are checked exactly. Without it, agents with free slots but no CPU or memory left would be
/// looked at one by one in every decision.
struct FreeResourceIndex: Sendable {
    /// One dimension (CPU or memory): steps `2^lowestExponent`, `2^(lowestExponent + 1)`, ...
    private struct Steps: Sendable {
        let lowestExponent: Int
        var agentsWithAtLeast: [AgentBitmap]
        /// By agent slot: how many steps it reaches.
        var stepsReached: [UInt8] = []

        init(lowestExponent: Int, count: Int) {
            self.lowestExponent = lowestExponent
            agentsWithAtLeast = [AgentBitmap](repeating: AgentBitmap(), count: count)
        }

        func stepCount(for amount: Int64) -> Int {
            guard amount >= Int64(1) << lowestExponent else { return 0 }
            let exponent = 63 - amount.leadingZeroBitCount
            return min(exponent - lowestExponent + 1, agentsWithAtLeast.count)
        }

        mutating func update(_ agent: Int32, free: Int64) {
            while stepsReached.count <= Int(agent) { stepsReached.append(0) }
            let before = Int(stepsReached[Int(agent)])
            let after = stepCount(for: free)
            for step in after..<max(before, after) { agentsWithAtLeast[step].remove(agent) }
            for step in before..<max(before, after) { agentsWithAtLeast[step].insert(agent) }
            stepsReached[Int(agent)] = UInt8(after)
        }

        /// The agents that may have `amount` free, or `nil` when every agent may.
        func agentsThatMayHave(_ amount: Int64) -> AgentBitmap? {
            let steps = stepCount(for: amount)
            return steps == 0 ? nil : agentsWithAtLeast[steps - 1]
        }
    }

    // From 64 millicores to 2^17 (131 cores); from 16 MiB to 2^40 bytes (1 TiB).
    private var cpu = Steps(lowestExponent: 6, count: 12)
    private var memory = Steps(lowestExponent: 24, count: 17)

    mutating func update(_ agent: Int32, freeCPUMillicores: Int64, freeMemoryBytes: Int64) {
        cpu.update(agent, free: freeCPUMillicores)
        memory.update(agent, free: freeMemoryBytes)
    }

    mutating func remove(_ agent: Int32) {
        update(agent, freeCPUMillicores: 0, freeMemoryBytes: 0)
    }

    /// Drops the candidates that surely lack the request's CPU or memory. Returns whether any is left.
    func narrow(_ candidates: inout CandidateMask, to request: ResourceAmounts) -> Bool {
        if let agents = cpu.agentsThatMayHave(request.cpuMillicores), !candidates.formIntersection(agents) {
            return false
        }
        if let agents = memory.agentsThatMayHave(request.memoryBytes), !candidates.formIntersection(agents) {
            return false
        }
        return true
    }
}
