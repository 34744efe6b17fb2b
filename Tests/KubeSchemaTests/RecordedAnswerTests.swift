import KubeJSON
import Testing
@testable import KubeSchema

/// The four causes recorded from a real 1.36 server (`transcripts/03-validation.json`), verbatim.
@Suite struct RecordedAnswerTests {
    /// What the server does to a body on create: defaults, prune, then validate.
    func causes(_ body: JSON) throws -> [FieldError] {
        let schema = try Seed.task
        var value = body
        schema.applyDefaults(&value)
        _ = schema.prune(&value)
        return schema.validate(value)
    }

    @Test func priorityAboveMaximum() throws {
        let found = try causes(object(spec: #"{"priority":11,"requiredCapabilities":["echo"]}"#))
        #expect(found == [FieldError(
            field: "spec.priority", reason: .invalid,
            message: "Invalid value: 11: spec.priority in body should be less than or equal to 10")])
    }

    @Test func priorityOfTheWrongType() throws {
        let found = try causes(object(spec: #"{"priority":"high","requiredCapabilities":["echo"]}"#))
        #expect(found == [FieldError(
            field: "spec.priority", reason: .typeInvalid,
            message: #"Invalid value: "string": spec.priority in body must be of type integer: "string""#)])
    }

    @Test func enumViolation() throws {
        let found = try causes(object(spec: #"{"priority":5,"requiredCapabilities":["echo"],"retryPolicy":{"backoffStrategy":"random"}}"#))
        #expect(found == [FieldError(
            field: "spec.retryPolicy.backoffStrategy", reason: .notSupported,
            message: #"Unsupported value: "random": supported values: "linear", "exponential""#)])
    }

    @Test func dateTimeFormat() throws {
        let found = try causes(object(spec: #"{"deadline":"tomorrow","priority":5,"requiredCapabilities":["echo"]}"#))
        #expect(found == [FieldError(
            field: "spec.deadline", reason: .typeInvalid,
            message: #"Invalid value: "tomorrow": spec.deadline in body must be of type date-time: "tomorrow""#)])
    }

    @Test func statusEnumViolation() throws {
        let found = try causes(json(#"{"status":{"phase":"Exploded"}}"#))
        #expect(found == [FieldError(
            field: "status.phase", reason: .notSupported,
            message: #"Unsupported value: "Exploded": supported values: "Pending", "Assigned", "Running", "Completed", "Failed""#)])
    }

    @Test func unknownFieldIsPrunedAndReported() throws {
        let schema = try Seed.task
        var value = try object(spec: #"{"priority":5,"requiredCapabilities":["echo"],"unknownField":1}"#)
        #expect(schema.prune(&value) == ["spec.unknownField"])
        #expect(value == (try object(spec: #"{"priority":5,"requiredCapabilities":["echo"]}"#)))
        #expect(schema.validate(value).isEmpty)
    }

    @Test func retryPolicyDefaults() throws {
        let schema = try Seed.task
        var value = try object(spec: #"{"priority":5,"requiredCapabilities":["echo"],"retryPolicy":{}}"#)
        schema.applyDefaults(&value)
        #expect(value["spec"]?["retryPolicy"] == (try json(#"{"backoffStrategy":"exponential","maxRetries":3}"#)))
    }

    @Test func statusMessageAggregatesLikeTheServer() {
        let one = FieldError(field: "spec.priority", reason: .invalid, message: "Invalid value: 11: x")
        let two = FieldError(field: "spec.deadline", reason: .typeInvalid, message: "Invalid value: \"a\": y")
        #expect(FieldError.aggregate([one]) == "spec.priority: Invalid value: 11: x")
        #expect(FieldError.aggregate([one, two, one]) == "[spec.priority: Invalid value: 11: x, spec.deadline: Invalid value: \"a\": y]")
    }

    @Test func agentSchemaIsAccepted() throws {
        let agent = try StructuralSchema(json(Seed.agentSchema))
        let found = agent.validate(try json(#"{"spec":{"resources":{"gpu":"yes"}},"status":{"currentTasks":1.5}}"#))
        #expect(texts(found) == [
            #"spec.resources.gpu: Invalid value: "string": spec.resources.gpu in body must be of type boolean: "string""#,
            #"status.currentTasks: Invalid value: "number": status.currentTasks in body must be of type integer: "number""#,
        ])
    }
}
