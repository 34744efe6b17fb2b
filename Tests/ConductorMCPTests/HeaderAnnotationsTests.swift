import KubeJSON
import Testing

@testable import ConductorMCP

/// What 2026-07-28 clients see of an agent's input schema.
struct HeaderAnnotationsTests {
    @Test func annotationsAreStrippedAtAnyDepthAndPropertiesSoNamedStay() {
        let schema: JSON = [
            "type": "object",
            "properties": [
                "region": ["type": "string", "x-mcp-header": "Region"],
                "nested": ["type": "object", "properties": ["id": ["type": "integer", "x-mcp-header": "Id"]]],
                "x-mcp-header": ["type": "string"],
            ],
            "anyOf": [["x-mcp-header": "Other"]],
        ]
        #expect(HeaderAnnotations.stripped(schema) == [
            "type": "object",
            "properties": [
                "region": ["type": "string"],
                "nested": ["type": "object", "properties": ["id": ["type": "integer"]]],
                "x-mcp-header": ["type": "string"],
            ],
            "anyOf": [[:]],
        ])
    }
}
