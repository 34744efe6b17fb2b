/// A task's requirements with its names turned into symbols, made once per decision (and per re-offer check)
/// so that filtering a candidate compares integers only.
struct TaskNeeds: Sendable {
    /// The required capability with the fewest agents: its agents are the only candidates. `nil` when the task
    /// requires no capability.
    var rarestCapability: Int32?
    var otherCapabilities: [Int32] = []
    /// A required capability that no agent has ever declared: nothing can take the task.
    var hasUnknownCapability = false
    var requiredTags: [Int32] = []
    /// A required tag that no agent has ever carried: no agent passes the tag filter.
    var hasUnknownRequiredTag = false
    var preferredTags: [Int32] = []
    var avoidedTags: [Int32] = []
    var resources: ResourceAmounts

    init(
        _ task: TaskRequest, capabilityNames: SymbolTable, tagNames: SymbolTable, capabilityIndex: AgentSetIndex
    ) {
        resources = task.resources
        var capabilities: [Int32] = []
        for name in task.requiredCapabilities {
            if let symbol = capabilityNames.symbol(for: name) {
                capabilities.append(symbol)
            } else {
                hasUnknownCapability = true
            }
        }
        // Ties go to the smaller symbol, so that the candidate list does not depend on the set's hash order.
        let rarest = capabilities.indices.min { lhs, rhs in
            (capabilityIndex.memberCount(of: capabilities[lhs]), capabilities[lhs])
                < (capabilityIndex.memberCount(of: capabilities[rhs]), capabilities[rhs])
        }
        if let rarest {
            rarestCapability = capabilities.remove(at: rarest)
        }
        otherCapabilities = capabilities
        for name in task.requiredTags {
            if let symbol = tagNames.symbol(for: name) {
                requiredTags.append(symbol)
            } else {
                hasUnknownRequiredTag = true
            }
        }
        preferredTags = task.preferredTags.compactMap { tagNames.symbol(for: $0) }
        avoidedTags = task.avoidedTags.compactMap { tagNames.symbol(for: $0) }
    }
}

/// How far an agent got through the filters, in the order they run. The furthest stage among the candidates
/// names the reason a task is unschedulable.
enum FilterStage: Int, Comparable, Sendable {
    case lacksCapability
    case capable
    case ready
    case tagsMatched
    case slotFree
    case fits

    static func < (lhs: FilterStage, rhs: FilterStage) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// The reason for a task whose best candidate stopped at this stage.
    var unschedulableReason: UnschedulableReason {
        switch self {
        case .lacksCapability: .noAgentWithCapability
        case .capable: .noReadyAgent
        case .ready: .tagsNotMatched
        case .tagsMatched: .allAgentsBusy
        case .slotFree, .fits: .insufficientResources
        }
    }
}
