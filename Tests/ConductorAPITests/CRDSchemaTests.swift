import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON
import Testing

/// The models and the CRDs name the same fields: walking a CRD's schema beside the JSON of a fully populated
/// model finds no member the schema lacks (it would be pruned, or refused under Strict) and no schema field
/// the model leaves out (the model could not carry it). The server round trip then proves the values.
@Suite struct CRDSchema {
    @Test func theAgentModelHasExactlyTheFieldsOfTheAgentCRD() throws {
        var agent = Fixtures.agent()
        agent.status = Fixtures.agentStatus()
        try Self.expectSameFields(agent, as: "agents.mcp.io.yaml")
    }

    @Test func theTaskModelHasExactlyTheFieldsOfTheTaskCRD() throws {
        var task = Fixtures.task()
        task.status = Fixtures.taskStatus()
        try Self.expectSameFields(task, as: "tasks.mcp.io.yaml")
    }

    private static func expectSameFields(_ object: some KubeObject, as crd: String) throws {
        let comparison = SchemaComparison(schema: try schema(crd), value: try Fixtures.json(object))
        #expect(comparison.unknownToSchema.isEmpty, "fields \(crd) does not have: \(comparison.unknownToSchema)")
        #expect(comparison.notWritten.isEmpty, "fields of \(crd) the model did not write: \(comparison.notWritten)")
    }

    @Test func theEnumsHoldExactlyTheCRDsValues() throws {
        let agents = try Self.schema("agents.mcp.io.yaml")
        let tasks = try Self.schema("tasks.mcp.io.yaml")
        #expect(Self.enumValues(agents, ["status", "phase"]) == AgentPhase.allCases.map(\.rawValue))
        #expect(Self.enumValues(tasks, ["status", "phase"]) == TaskPhase.allCases.map(\.rawValue))
        #expect(Self.enumValues(tasks, ["spec", "retryPolicy", "backoffStrategy"]) == BackoffStrategy.allCases.map(\.rawValue))
        #expect(Self.enumValues(tasks, ["status", "conditions", "status"]) == ConditionStatus.allCases.map(\.rawValue))
        #expect(Self.enumValues(agents, ["status", "conditions", "status"]) == ConditionStatus.allCases.map(\.rawValue))
    }

    @Test func theDefaultsAndLimitsAreTheCRDs() throws {
        let tasks = try Self.schema("tasks.mcp.io.yaml")
        let retryPolicy = try #require(SchemaComparison.node(tasks, ["spec", "retryPolicy"]))
        #expect(retryPolicy[path: ["properties", "maxRetries", "default"]]?.int == Int64(RetryPolicy.defaultMaxRetries))
        #expect(retryPolicy[path: ["properties", "backoffStrategy", "default"]]?.string == RetryPolicy.defaultBackoffStrategy.rawValue)
        let priority = try #require(SchemaComparison.node(tasks, ["spec", "priority"]))
        #expect(priority["minimum"]?.int == Int64(Defaults.priorityRange.lowerBound))
        #expect(priority["maximum"]?.int == Int64(Defaults.priorityRange.upperBound))
        #expect(Defaults.priorityRange.contains(Defaults.priority))
    }

    @Test func theSelectableFieldsAreTheOnesTheConstantsName() throws {
        let crd = try yamlToJSON(try Fixtures.manifest("deploy/crds/tasks.mcp.io.yaml"))
        let selectable = crd[path: ["spec", "versions"]]?.array?.first?["selectableFields"]?.array?.compactMap { $0["jsonPath"]?.string }
        #expect(selectable == [".\(FieldPaths.taskAssignedAgent)", ".\(FieldPaths.taskPhase)"])
        let agentCRD = try yamlToJSON(try Fixtures.manifest("deploy/crds/agents.mcp.io.yaml"))
        let agentSelectable = agentCRD[path: ["spec", "versions"]]?.array?.first?["selectableFields"]?.array?.compactMap { $0["jsonPath"]?.string }
        #expect(agentSelectable == [".\(FieldPaths.agentPhase)"])
        #expect(crd[path: ["spec", "group"]]?.string == APIGroup.name)
        #expect(crd[path: ["spec", "names", "plural"]]?.string == ResourceDescriptor.tasks.plural)
        #expect(crd[path: ["spec", "names", "kind"]]?.string == ResourceDescriptor.tasks.kind)
        #expect(agentCRD[path: ["spec", "names", "plural"]]?.string == ResourceDescriptor.agents.plural)
        #expect(agentCRD[path: ["spec", "names", "kind"]]?.string == ResourceDescriptor.agents.kind)
    }

    static func schema(_ file: String) throws -> JSON {
        let crd = try yamlToJSON(try Fixtures.manifest("deploy/crds/\(file)"))
        guard let schema = crd[path: ["spec", "versions"]]?.array?.first?[path: ["schema", "openAPIV3Schema"]] else {
            throw TestFailure("\(file) has no openAPIV3Schema")
        }
        return schema
    }

    static func enumValues(_ schema: JSON, _ path: [String]) -> [String]? {
        SchemaComparison.node(schema, path)?["enum"]?.array?.compactMap(\.string)
    }
}

/// A structural schema walked beside a value: the paths the value has that the schema does not, and the
/// other way round (for a list, a field no element writes). Members under `x-kubernetes-preserve-unknown-fields`
/// are free, so not walked.
struct SchemaComparison {
    var unknownToSchema: Set<String> = []
    var notWritten: Set<String> = []

    init(schema: JSON, value: JSON) {
        self.init(schema: schema, value: value, path: "")
    }

    private init(schema: JSON, value: JSON, path: String) {
        if schema["x-kubernetes-preserve-unknown-fields"]?.bool == true { return }
        if let items = schema["items"] {
            let elements = (value.array ?? []).map { SchemaComparison(schema: items, value: $0, path: path + "[]") }
            guard let first = elements.first else {
                notWritten = [path + "[]"]
                return
            }
            unknownToSchema = elements.reduce(into: []) { $0.formUnion($1.unknownToSchema) }
            notWritten = elements.dropFirst().reduce(first.notWritten) { $0.intersection($1.notWritten) }
            return
        }
        guard let properties = schema["properties"]?.object else { return }
        let members = value.object ?? [:]
        for (name, property) in properties {
            let child = path.isEmpty ? name : path + "." + name
            guard let member = members[name] else {
                notWritten.insert(child)
                continue
            }
            let nested = SchemaComparison(schema: property, value: member, path: child)
            unknownToSchema.formUnion(nested.unknownToSchema)
            notWritten.formUnion(nested.notWritten)
        }
        for name in members.keys where properties[name] == nil {
            unknownToSchema.insert(path.isEmpty ? name : path + "." + name)
        }
    }

    /// The schema of the field at `path` (through `properties`, and `items` for arrays).
    static func node(_ schema: JSON, _ path: [String]) -> JSON? {
        var node = schema
        for name in path {
            if let items = node["items"] { node = items }
            guard let next = node[path: ["properties", name]] else { return nil }
            node = next
        }
        return node
    }
}
