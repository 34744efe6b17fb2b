import KubeJSON

/// The run cut into slices of creation time, each with its create → assigned latency: whether a p99 comes from
/// a whole run that is slow or from a few slices where something stalled (and when, to set beside the servers'
/// logs). A slice also counts the tasks created in it, so a harness that fell behind its own schedule shows too.
struct DispatchTimeline {
    struct Slice {
        /// From the first create to the start of this slice.
        let start: Duration
        let created: Int
        /// Sorted create → assigned of this slice's tasks that were seen assigned.
        let assigned: [Duration]
    }

    let width: Duration
    let slices: [Slice]

    /// `tasks`: each task's creation, as an offset from the first create, and its create → assigned if seen.
    init(width: Duration, tasks: [(created: Duration, assigned: Duration?)]) {
        self.width = width
        guard let last = tasks.map(\.created).max() else {
            slices = []
            return
        }
        let count = Int(last / width) + 1
        var created = [Int](repeating: 0, count: count)
        var assigned = [[Duration]](repeating: [], count: count)
        for task in tasks {
            let index = Int(task.created / width)
            created[index] += 1
            if let latency = task.assigned { assigned[index].append(latency) }
        }
        slices = (0..<count).map { Slice(start: width * $0, created: created[$0], assigned: assigned[$0].sorted()) }
    }

    var text: String {
        var lines = [String(format: "  timeline (slices of %.0f ms by creation time; create → assigned)", width.milliseconds)]
        for slice in slices {
            lines.append(String(format: "    %7.2f s  created %4d   p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms",
                                slice.start.seconds, slice.created, nearestRank(slice.assigned, 50).milliseconds,
                                nearestRank(slice.assigned, 99).milliseconds, (slice.assigned.last ?? .zero).milliseconds))
        }
        return lines.joined(separator: "\n")
    }

    var json: JSON {
        .array(slices.map { slice in
            [
                "startSeconds": .double(slice.start.seconds), "created": .int(Int64(slice.created)),
                "assignedP50Milliseconds": .double(nearestRank(slice.assigned, 50).milliseconds),
                "assignedP99Milliseconds": .double(nearestRank(slice.assigned, 99).milliseconds),
                "assignedMaxMilliseconds": .double((slice.assigned.last ?? .zero).milliseconds),
            ]
        })
    }
}
