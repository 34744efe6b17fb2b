import KubeJSON

/// A JSON-RPC request id: a string or an integer. MCP forbids null ids, and fractional numbers are not ids
/// any client sends, so both are refused as invalid requests.
enum JSONRPCID: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case number(Int64)

    /// Nil for anything that is not a string or a whole number.
    init?(_ value: JSON) {
        switch value {
        case .string(let text): self = .string(text)
        case .int, .double:
            guard let number = value.int else { return nil }
            self = .number(number)
        default: return nil
        }
    }

    var json: JSON {
        switch self {
        case .string(let text): .string(text)
        case .number(let number): .int(number)
        }
    }

    /// The id as JSON text: tells the string "1" from the number 1, as a key of calls in flight must.
    var description: String { json.text }
}
