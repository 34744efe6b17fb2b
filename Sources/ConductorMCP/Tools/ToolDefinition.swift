import KubeJSON

/// One tool as `tools/list` shows it.
struct ToolDefinition: Sendable, Equatable {
    var name: String
    var title: String?
    var description: String?
    var inputSchema: JSON
    var outputSchema: JSON?
    /// Whether a 2025-11-25 client may make a call of it a task.
    var taskSupport: TaskSupport = .optional

    /// As tools/list shows it; `execution` only to clients of a revision that has tasks (older ones
    /// would not know the field).
    func json(showingExecution: Bool) -> JSON {
        var object: JSONObject = ["name": .string(name)]
        if let title { object["title"] = .string(title) }
        if let description { object["description"] = .string(description) }
        object["inputSchema"] = inputSchema
        if let outputSchema { object["outputSchema"] = outputSchema }
        if showingExecution { object["execution"] = ["taskSupport": .string(taskSupport.rawValue)] }
        return .object(object)
    }

    /// The specification's tool-name rule (2025-11-25): 1 to 128 of A-Z, a-z, 0-9, `_`, `-` and `.`.
    static func isValidName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."): true
            default: false
            }
        }
    }

    /// Management tools start with it, and a capability so named is not offered as a tool, so that the two
    /// never collide.
    static let reservedPrefix = "conductor_"
}
