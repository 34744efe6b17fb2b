/// A configuration that cannot be used: the field (as a path such as `capabilities[1].http.url`), where it
/// is in the file when known, and why. Found before anything is registered.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The field, as a path from the top of the configuration: `capabilities[0].command`.
    public var field: String
    public var reason: String
    /// Where the value is: the file and line, or the flag or environment variable that gave it.
    public var source: String?

    public init(field: String, reason: String, source: String? = nil) {
        self.field = field
        self.reason = reason
        self.source = source
    }

    public var description: String {
        "invalid agent configuration: \(field): \(reason)" + (source.map { " (\($0))" } ?? "")
    }
}
