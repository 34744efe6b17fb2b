/// IP address syntax as Go's `net.ParseIP` and `net.ParseCIDR` read it, for the `ipv4`, `ipv6` and
/// `cidr` formats.
enum IPAddress {
    /// govalidator's `IsIPv4`: any address Go parses, written with a dot.
    static func isIPv4(_ text: String) -> Bool { text.contains(".") && parse(text) != nil }

    /// govalidator's `IsIPv6`: any address Go parses (the caller also wants a colon).
    static func isIPv6(_ text: String) -> Bool { parse(text) != nil }

    /// `net.ParseCIDR`: an address, a slash, and a prefix length that fits the address family.
    static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = parse(String(parts[0])) else { return false }
        let mask = parts[1]
        guard !mask.isEmpty, mask.utf8.count <= 3, mask.utf8.allSatisfy(StringFormats.isDigit), let n = Int(mask) else { return false }
        return n <= bits
    }

    /// The address's length in bits (32 or 128), or nil when Go would not parse it.
    static func parse(_ text: String) -> Int? {
        if isDottedQuad(Substring(text)) { return 32 }
        return isIPv6Text(Substring(text)) ? 128 : nil
    }

    /// Four decimal octets of at most 255, without leading zeros (Go refuses them since 1.17).
    private static func isDottedQuad(_ text: Substring) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        return octets.allSatisfy { octet in
            guard !octet.isEmpty, octet.utf8.count <= 3, octet.utf8.allSatisfy(StringFormats.isDigit), let value = Int(octet) else {
                return false
            }
            return value <= 255 && (octet.count == 1 || !octet.hasPrefix("0"))
        }
    }

    /// Eight groups of one to four hex digits, one `::` standing for one or more zero groups, and an
    /// IPv4 address allowed in place of the last two groups. No zone.
    private static func isIPv6Text(_ text: Substring) -> Bool {
        guard text.contains(":") else { return false }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return false }
        func groups(_ part: Substring, last: Bool) -> Int? {
            if part.isEmpty { return 0 }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            var count = 0
            for (n, piece) in pieces.enumerated() {
                if last && n == pieces.count - 1 && piece.contains(".") {
                    guard isDottedQuad(piece) else { return nil }
                    count += 2
                } else {
                    guard (1...4).contains(piece.utf8.count), piece.utf8.allSatisfy(StringFormats.isHexDigit) else { return nil }
                    count += 1
                }
            }
            return count
        }
        if halves.count == 1 {
            return groups(text, last: true) == 8
        }
        guard let head = groups(halves[0], last: false), let tail = groups(halves[1], last: true) else { return false }
        return head + tail <= 7
    }
}

extension Substring {
    /// Splits on a separator of more than one character (`::`), keeping empty pieces.
    fileprivate func components(separatedBy separator: String) -> [Substring] {
        var pieces: [Substring] = []
        var rest = self
        while let range = rest.firstRange(of: separator) {
            pieces.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        pieces.append(rest)
        return pieces
    }
}
