/// CPU, memory and GPU, as an agent's capacity or as a task's request. The controller converts Kubernetes
/// quantities into these units.
///
/// A GPU is a whole device: an agent with `gpu` true can hold one GPU task at a time, as Kubernetes treats an
/// extended resource such as `nvidia.com/gpu: 1` (never shared, never overcommitted).
public struct ResourceAmounts: Hashable, Sendable {
    public var cpuMillicores: Int64
    public var memoryBytes: Int64
    public var gpu: Bool

    public init(cpuMillicores: Int64 = 0, memoryBytes: Int64 = 0, gpu: Bool = false) {
        self.cpuMillicores = cpuMillicores
        self.memoryBytes = memoryBytes
        self.gpu = gpu
    }

    /// A request for nothing: fits any agent that has a free slot.
    public static let none = ResourceAmounts()

    /// The capacity to give an agent that declares no CPU or memory: CPU and memory then never limit it.
    public static let unlimited = ResourceAmounts(cpuMillicores: .max, memoryBytes: .max, gpu: false)
}
