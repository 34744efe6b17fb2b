import ConductorAPI

/// Hands an MCP server's new tool list to the runtime, once there is one: a change that comes while the
/// runtime is being made waits for it.
actor ToolChanges {
    private var handler: (@Sendable ([CapabilityDetail]) async -> Void)?
    private var waiting: [CapabilityDetail]?

    func attach(_ handler: @escaping @Sendable ([CapabilityDetail]) async -> Void) async {
        self.handler = handler
        if let waiting {
            self.waiting = nil
            await handler(waiting)
        }
    }

    func apply(_ tools: [CapabilityDetail]) async {
        guard let handler else {
            waiting = tools
            return
        }
        await handler(tools)
    }
}
