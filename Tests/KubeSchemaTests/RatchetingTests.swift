import KubeJSON
import Testing
@testable import KubeSchema

/// CRD validation ratcheting: on an update, a member equal to its stored value is not judged again.
@Suite struct RatchetingTests {
    let schema: StructuralSchema

    init() throws {
        schema = try specSchema(#"{"priority":{"type":"integer","maximum":10},"name":{"type":"string","maxLength":3}}"#)
    }

    @Test func anUnchangedInvalidFieldStandsOnUpdate() throws {
        let stored = try object(spec: #"{"priority":99,"name":"ok"}"#)
        let updated = try object(spec: #"{"priority":99,"name":"ab"}"#)
        #expect(schema.validate(updated, old: stored).isEmpty)
        // Without the old object (a create) the same value is refused.
        #expect(schema.validate(updated).map(\.field) == ["spec.priority"])
    }

    @Test func aChangedInvalidFieldIsRefused() throws {
        let stored = try object(spec: #"{"priority":99,"name":"ok"}"#)
        let updated = try object(spec: #"{"priority":98,"name":"toolong"}"#)
        #expect(schema.validate(updated, old: stored).map(\.field).sorted() == ["spec.name", "spec.priority"])
    }
}
