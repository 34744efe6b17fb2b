import KubeJSON

/// 2026-07-28 lets a tool's input schema mark properties with `x-mcp-header` (a header name), and a client
/// then mirrors those arguments in `Mcp-Param-*` headers that the server must check. This server checks no
/// such headers, so it publishes schemas without the annotations, and clients send none.
enum HeaderAnnotations {
    static let key = "x-mcp-header"

    /// `schema` without any `x-mcp-header` annotation, at any depth. Only string values are annotations: a
    /// property that happens to be named so (under `properties`, an object) stays.
    static func stripped(_ schema: JSON) -> JSON {
        switch schema {
        case .object(let object):
            var result: JSONObject = [:]
            for (name, value) in object where !(name == key && value.string != nil) {
                result[name] = stripped(value)
            }
            return .object(result)
        case .array(let items):
            return .array(items.map(stripped))
        default:
            return schema
        }
    }
}
