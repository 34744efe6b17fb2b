/// One version of a task, held by reference. A `TaskResource` is a value of some 700 bytes, and every async frame
/// that keeps one across a suspension (a result slot, an enum payload, an optional) holds a copy of it: a call
/// parked until its task ends passes this 8-byte reference through its frames instead, for as long as it waits.
public final class TaskSnapshot: Sendable {
    public let task: TaskResource

    public init(_ task: TaskResource) {
        self.task = task
    }
}
