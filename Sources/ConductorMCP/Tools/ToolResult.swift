import ConductorAPI
import KubeJSON

/// `CallToolResult`s: structured content with its text, or a tool error the model can act on.
enum ToolResult {
    static func success(_ structured: JSON) -> JSON {
        let object: JSON = structured.object != nil ? structured : ["result": structured]
        return ["content": [["type": "text", "text": .string(object.text)]], "structuredContent": object, "isError": false]
    }

    /// A tool error (`isError: true`): input that failed its schema, a failed task, a refused write.
    static func error(_ text: String) -> JSON {
        ["content": [["type": "text", "text": .string(text)]], "isError": true]
    }

    /// The answer for a completed or finally failed task.
    static func finished(_ task: TaskResource) -> JSON {
        guard task.status.phase == .completed else {
            let reason = task.status.reason?.rawValue ?? "Failed"
            return error("task \(task.key) failed: \(reason): \(task.status.message ?? "no message")")
        }
        return success(task.status.result ?? [:])
    }

    /// A call that waited its limit (`--mcp-max-call-wait`) or was cut by a shutdown: the task goes on and
    /// its result can be fetched. A tool with an outputSchema gets this as a tool error, because clients
    /// reject a non-error result whose structured content does not match the schema.
    static func stillRunning(_ task: TaskResource, why: String, toolHasOutputSchema: Bool) -> JSON {
        let text = "\(why) Task \(task.name) is \(TaskSummary.line(task)); the work goes on and is not lost. "
            + "Fetch its result with the conductor_wait tool (arguments {\"name\": \"\(task.name)\"}) or conductor_get."
        if toolHasOutputSchema { return error(text) }
        return ["content": [["type": "text", "text": .string(text)]],
                "structuredContent": ["task": .string(task.name), "phase": .string(task.status.effectivePhase.rawValue),
                                      "done": false, "fetchWith": "conductor_wait"],
                "isError": false]
    }
}
