/// A point in time as the scheduler sees it: milliseconds since the Unix epoch. The scheduler never reads a
/// clock; callers pass the current instant in, so tests decide what time it is.
public struct SchedulingInstant: Hashable, Comparable, Sendable {
    public let millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func seconds(_ seconds: Int64) -> SchedulingInstant {
        SchedulingInstant(millisecondsSinceEpoch: seconds * 1000)
    }

    public static func < (lhs: SchedulingInstant, rhs: SchedulingInstant) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// Milliseconds from `earlier` to this instant; negative when `earlier` is in fact later.
    func milliseconds(since earlier: SchedulingInstant) -> Int64 {
        millisecondsSinceEpoch - earlier.millisecondsSinceEpoch
    }
}
