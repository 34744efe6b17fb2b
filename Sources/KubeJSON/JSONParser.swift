/// Why a document is not JSON, worded as Go's encoding/json words it, because the API server's
/// error messages quote that text and clients match on it.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// Byte offset of the first byte that could not be read.
    public let offset: Int
    public var description: String { message }
}

extension JSON {
    /// Deepest nesting accepted. Kubernetes accepts deeper documents, but nothing we store needs
    /// them, and every recursive walk over a value stays far from the end of a thread's stack.
    public static let maximumDepth = 256

    /// Parses one JSON document.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONParseError) -> JSON {
        try parse(bytes, omitting: [])
    }

    /// Parses one JSON document without the member at `omitted`, a path of member names from the top (an array on
    /// the way stands for each of its elements: `["items", "metadata"]` is every item's metadata). The omitted
    /// values are checked as strictly as the rest, but not built: for a member the reader never looks at, such as
    /// an object's `metadata.managedFields` for a model without it, often most of the document's values.
    public static func parse(_ bytes: some Collection<UInt8>, omitting omitted: [String]) throws(JSONParseError) -> JSON {
        let contiguous = Array(bytes)
        return try contiguous.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSON in
            var parser = Parser(bytes: buffer)
            parser.omitted = omitted
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0, matched: omitted.isEmpty ? nil : 0)
            parser.skipWhitespace()
            if parser.index < buffer.count {
                throw parser.error("invalid character \(parser.quoted(buffer[parser.index])) after top-level value")
            }
            return value
        }
    }

    public static func parse(_ text: String) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8))
    }

    /// Parses one JSON document and lists the members that appear more than once in their object,
    /// as paths in the form the API server's strict decoding reports them (`spec.items[0].name`).
    /// As with Go's decoder, the last of the repeated members wins.
    public static func parse(_ bytes: some Collection<UInt8>, duplicateKeys: inout [String]) throws(JSONParseError) -> JSON {
        let contiguous = Array(bytes)
        let (value, duplicates) = try contiguous.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> (JSON, [String]) in
            var parser = Parser(bytes: buffer)
            parser.tracksDuplicates = true
            parser.skipWhitespace()
            let value = try parser.parseValue(depth: 0, matched: nil)
            parser.skipWhitespace()
            if parser.index < buffer.count {
                throw parser.error("invalid character \(parser.quoted(buffer[parser.index])) after top-level value")
            }
            return (value, parser.duplicates)
        }
        duplicateKeys = duplicates
        return value
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// Whether to note repeated object members (off by default: it costs a path per value).
    var tracksDuplicates = false
    var duplicates: [String] = []
    /// Where the parser is, while `tracksDuplicates`: member names and array indices.
    var path: [PathStep] = []
    /// The member to pass over (`JSON.parse(_:omitting:)`); empty for none.
    var omitted: [String] = []

    enum PathStep {
        case member(String)
        case index(Int)
    }

    func pathText(adding member: String) -> String {
        var text = ""
        for step in path {
            switch step {
            case .member(let name): text += text.isEmpty ? name : "." + name
            case .index(let index): text += "[\(index)]"
            }
        }
        return text.isEmpty ? member : text + "." + member
    }

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String) -> JSONParseError { JSONParseError(message: message, offset: index) }

    func quoted(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: "'"): return "'\\''"
        case UInt8(ascii: "\""): return "'\"'"
        case 0x20..<0x7F: return "'\(Character(Unicode.Scalar(byte)))'"
        default:
            let hex = String(byte, radix: 16, uppercase: false)
            return "'\\x\(hex.count == 1 ? "0" + hex : hex)'"
        }
    }

    var endOfInput: JSONParseError { error("unexpected end of JSON input") }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// - Parameter matched: how many names of `omitted` lead to this value; nil when it is off that path.
    mutating func parseValue(depth: Int, matched: Int?) throws(JSONParseError) -> JSON {
        guard index < bytes.count else { throw endOfInput }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1, matched: matched)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1, matched: matched)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            throw error("invalid character \(quoted(bytes[index])) looking for beginning of value")
        }
    }

    mutating func parseLiteral(_ literal: StaticString) throws(JSONParseError) {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for (offset, byte) in expected.enumerated() {
            guard index < bytes.count else { throw endOfInput }
            if bytes[index] != byte {
                throw error(
                    "invalid character \(quoted(bytes[index])) in literal \(literal) (expecting \(quoted(expected[offset])))"
                )
            }
            index += 1
        }
    }

    mutating func checkDepth(_ depth: Int) throws(JSONParseError) {
        if depth > JSON.maximumDepth {
            throw error("exceeded max depth of \(JSON.maximumDepth)")
        }
    }

    mutating func parseObject(depth: Int, matched: Int?) throws(JSONParseError) -> JSON {
        try checkDepth(depth)
        index += 1  // {
        var object = JSONObject()
        skipWhitespace()
        guard index < bytes.count else { throw endOfInput }
        if bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            try expectKey()
            let key = try parseString()
            try passColon()
            if tracksDuplicates {
                if object[key] != nil { duplicates.append(pathText(adding: key)) }
                path.append(.member(key))
                object[key] = try parseValue(depth: depth, matched: nil)
                path.removeLast()
            } else if let matched, key == omitted[matched] {
                if matched + 1 == omitted.count {
                    try skipValue(depth: depth)
                } else {
                    object[key] = try parseValue(depth: depth, matched: matched + 1)
                }
            } else {
                object[key] = try parseValue(depth: depth, matched: nil)
            }
            if try passSeparator(closing: UInt8(ascii: "}"), after: "object key:value pair") { return .object(object) }
        }
    }

    mutating func parseArray(depth: Int, matched: Int?) throws(JSONParseError) -> JSON {
        try checkDepth(depth)
        index += 1  // [
        var array: [JSON] = []
        skipWhitespace()
        guard index < bytes.count else { throw endOfInput }
        if bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(array)
        }
        while true {
            skipWhitespace()
            if tracksDuplicates {
                path.append(.index(array.count))
                array.append(try parseValue(depth: depth, matched: nil))
                path.removeLast()
            } else {
                array.append(try parseValue(depth: depth, matched: matched))
            }
            if try passSeparator(closing: UInt8(ascii: "]"), after: "array element") { return .array(array) }
        }
    }

    // The three below are inlined: out of line, they cost the whole parse 5 % (measured).

    /// At an object's member: its name's opening quote must come next.
    @inline(__always)
    mutating func expectKey() throws(JSONParseError) {
        guard index < bytes.count else { throw endOfInput }
        guard bytes[index] == UInt8(ascii: "\"") else {
            throw error("invalid character \(quoted(bytes[index])) looking for beginning of object key string")
        }
    }

    /// After a member's name: the colon, and the whitespace around it.
    @inline(__always)
    mutating func passColon() throws(JSONParseError) {
        skipWhitespace()
        guard index < bytes.count else { throw endOfInput }
        guard bytes[index] == UInt8(ascii: ":") else {
            throw error("invalid character \(quoted(bytes[index])) after object key")
        }
        index += 1
        skipWhitespace()
    }

    /// After a member or an element: a comma (false: another follows) or `closing` (true: the container ends).
    /// - Parameter item: what came before, as Go's errors name it.
    @inline(__always)
    mutating func passSeparator(closing: UInt8, after item: StaticString) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw endOfInput }
        switch bytes[index] {
        case UInt8(ascii: ","): index += 1; return false
        case closing: index += 1; return true
        default: throw error("invalid character \(quoted(bytes[index])) after \(item)")
        }
    }

    /// Passes over one value, checking it as `parseValue` would, without building it.
    mutating func skipValue(depth: Int) throws(JSONParseError) {
        guard index < bytes.count else { throw endOfInput }
        let opening = bytes[index]
        guard opening == UInt8(ascii: "{") || opening == UInt8(ascii: "[") else {
            if opening == UInt8(ascii: "\"") { return try skipString() }
            _ = try parseValue(depth: depth, matched: nil)  // a literal or a number: nothing is allocated
            return
        }
        let isObject = opening == UInt8(ascii: "{")
        let closing = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        try checkDepth(depth + 1)
        index += 1
        skipWhitespace()
        guard index < bytes.count else { throw endOfInput }
        if bytes[index] == closing {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            if isObject {
                try expectKey()
                try skipString()
                try passColon()
            }
            try skipValue(depth: depth + 1)
            if try passSeparator(closing: closing, after: isObject ? "object key:value pair" : "array element") { return }
        }
    }

    /// Passes over a string, checking it as `parseString` does; one with escapes is read by `parseString`.
    mutating func skipString() throws(JSONParseError) {
        let start = index
        index += 1  // opening quote
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return
            }
            if byte == UInt8(ascii: "\\") {
                index = start
                _ = try parseString()
                return
            }
            if byte < 0x20 { throw error("invalid character \(quoted(byte)) in string literal") }
            index += 1
        }
        throw endOfInput
    }

    mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return s
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("invalid character \(quoted(byte)) in string literal") }
            index += 1
        }
        guard index < bytes.count else { throw endOfInput }
        var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw endOfInput }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar), index + 1 < bytes.count,
                        bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                    {
                        let save = index
                        index += 2
                        let low = try parseHex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            index = save
                        }
                    }
                    let value = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    buffer.append(contentsOf: Array(String(Character(value)).utf8))
                default:
                    index -= 1
                    throw error("invalid character \(quoted(escaped)) in string escape code")
                }
            default:
                if byte < 0x20 { throw error("invalid character \(quoted(byte)) in string literal") }
                buffer.append(byte)
                index += 1
            }
        }
        throw endOfInput
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count else { throw endOfInput }
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid character \(quoted(byte)) in \\u hexadecimal character escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    mutating func parseNumber() throws(JSONParseError) -> JSON {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") {
            index += 1
            guard index < bytes.count else { throw endOfInput }
        }
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        guard isDigit(bytes[index]) else {
            throw error("invalid character \(quoted(bytes[index])) in numeric literal")
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count else { throw endOfInput }
            guard isDigit(bytes[index]) else {
                throw error("invalid character \(quoted(bytes[index])) after decimal point in numeric literal")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count else { throw endOfInput }
            guard isDigit(bytes[index]) else {
                throw error("invalid character \(quoted(bytes[index])) in exponent of numeric literal")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let value = Int64(text) { return .int(value) }
        return .double(Double(text) ?? .nan)
    }
}
