/// The string formats a CustomResourceDefinition may declare and how the server checks each
/// (kube-openapi's strfmt registry). Names match with dashes ignored, as the registry normalises
/// them (`date-time` is `datetime`).
///
/// Checked as the server checks: `date-time`, `date`, `byte`, `uuid` (and `uuid3`/`uuid4`/`uuid5`),
/// `hostname`, `ipv4`, `ipv6`, `cidr`, `mac`, `hexcolor`, `rgbcolor`, `ssn`, `isbn`/`isbn10`/`isbn13`,
/// `creditcard`, `bsonobjectid`, `k8s-short-name`, `k8s-long-name`, `quantity`, `password` (anything).
/// Checked more loosely than the server: `email` (an address with one `@`, or `Name <address>`,
/// where Go parses RFC 5322 in full), `uri` (an absolute URI or path without spaces, where Go parses
/// the whole URL), `duration` (Go durations, or numbers with unit words).
enum StringFormats {
    private static let supported: Set<String> = [
        "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3", "uuid4",
        "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor", "byte", "password",
        "date", "duration", "datetime", "quantity", "k8sshortname", "k8slongname",
    ]

    private static func normalized(_ name: String) -> String { name.filter { $0 != "-" } }

    /// Whether the server keeps this format on a string node (it blanks the others before validating).
    static func isSupported(_ name: String) -> Bool { supported.contains(normalized(name)) }

    /// Whether `value` is in the format; true for a format this registry does not know.
    static func validates(_ name: String, _ value: String) -> Bool {
        switch normalized(name) {
        case "datetime": return isDateTime(value)
        case "date": return isDate(value)
        case "byte": return isBase64(value)
        case "uuid": return isUUID(value, version: nil)
        case "uuid3": return isUUID(value, version: UInt8(ascii: "3"))
        case "uuid4": return isUUID(value, version: UInt8(ascii: "4"))
        case "uuid5": return isUUID(value, version: UInt8(ascii: "5"))
        case "email": return isEmail(value)
        case "hostname": return isHostname(value)
        case "ipv4": return IPAddress.isIPv4(value)
        case "ipv6": return value.contains(":") && IPAddress.isIPv6(value)
        case "cidr": return IPAddress.isCIDR(value)
        case "mac": return isMAC(value)
        case "uri": return isRequestURI(value)
        case "hexcolor": return isHexColor(value)
        case "rgbcolor": return isRGBColor(value)
        case "ssn": return isSSN(value)
        case "isbn": return isISBN10(value) || isISBN13(value)
        case "isbn10": return isISBN10(value)
        case "isbn13": return isISBN13(value)
        case "creditcard": return isCreditCard(value)
        case "bsonobjectid": return value.utf8.count == 24 && value.utf8.allSatisfy(isHexDigit)
        case "duration": return isDuration(value)
        case "quantity": return isQuantity(value)
        case "k8sshortname": return value.utf8.count <= 63 && isDNSLabel(Substring(value))
        case "k8slongname": return isLongName(value)
        default: return true
        }
    }

    // MARK: - Dates and times

    /// Go's `time.Parse("2006-01-02", s)`: four-digit year, two-digit month and day, a real day.
    static func isDate(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            let year = digits(b[0..<4]), let month = digits(b[5..<7]), let day = digits(b[8..<10])
        else { return false }
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }

    /// strfmt's `IsDateTime`: a date, a `T` (either case), then `hh:mm:ss`, optional fraction, and `Z`
    /// or a `±hh:mm` offset (RFC 3339). Hours up to 23, minutes and seconds up to 59.
    static func isDateTime(_ text: String) -> Bool {
        guard text.utf8.count >= 4 else { return false }
        let parts = text.lowercased().split(separator: "t", omittingEmptySubsequences: false)
        guard parts.count >= 2, isDate(String(parts[0])) else { return false }
        let b = Array(parts[1].utf8)
        guard b.count >= 9, b[2] == UInt8(ascii: ":"), b[5] == UInt8(ascii: ":"),
            let hour = digits(b[0..<2]), let minute = digits(b[3..<5]), let second = digits(b[6..<8])
        else { return false }
        guard hour <= 23, minute <= 59, second <= 59 else { return false }
        var i = 8
        // strfmt's pattern writes the fraction as `(.[0-9]+)?`: any one character, then digits.
        if b[i] != UInt8(ascii: "z") && b[i] != UInt8(ascii: "+") && b[i] != UInt8(ascii: "-") {
            i += 1
            let start = i
            while i < b.count, isDigit(b[i]) { i += 1 }
            guard i > start else { return false }
        }
        guard i < b.count else { return false }
        if b[i] == UInt8(ascii: "z") { return i + 1 == b.count }
        guard b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), b.count - i == 6, b[i + 3] == UInt8(ascii: ":"),
            digits(b[(i + 1)..<(i + 3)]) != nil, digits(b[(i + 4)..<(i + 6)]) != nil
        else { return false }
        return true
    }

    /// strfmt's duration: Go's `time.ParseDuration` syntax, or numbers with unit words (`3 days`).
    static func isDuration(_ text: String) -> Bool {
        if isGoDuration(text) { return true }
        let units: Set<String> = [
            "ns", "nano", "nanos", "nanosecond", "nanoseconds", "us", "µs", "micro", "micros", "microsecond",
            "microseconds", "ms", "milli", "millis", "millisecond", "milliseconds", "s", "sec", "secs", "second",
            "seconds", "m", "min", "mins", "minute", "minutes", "h", "hr", "hour", "hours", "d", "day", "days",
            "w", "wk", "week", "weeks",
        ]
        var found = false
        var scalars = Array(text.unicodeScalars)[...]
        while !scalars.isEmpty {
            guard let start = scalars.firstIndex(where: { $0.properties.numericType == .decimal && $0.isASCII }) else { break }
            scalars = scalars[start...]
            while let first = scalars.first, first.isASCII, first.properties.numericType == .decimal { scalars.removeFirst() }
            while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
            var unit = ""
            while let first = scalars.first, first.properties.isAlphabetic || first == "µ" {
                unit.unicodeScalars.append(first)
                scalars.removeFirst()
            }
            if units.contains(unit.lowercased()) { found = true }
        }
        return found
    }

    /// Go's `time.ParseDuration`: an optional sign, then one or more decimal numbers each with a unit.
    private static func isGoDuration(_ text: String) -> Bool {
        var s = Substring(text)
        if s.first == "-" || s.first == "+" { s = s.dropFirst() }
        if s == "0" { return true }
        guard !s.isEmpty else { return false }
        let units = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
        while !s.isEmpty {
            let integer = s.prefix(while: { $0.isASCII && $0.isNumber })
            s = s.dropFirst(integer.count)
            var fraction = Substring("")
            if s.first == "." {
                s = s.dropFirst()
                fraction = s.prefix(while: { $0.isASCII && $0.isNumber })
                s = s.dropFirst(fraction.count)
            }
            guard !integer.isEmpty || !fraction.isEmpty else { return false }
            guard let unit = units.filter({ s.hasPrefix($0) }).max(by: { $0.count < $1.count }) else { return false }
            s = s.dropFirst(unit.count)
        }
        return true
    }

    // MARK: - Encodings and identifiers

    /// govalidator's `IsBase64`: standard alphabet, padded to whole quartets, at least one quartet.
    static func isBase64(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard !b.isEmpty, b.count % 4 == 0 else { return false }
        func isAlphabet(_ c: UInt8) -> Bool {
            isDigit(c) || (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") || c == UInt8(ascii: "+") || c == UInt8(ascii: "/")
        }
        let padding = b.reversed().prefix(while: { $0 == UInt8(ascii: "=") }).count
        guard padding <= 2 else { return false }
        return b[..<(b.count - padding)].allSatisfy(isAlphabet)
    }

    /// strfmt's UUID patterns: 8-4-4-4-12 hex digits in either case, each dash optional; the versioned
    /// forms also fix the version digit and (but for version 3) the variant.
    static func isUUID(_ text: String, version: UInt8?) -> Bool {
        var rest = Array(text.utf8)[...]
        var hex: [UInt8] = []
        for (n, size) in [8, 4, 4, 4, 12].enumerated() {
            if n > 0, rest.first == UInt8(ascii: "-") { rest = rest.dropFirst() }
            guard rest.count >= size, rest.prefix(size).allSatisfy(isHexDigit) else { return false }
            hex += rest.prefix(size).map { $0 | 0x20 }
            rest = rest.dropFirst(size)
        }
        guard rest.isEmpty else { return false }
        guard let version else { return true }
        guard hex[12] == version else { return false }
        return version == UInt8(ascii: "3") || [UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b")].contains(hex[16])
    }

    /// A basic address check in the spirit of Go's `net/mail.ParseAddress`: `local@domain`, or a
    /// display name followed by `<local@domain>`.
    static func isEmail(_ text: String) -> Bool {
        var address = Substring(text)
        if address.hasSuffix(">"), let open = address.lastIndex(of: "<") {
            address = address[address.index(after: open)..<address.index(before: address.endIndex)]
        }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        let forbidden: Set<Character> = [" ", "<", ">", "(", ")", "[", "]", ",", ";", ":", "\\", "\"", "\t", "\n", "\r"]
        guard !address.contains(where: { forbidden.contains($0) }) else { return false }
        guard !parts[0].hasPrefix("."), !parts[0].hasSuffix("."), !parts[0].contains("..") else { return false }
        return !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".") && !parts[1].contains("..")
    }

    /// strfmt's `IsHostname`: its pattern, then at most 63 bytes a label and 255 in all. Labels are
    /// made of letters, digits and symbols. A name of one label is a character, then an optional
    /// dash, then at most 62 characters (so `a-bc` but not `ab-c`, as the pattern has it). In a dotted
    /// name, the labels before the last may hold dashes inside; the last has two or more characters
    /// and single dashes inside only.
    static func isHostname(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 255 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.allSatisfy({ $0.utf8.count <= 63 }) else { return false }
        func isLabelCharacter(_ s: Unicode.Scalar) -> Bool {
            if s.isASCII { return s.properties.isAlphabetic || ("0"..."9").contains(s) }
            switch s.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
                return true
            default:
                return false
            }
        }
        if labels.count == 1 {
            var rest = Array(text.unicodeScalars)[...]
            guard let first = rest.popFirst(), isLabelCharacter(first) else { return false }
            if rest.first == "-" { rest = rest.dropFirst() }
            return rest.count <= 62 && rest.allSatisfy(isLabelCharacter)
        }
        for (n, label) in labels.enumerated() {
            let scalars = Array(label.unicodeScalars)
            guard let first = scalars.first, let last = scalars.last, isLabelCharacter(first), isLabelCharacter(last),
                scalars.allSatisfy({ isLabelCharacter($0) || $0 == "-" })
            else { return false }
            if n == labels.count - 1 {
                guard scalars.count >= 2, !label.contains("--") else { return false }
            }
        }
        return true
    }

    /// Go's `net.ParseMAC`: 6, 8 or 20 octets as two hex digits joined by `:` or `-`, or groups of
    /// four hex digits joined by `.`.
    static func isMAC(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count >= 14 else { return false }
        if b[2] == UInt8(ascii: ":") || b[2] == UInt8(ascii: "-") {
            guard (b.count + 1) % 3 == 0 else { return false }
            let octets = (b.count + 1) / 3
            guard [6, 8, 20].contains(octets) else { return false }
            for i in 0..<octets {
                guard isHexDigit(b[3 * i]), isHexDigit(b[3 * i + 1]) else { return false }
                if i < octets - 1 && b[3 * i + 2] != b[2] { return false }
            }
            return true
        }
        if b[4] == UInt8(ascii: ".") {
            guard (b.count + 1) % 5 == 0 else { return false }
            let groups = (b.count + 1) / 5
            guard [3, 4, 10].contains(groups) else { return false }
            for i in 0..<groups {
                guard (0..<4).allSatisfy({ isHexDigit(b[5 * i + $0]) }) else { return false }
                if i < groups - 1 && b[5 * i + 4] != UInt8(ascii: ".") { return false }
            }
            return true
        }
        return false
    }

    /// Like Go's `url.ParseRequestURI`: an absolute URI (`scheme:...`) or an absolute path, without
    /// spaces or control characters.
    static func isRequestURI(_ text: String) -> Bool {
        guard !text.isEmpty, !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else { return false }
        if text.hasPrefix("/") { return true }
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return false }
        let scheme = text[..<colon]
        guard let first = scheme.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic else { return false }
        return scheme.utf8.allSatisfy { c in
            isDigit(c) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c | 0x20) || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
        }
    }

    static func isHexColor(_ text: String) -> Bool {
        let hex = text.hasPrefix("#") ? text.dropFirst() : Substring(text)
        return (hex.utf8.count == 3 || hex.utf8.count == 6) && hex.utf8.allSatisfy(isHexDigit)
    }

    /// govalidator's `IsRGBcolor`: `rgb(r, g, b)` with each part 0-255, spaces allowed around parts.
    static func isRGBColor(_ text: String) -> Bool {
        guard text.hasPrefix("rgb("), text.hasSuffix(")") else { return false }
        let inner = text.dropFirst(4).dropLast()
        let parts = inner.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return false }
        return parts.allSatisfy { part in
            let number = part.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
            let text = String(number)
            guard !text.isEmpty, text.utf8.count <= 3, text.utf8.allSatisfy(isDigit), let value = Int(text) else { return false }
            return value <= 255 && (text == "0" || !text.hasPrefix("0"))
        }
    }

    /// govalidator's `IsSSN`: 11 characters, `ddd-dd-dddd` with `-` or space as separators.
    static func isSSN(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 11 else { return false }
        let separators: Set<UInt8> = [UInt8(ascii: "-"), UInt8(ascii: " ")]
        return b[0..<3].allSatisfy(isDigit) && separators.contains(b[3]) && b[4..<6].allSatisfy(isDigit)
            && separators.contains(b[6]) && b[7..<11].allSatisfy(isDigit)
    }

    static func isISBN10(_ text: String) -> Bool {
        let s = Array(text.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "-") })
        guard s.count == 10, s[0..<9].allSatisfy(isDigit), isDigit(s[9]) || s[9] == UInt8(ascii: "X") else { return false }
        var sum = 0
        for i in 0..<9 { sum += (i + 1) * Int(s[i] - UInt8(ascii: "0")) }
        sum += s[9] == UInt8(ascii: "X") ? 100 : 10 * Int(s[9] - UInt8(ascii: "0"))
        return sum % 11 == 0
    }

    static func isISBN13(_ text: String) -> Bool {
        let s = Array(text.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "-") })
        guard s.count == 13, s.allSatisfy(isDigit) else { return false }
        var sum = 0
        for i in 0..<12 { sum += Int(s[i] - UInt8(ascii: "0")) * (i % 2 == 0 ? 1 : 3) }
        return (10 - sum % 10) % 10 == Int(s[12] - UInt8(ascii: "0"))
    }

    /// govalidator's `IsCreditCard`: separators dropped, a known issuer prefix and length, and the
    /// Luhn checksum.
    static func isCreditCard(_ text: String) -> Bool {
        let digits = text.utf8.filter(isDigit).map { Int($0 - UInt8(ascii: "0")) }
        guard (12...19).contains(digits.count), text.utf8.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "-") }) else {
            return false
        }
        var sum = 0
        for (n, digit) in digits.reversed().enumerated() {
            let doubled = n % 2 == 1 ? digit * 2 : digit
            sum += doubled > 9 ? doubled - 9 : doubled
        }
        return sum % 10 == 0
    }

    /// A Kubernetes resource quantity: a signed decimal number, then a binary (`Ki`...`Ei`) or decimal
    /// (`n`, `u`, `m`, `k`, `M`...`E`) suffix or a decimal exponent.
    static func isQuantity(_ text: String) -> Bool {
        var s = Substring(text)
        if s.first == "+" || s.first == "-" { s = s.dropFirst() }
        let whole = s.prefix(while: { $0.isASCII && $0.isNumber })
        s = s.dropFirst(whole.count)
        var fraction = Substring("")
        if s.first == "." {
            s = s.dropFirst()
            fraction = s.prefix(while: { $0.isASCII && $0.isNumber })
            s = s.dropFirst(fraction.count)
        }
        guard !whole.isEmpty || !fraction.isEmpty else { return false }
        let suffixes: Set<Substring> = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"]
        if suffixes.contains(s) { return true }
        guard s.first == "e" || s.first == "E" else { return false }
        var exponent = s.dropFirst()
        if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
        return !exponent.isEmpty && exponent.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// A DNS-1123 label in lower case: alphanumerics and dashes, not starting or ending with a dash.
    static func isDNSLabel(_ label: Substring) -> Bool {
        let b = Array(label.utf8)
        guard let first = b.first, let last = b.last else { return false }
        func isLowerAlphanumeric(_ c: UInt8) -> Bool { isDigit(c) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) }
        return isLowerAlphanumeric(first) && isLowerAlphanumeric(last)
            && b.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    static func isLongName(_ text: String) -> Bool {
        text.utf8.count <= 253 && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isDNSLabel)
    }

    // MARK: - Bytes

    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    static func isHexDigit(_ c: UInt8) -> Bool {
        isDigit(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c | 0x20)
    }

    private static func digits(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard bytes.allSatisfy(isDigit) else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
