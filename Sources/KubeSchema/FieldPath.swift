/// A field path spelled as apimachinery's `field.Path` spells it: children joined with dots, keys and
/// indices in brackets, and `<nil>` for the empty path (which the server really prints, for errors it
/// cannot place, such as an unmet `anyOf`).
struct FieldPath: Sendable, Equatable {
    private let text: String?

    /// The nil path: where validation of a whole object starts.
    static let none = FieldPath(text: nil)

    private init(text: String?) { self.text = text }

    init(_ name: String) { self.text = name }

    func child(_ name: String) -> FieldPath {
        FieldPath(text: text.map { "\($0).\(name)" } ?? name)
    }

    func key(_ key: String) -> FieldPath { FieldPath(text: (text ?? "") + "[\(key)]") }

    func index(_ index: Int) -> FieldPath { FieldPath(text: (text ?? "") + "[\(index)]") }

    var isNone: Bool { text == nil }

    /// The path as the server writes it in a status cause.
    var string: String { text ?? "<nil>" }

    /// The path below a prefix the caller adds (a schema's own root is the empty string).
    var relative: String { text ?? "" }
}
