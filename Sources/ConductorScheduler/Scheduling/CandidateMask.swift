/// The agents still in the running for one decision. It starts as the agents of the rarest required capability
/// and each filter that can be answered per agent set (other capabilities, readiness, required tags, a free
/// slot) narrows it by intersecting a whole bitmap, 64 agents per instruction, before any agent is looked at one
/// by one.
struct CandidateMask {
    private var words: [UInt64]

    init(_ agents: AgentBitmap, wordCount: Int) {
        words = [UInt64](repeating: 0, count: wordCount)
        let copied = min(wordCount, agents.words.count)
        words.withUnsafeMutableBufferPointer { mask in
            agents.words.withUnsafeBufferPointer { source in
                for word in 0..<copied { mask[word] = source[word] }
            }
        }
    }

    /// How many candidates there are.
    var count: Int {
        words.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// Keeps only the agents also in `agents`. Returns whether any is left.
    @discardableResult
    mutating func formIntersection(_ agents: AgentBitmap) -> Bool {
        var remaining: UInt64 = 0
        words.withUnsafeMutableBufferPointer { mask in
            agents.words.withUnsafeBufferPointer { other in
                let shared = min(mask.count, other.count)
                for word in 0..<shared {
                    mask[word] &= other[word]
                    remaining |= mask[word]
                }
                for word in shared..<mask.count { mask[word] = 0 }
            }
        }
        return remaining != 0
    }

    @inline(__always)
    func contains(_ agent: Int32) -> Bool {
        words[Int(agent &>> 6)] & (1 &<< UInt64(agent & 63)) != 0
    }

    /// Splits off the candidates that are in at least one of `sets`, and returns them.
    mutating func removeAll(inAnyOf sets: [AgentBitmap]) -> CandidateMask {
        var taken = self
        for word in words.indices {
            var union: UInt64 = 0
            for set in sets where word < set.words.count { union |= set.words[word] }
            taken.words[word] = words[word] & union
            words[word] &= ~union
        }
        return taken
    }

    /// Calls `body` for each candidate in slot order, starting at slot `start` (modulo the mask's width) and
    /// wrapping around, until it returns `false`. The rotating start is what makes equal agents take turns.
    @inline(__always)
    func forEach(startingAt start: Int, _ body: (Int32) -> Bool) {
        guard !words.isEmpty else { return }
        words.withUnsafeBufferPointer { mask in
            let first = start % (mask.count * 64)
            let firstWord = first >> 6
            let highPart = ~UInt64(0) << UInt64(first & 63)
            @inline(__always)
            func visit(_ word: Int, keeping kept: UInt64) -> Bool {
                var bits = mask[word] & kept
                while bits != 0 {
                    if !body(Int32(word &* 64 &+ bits.trailingZeroBitCount)) { return false }
                    bits &= bits &- 1
                }
                return true
            }
            // The start word's upper bits, the words after it, the words before it, the start word's lower bits.
            guard visit(firstWord, keeping: highPart) else { return }
            for word in (firstWord + 1)..<mask.count where !visit(word, keeping: ~0) { return }
            for word in 0..<firstWord where !visit(word, keeping: ~0) { return }
            _ = visit(firstWord, keeping: ~highPart)
        }
    }
}
