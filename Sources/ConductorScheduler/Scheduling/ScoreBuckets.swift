/// A decision's candidates grouped by an upper bound of their score (their load level, raised when they carry a
/// preferred tag), so that scoring can take the most promising group first and stop at the first group that
/// cannot beat the best agent found. Within a group, agents keep the order they were collected in.
///
/// It owns plain allocated buffers (hence non-copyable, freed in `deinit`): it is filled once per decision with
/// every candidate that passed the filters, the scheduler's innermost loop, which must not pay for array
/// uniqueness and bounds checks.
struct ScoreBuckets: ~Copyable {
    private let agents: UnsafeMutableBufferPointer<Int32>
    private let buckets: UnsafeMutableBufferPointer<UInt32>
    /// Counts per bucket (shifted by one) while filling; then where each bucket starts in `sorted`.
    private let starts: UnsafeMutableBufferPointer<Int>
    private let sorted: UnsafeMutableBufferPointer<Int32>
    private var collected = 0

    /// Room for `capacity` agents in buckets below `bucketCount`.
    init(bucketCount: Int, capacity: Int) {
        agents = .allocate(capacity: capacity)
        buckets = .allocate(capacity: capacity)
        sorted = .allocate(capacity: capacity)
        starts = .allocate(capacity: bucketCount + 1)
        starts.initialize(repeating: 0)
    }

    deinit {
        agents.deallocate()
        buckets.deallocate()
        sorted.deallocate()
        starts.deallocate()
    }

    var isFull: Bool { collected == agents.count }

    /// Adds an agent. Returns whether there is room for another.
    @inline(__always)
    mutating func append(_ agent: Int32, bucket: Int) -> Bool {
        agents.initializeElement(at: collected, to: agent)
        buckets.initializeElement(at: collected, to: UInt32(truncatingIfNeeded: bucket))
        starts[bucket &+ 1] &+= 1
        collected &+= 1
        return collected < agents.count
    }

    /// Calls `body` with each bucket's agents, highest bucket first, until it returns `false`.
    mutating func forEachBucketDescending(_ body: (_ bucket: Int, _ agents: UnsafeBufferPointer<Int32>) -> Bool) {
        let bucketCount = starts.count - 1
        for bucket in 0..<bucketCount { starts[bucket + 1] &+= starts[bucket] }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: starts.count) { next in
            _ = next.initialize(fromContentsOf: starts)
            for index in 0..<collected {
                let bucket = Int(buckets[index])
                sorted.initializeElement(at: next[bucket], to: agents[index])
                next[bucket] &+= 1
            }
        }
        for bucket in stride(from: bucketCount - 1, through: 0, by: -1) where starts[bucket] < starts[bucket + 1] {
            let group = UnsafeBufferPointer(rebasing: sorted[starts[bucket]..<starts[bucket + 1]])
            if !body(bucket, group) { return }
        }
    }
}
