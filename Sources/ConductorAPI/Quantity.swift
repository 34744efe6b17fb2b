/// A Kubernetes resource quantity (`500m`, `2`, `4Gi`, `1.5e3`): an agent's CPU and memory, and what a task
/// asks of them.
///
/// The value is held exactly, as a whole number of nano-units (10⁻⁹ of the unit), so comparisons and sums
/// are exact, never floating point. As Kubernetes' `resource.Quantity` does:
/// - a value finer than a nano-unit is rounded up, away from zero (`0.1n` is `1n`): asking for a little
///   means asking for some;
/// - a magnitude above 2⁶³−1 units is capped there, so that any text the CRD's pattern accepts decodes;
/// - an exponent (`1e3`) must be a whole number that fits in 32 bits.
///
/// The text it was read from is kept and written back unchanged, so that a model round-trips what the server
/// stores; equality and ordering look only at the value (`1` == `1000m`).
public struct Quantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The value in nano-units (10⁻⁹), within ±`maximumNanoUnits`.
    public let nanoUnits: Int128
    /// The form it is written in: the text or integer it was read from, or a canonical text when computed.
    private let written: Written

    private enum Written: Sendable {
        case text(String)
        case integer(Int64)
    }

    /// Kubernetes caps a quantity at 2⁶³−1 units.
    public static let maximumUnits = Int128(Int64.max)
    public static let nanoUnitsPerUnit: Int128 = 1_000_000_000
    public static let maximumNanoUnits = maximumUnits * nanoUnitsPerUnit

    public static let zero = Quantity(nanoUnits: 0)

    /// Parses the Kubernetes quantity grammar: an optional sign, a decimal number (`1`, `1.5`, `.5`, `1.`),
    /// and a suffix: none, a decimal SI one (`n u m k M G T P E`), a binary SI one (`Ki Mi Gi Ti Pi Ei`), or
    /// a decimal exponent (`e3`, `E-2`).
    public init(_ text: String) throws(QuantityError) {
        nanoUnits = try QuantityParser.nanoUnits(of: text)
        written = .text(text)
    }

    /// A whole number of units (`2` CPUs, `1073741824` bytes), written as a JSON integer.
    public init(units: Int64) {
        nanoUnits = Int128(units) * Self.nanoUnitsPerUnit
        written = .integer(units)
    }

    /// Thousandths of a unit (`500` is `500m`).
    public init(milliUnits: Int64) {
        self.init(nanoUnits: Int128(milliUnits) * 1_000_000)
    }

    /// An exact value in nano-units, capped at ±`maximumNanoUnits`, written in its canonical text.
    public init(nanoUnits: Int128) {
        let capped = min(max(nanoUnits, -Self.maximumNanoUnits), Self.maximumNanoUnits)
        self.nanoUnits = capped
        written = .text(Self.canonicalText(capped))
    }

    /// The text as written: the original for a parsed quantity, the canonical text for a computed one.
    public var description: String {
        switch written {
        case .text(let text): text
        case .integer(let value): String(value)
        }
    }

    /// The value in whole units, rounded up (Kubernetes' `Value()`): `1500m` is 2.
    public var units: Int64 { Int64(Self.divideRoundingUp(nanoUnits, by: Self.nanoUnitsPerUnit)) }

    /// The value in thousandths of a unit, rounded up (Kubernetes' `MilliValue()`): `1.5` is 1500.
    public var milliUnits: Int64 {
        // The capped range in milli-units (9.2e21) can exceed Int64: saturate rather than trap.
        let milli = Self.divideRoundingUp(nanoUnits, by: 1_000_000)
        return Int64(clamping: milli)
    }

    public var isZero: Bool { nanoUnits == 0 }
    public var isNegative: Bool { nanoUnits < 0 }

    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanoUnits == rhs.nanoUnits }
    public func hash(into hasher: inout Hasher) { hasher.combine(nanoUnits) }
    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanoUnits < rhs.nanoUnits }

    /// Sums are capped like parsed values; within the cap they are exact. (The cap keeps the sum of any two
    /// quantities inside Int128, so addition cannot overflow.)
    public static func + (lhs: Quantity, rhs: Quantity) -> Quantity { Quantity(nanoUnits: lhs.nanoUnits + rhs.nanoUnits) }
    public static func - (lhs: Quantity, rhs: Quantity) -> Quantity { Quantity(nanoUnits: lhs.nanoUnits - rhs.nanoUnits) }
    public static func += (lhs: inout Quantity, rhs: Quantity) { lhs = lhs + rhs }
    public static func -= (lhs: inout Quantity, rhs: Quantity) { lhs = lhs - rhs }

    /// The shortest of `N`, `Nm`, `Nu`, `Nn` that states the value exactly: always valid quantity text.
    static func canonicalText(_ nanoUnits: Int128) -> String {
        for (suffix, scale) in [("", nanoUnitsPerUnit), ("m", 1_000_000), ("u", 1_000)] where nanoUnits % scale == 0 {
            return String(nanoUnits / scale) + suffix
        }
        return String(nanoUnits) + "n"
    }

    private static func divideRoundingUp(_ value: Int128, by divisor: Int128) -> Int128 {
        let quotient = value / divisor
        return value % divisor > 0 ? quotient + 1 : quotient
    }
}

/// Why a text is not a Kubernetes quantity. Each case carries the text, so that the message names it.
public enum QuantityError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    /// The number part is missing or malformed (`abc`, `1.2.3`, `+`, `.`).
    case invalidNumber(text: String)
    /// What follows the number is not a known suffix (`1Gb`, `1x`, `1e`).
    case invalidSuffix(text: String, suffix: String)
    /// A decimal exponent that is not a whole number fitting in 32 bits (`1e1.5`, `1e99999999999`).
    case invalidExponent(text: String, exponent: String)
    /// Neither a string nor an integer where a quantity was expected (when decoding).
    case notStringOrInteger(found: String)

    public var description: String {
        let grammar = "a quantity is a number with an optional suffix (n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, "
            + "or an exponent e<integer>), for example 500m, 2, 4Gi or 1.5e3"
        switch self {
        case .empty: return "an empty quantity: \(grammar)"
        case .invalidNumber(let text): return "quantity \"\(text)\" does not start with a valid number: \(grammar)"
        case .invalidSuffix(let text, let suffix): return "quantity \"\(text)\" has an unknown suffix \"\(suffix)\": \(grammar)"
        case .invalidExponent(let text, let exponent):
            return "quantity \"\(text)\" has exponent \"\(exponent)\", which is not a whole number between -2147483648 and 2147483647"
        case .notStringOrInteger(let found): return "a quantity must be a string or an integer, found \(found)"
        }
    }
}

extension Quantity: Codable {
    /// Reads a string or a JSON integer, as the CRD's `x-kubernetes-int-or-string` allows.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            self.init(units: integer)
            return
        }
        guard let text = try? container.decode(String.self) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: QuantityError.notStringOrInteger(found: "another JSON value").description)
        }
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch written {
        case .text(let text): try container.encode(text)
        case .integer(let value): try container.encode(value)
        }
    }
}

/// The quantity grammar, evaluated on decimal digit strings so that any length of digits and any exponent is
/// exact: the value is `digits × 10^scale × 2^binaryPower`, reduced to nano-units only at the end.
enum QuantityParser {
    static func nanoUnits(of text: String) throws(QuantityError) -> Int128 {
        guard !text.isEmpty else { throw .empty }
        let bytes = Array(text.utf8)
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-") {
            negative = bytes[0] == UInt8(ascii: "-")
            index = 1
        }
        let integerStart = index
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        let integerDigits = bytes[integerStart..<index]
        var fractionDigits: ArraySlice<UInt8> = []
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            fractionDigits = bytes[fractionStart..<index]
        }
        guard !integerDigits.isEmpty || !fractionDigits.isEmpty else { throw .invalidNumber(text: text) }

        let suffix = String(decoding: bytes[index...], as: UTF8.self)
        let (decimalExponent, binaryPower) = try exponents(of: suffix, in: text)

        // digits × 10^(exponent − fraction length) units, in nano-units: nine more powers of ten.
        var digits = Array(integerDigits) + Array(fractionDigits)
        let scale = Int64(decimalExponent) - Int64(fractionDigits.count) + 9
        for _ in 0..<(binaryPower / 10) { digits = multiply(digits, by: 1024) }
        let magnitude = scaledMagnitude(digits, scale: scale)
        return negative ? -magnitude : magnitude
    }

    /// The decimal exponent and the power of two a suffix stands for.
    private static func exponents(of suffix: String, in text: String) throws(QuantityError) -> (decimal: Int32, binary: Int) {
        switch suffix {
        case "": return (0, 0)
        case "n": return (-9, 0)
        case "u": return (-6, 0)
        case "m": return (-3, 0)
        case "k": return (3, 0)
        case "M": return (6, 0)
        case "G": return (9, 0)
        case "T": return (12, 0)
        case "P": return (15, 0)
        case "E": return (18, 0)
        case "Ki": return (0, 10)
        case "Mi": return (0, 20)
        case "Gi": return (0, 30)
        case "Ti": return (0, 40)
        case "Pi": return (0, 50)
        case "Ei": return (0, 60)
        default:
            guard let first = suffix.first, first == "e" || first == "E", suffix.count > 1 else {
                throw .invalidSuffix(text: text, suffix: suffix)
            }
            let exponent = String(suffix.dropFirst())
            let body = exponent.hasPrefix("+") || exponent.hasPrefix("-") ? exponent.dropFirst() : Substring(exponent)
            guard !body.isEmpty, body.utf8.allSatisfy(isDigit) else {
                // Kubernetes refuses a fractional exponent (`1e1.5`) when it parses, and so do we (the CRD pattern too).
                if body.utf8.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: ".") }), !body.isEmpty {
                    throw .invalidExponent(text: text, exponent: exponent)
                }
                throw .invalidSuffix(text: text, suffix: suffix)
            }
            guard let value = Int32(exponent) else { throw .invalidExponent(text: text, exponent: exponent) }
            return (value, 0)
        }
    }

    /// `digits × 10^scale`, rounded up to a whole number and capped at `Quantity.maximumNanoUnits`.
    private static func scaledMagnitude(_ digits: [UInt8], scale: Int64) -> Int128 {
        let significant = digits.drop { $0 == UInt8(ascii: "0") }
        guard !significant.isEmpty else { return 0 }
        // The cap has 28 digits: anything with more whole digits than 29 is above it.
        let cap = Quantity.maximumNanoUnits
        if scale >= 0 {
            guard Int64(significant.count) + scale <= 29 else { return cap }
            return min(integer(significant) * power(of: 10, Int(scale)), cap)
        }
        let dropped = Int(min(-scale, Int64(significant.count)))
        let whole = significant.dropLast(dropped)
        let remainder = significant.suffix(dropped)
        guard whole.count <= 29 else { return cap }
        let roundedUp = remainder.contains { $0 != UInt8(ascii: "0") } ? 1 : 0
        return min(integer(whole) + Int128(roundedUp), cap)
    }

    /// A digit string of at most 29 digits as an integer (it fits: Int128 holds 38).
    private static func integer(_ digits: some Collection<UInt8>) -> Int128 {
        digits.reduce(Int128(0)) { $0 * 10 + Int128($1 - UInt8(ascii: "0")) }
    }

    private static func power(of base: Int128, _ exponent: Int) -> Int128 {
        (0..<exponent).reduce(Int128(1)) { result, _ in result * base }
    }

    /// Schoolbook multiplication of a decimal digit string by a small factor.
    private static func multiply(_ digits: [UInt8], by factor: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(digits.count + 4)
        var carry = 0
        for digit in digits.reversed() {
            let product = Int(digit - UInt8(ascii: "0")) * factor + carry
            result.append(UInt8(ascii: "0") + UInt8(product % 10))
            carry = product / 10
        }
        while carry > 0 {
            result.append(UInt8(ascii: "0") + UInt8(carry % 10))
            carry /= 10
        }
        return result.reversed()
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
