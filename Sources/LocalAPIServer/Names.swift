import Foundation

/// Kubernetes name rules, with the messages kube-apiserver gives when one is broken. Public for the command
/// line, which checks the names it is given before sending anything.
public enum Names {
    static let dns1123SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        + "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        + "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

    static let dns1123LabelMessage =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
        + "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        + "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

    private static func isLowerAlphanumeric(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    private static func isAlphanumeric(_ c: UInt8) -> Bool {
        isLowerAlphanumeric(c) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }

    public static func isDNS1123Label(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 63, isLowerAlphanumeric(b.first!), isLowerAlphanumeric(b.last!) else { return false }
        return b.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    static func isDNS1123Subdomain(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNS1123Label(String($0)) }
    }

    /// The problems with an object name (a DNS subdomain), as field-error messages.
    static func subdomainProblems(_ name: String) -> [String] {
        var problems: [String] = []
        if name.utf8.count > 253 { problems.append("must be no more than 253 characters") }
        if !isDNS1123Subdomain(name) || name.utf8.count > 253 {
            if !name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ isDNS1123Label(String($0)) }) {
                problems.append(dns1123SubdomainMessage)
            }
        }
        return problems
    }

    static func labelProblems(_ name: String) -> [String] {
        var problems: [String] = []
        if name.utf8.count > 63 { problems.append("must be no more than 63 characters") }
        let b = Array(name.utf8)
        if b.isEmpty || !isLowerAlphanumeric(b.first!) || !isLowerAlphanumeric(b.last!)
            || !b.allSatisfy({ isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") })
        {
            problems.append(dns1123LabelMessage)
        }
        return problems
    }

    /// Why a label or annotation key is not a qualified name (`prefix/name`), or nil.
    static func qualifiedNameProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        let name: Substring
        switch parts.count {
        case 1: name = parts[0]
        case 2:
            if parts[0].isEmpty { return "prefix part must be non-empty" }
            if !isDNS1123Subdomain(String(parts[0])) { return "prefix part \(dns1123SubdomainMessage)" }
            name = parts[1]
        default:
            return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                + "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                + "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
                + "and '/' (e.g. 'example.com/MyName')"
        }
        if name.isEmpty { return "name part must be non-empty" }
        if name.utf8.count > 63 { return "name part must be no more than 63 characters" }
        let b = Array(name.utf8)
        if !isAlphanumeric(b.first!) || !isAlphanumeric(b.last!)
            || !b.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        {
            return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                + "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
                + "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        }
        return nil
    }

    /// Why a label value is not valid, or nil. The empty value is valid.
    static func labelValueProblem(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.utf8.count > 63 { return "must be no more than 63 characters" }
        let b = Array(value.utf8)
        if !isAlphanumeric(b.first!) || !isAlphanumeric(b.last!)
            || !b.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        {
            return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                + "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                + "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        }
        return nil
    }

    /// The characters kube-apiserver draws generated-name suffixes from: no vowels, no look-alikes.
    static let suffixAlphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    /// Problems of a name that needs only to be a path segment, as RBAC objects' names (which may hold
    /// colons: `system:discovery`): Go's path.IsValidPathSegmentName.
    static func pathSegmentProblems(_ name: String) -> [String] {
        if name == "." || name == ".." { return ["may not be '\(name)'"] }
        var problems: [String] = []
        if name.contains("/") { problems.append("may not contain '/'") }
        if name.contains("%") { problems.append("may not contain '%'") }
        return problems
    }

    static func generate(prefix: String) -> String {
        let maxPrefix = 253 - 5
        let base = prefix.utf8.count > maxPrefix ? String(prefix.prefix(maxPrefix)) : prefix
        return base + String((0..<5).map { _ in suffixAlphabet.randomElement()! })
    }
}
