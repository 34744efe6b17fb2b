import KubeJSON
@testable import KubeSchema

/// The seed's Task and Agent schemas (`kube-reference/seed-crds.yaml`), as JSON.
enum Seed {
    static let taskSchema = """
        {"type":"object","properties":{"spec":{"type":"object","properties":{"requiredCapabilities":{"type":"array",\
        "items":{"type":"string"}},"priority":{"type":"integer","minimum":1,"maximum":10},"payload":{"type":"object",\
        "x-kubernetes-preserve-unknown-fields":true},"deadline":{"type":"string","format":"date-time"},"retryPolicy":\
        {"type":"object","properties":{"maxRetries":{"type":"integer","default":3},"backoffStrategy":{"type":"string",\
        "enum":["linear","exponential"],"default":"exponential"}}}}},"status":{"type":"object","properties":{"phase":\
        {"type":"string","enum":["Pending","Assigned","Running","Completed","Failed"]},"assignedAgent":{"type":"string"},\
        "startTime":{"type":"string","format":"date-time"},"completionTime":{"type":"string","format":"date-time"},\
        "result":{"type":"object","x-kubernetes-preserve-unknown-fields":true},"conditions":{"type":"array","items":\
        {"type":"object","properties":{"type":{"type":"string"},"status":{"type":"string"},"lastTransitionTime":\
        {"type":"string"},"reason":{"type":"string"},"message":{"type":"string"}}}}}}}}
        """

    static let agentSchema = """
        {"type":"object","properties":{"spec":{"type":"object","properties":{"capabilities":{"type":"array","items":\
        {"type":"string"}},"resources":{"type":"object","properties":{"cpu":{"type":"string"},"memory":{"type":"string"},\
        "gpu":{"type":"boolean"}}},"tags":{"type":"array","items":{"type":"string"}}}},"status":{"type":"object",\
        "properties":{"phase":{"type":"string","enum":["Ready","NotReady","Unknown"]},"lastHeartbeat":{"type":"string",\
        "format":"date-time"},"currentTasks":{"type":"integer"},"conditions":{"type":"array","items":{"type":"object",\
        "properties":{"type":{"type":"string"},"status":{"type":"string"},"lastTransitionTime":{"type":"string"},\
        "reason":{"type":"string"},"message":{"type":"string"}}}}}}}}
        """

    static var task: StructuralSchema { get throws { try StructuralSchema(json(taskSchema)) } }
}

func json(_ text: String) throws -> JSON { try JSON.parse(text) }

/// A schema whose root holds `spec` with the given properties (JSON text of the properties object).
func specSchema(_ properties: String, extra: String = "") throws -> StructuralSchema {
    try StructuralSchema(json(#"{"type":"object","properties":{"spec":{"type":"object","properties":\#(properties)\#(extra)}}}"#))
}

/// A Task-like object around a spec given as JSON text.
func object(spec: String) throws -> JSON {
    try json(#"{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"t"},"spec":\#(spec)}"#)
}

/// The schema error a schema gets, or nil when it is accepted.
func schemaError(_ text: String, fieldPath: String = "") -> SchemaError? {
    do {
        _ = try StructuralSchema(json(text), fieldPath: fieldPath)
        return nil
    } catch let error as SchemaError {
        return error
    } catch {
        return nil
    }
}

/// `field: message` of every cause, the way the server prints them.
func texts(_ errors: [FieldError]) -> [String] { errors.map(\.description) }
