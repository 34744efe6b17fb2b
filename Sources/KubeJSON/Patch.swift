/// Why a JSON patch (RFC 6902) could not be applied.
public struct JSONPatchError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension JSON {
    /// Applies a JSON merge patch (RFC 7386): objects merge member by member, `null` removes a
    /// member, anything else replaces.
    public func mergePatched(with patch: JSON) -> JSON {
        guard case .object(let patchMembers) = patch else { return patch }
        var result = self.object ?? [:]
        for (key, value) in patchMembers {
            if value.isNull {
                result.removeValue(forKey: key)
            } else {
                result[key] = (result[key] ?? .null).mergePatched(with: value)
            }
        }
        return .object(result)
    }

    /// Applies a JSON patch (RFC 6902): a list of add, remove, replace, move, copy and test operations,
    /// all or nothing.
    public func jsonPatched(with patch: JSON) throws(JSONPatchError) -> JSON {
        guard case .array(let operations) = patch else {
            throw JSONPatchError(message: "a JSON patch must be an array of operations")
        }
        var document = self
        for operation in operations {
            guard case .object(let op) = operation, let name = op["op"]?.string else {
                throw JSONPatchError(message: "each operation must be an object with a string \"op\"")
            }
            guard let path = op["path"]?.string else {
                throw JSONPatchError(message: "operation \"\(name)\" is missing the string \"path\"")
            }
            let pointer = try JSONPointer(path)
            switch name {
            case "add":
                guard let value = op["value"] else { throw JSONPatchError(message: "add operation has no value") }
                try document.insert(value, at: pointer.tokens[...])
            case "remove":
                _ = try document.remove(at: pointer.tokens[...])
            case "replace":
                guard let value = op["value"] else {
                    throw JSONPatchError(message: "replace operation has no value")
                }
                _ = try document.remove(at: pointer.tokens[...])
                try document.insert(value, at: pointer.tokens[...])
            case "move", "copy":
                guard let from = op["from"]?.string else {
                    throw JSONPatchError(message: "\(name) operation has no \"from\"")
                }
                let source = try JSONPointer(from)
                let value: JSON
                if name == "move" {
                    if pointer.tokens.starts(with: source.tokens) && pointer.tokens.count > source.tokens.count {
                        throw JSONPatchError(message: "cannot move \(from) into its own child \(path)")
                    }
                    value = try document.remove(at: source.tokens[...])
                } else {
                    guard let found = document.value(at: source.tokens[...]) else {
                        throw JSONPatchError(message: "copy from \(from): no such path")
                    }
                    value = found
                }
                try document.insert(value, at: pointer.tokens[...])
            case "test":
                let expected = op["value"] ?? .null
                guard let actual = document.value(at: pointer.tokens[...]), actual == expected else {
                    throw JSONPatchError(message: "testing value \(path) failed: test failed")
                }
            default:
                throw JSONPatchError(message: "unexpected kind of operation: \(name)")
            }
        }
        return document
    }

    func value(at tokens: ArraySlice<String>) -> JSON? {
        guard let first = tokens.first else { return self }
        switch self {
        case .object(let o): return o[first]?.value(at: tokens.dropFirst())
        case .array(let a):
            guard let i = JSONPointer.index(first, count: a.count), i < a.count else { return nil }
            return a[i].value(at: tokens.dropFirst())
        default: return nil
        }
    }

    mutating func insert(_ value: JSON, at tokens: ArraySlice<String>) throws(JSONPatchError) {
        guard let first = tokens.first else {
            self = value
            return
        }
        let rest = tokens.dropFirst()
        switch self {
        case .object(var o):
            if rest.isEmpty {
                o[first] = value
            } else {
                guard var child = o[first] else {
                    throw JSONPatchError(message: "add operation does not apply: doc is missing path: \(first)")
                }
                try child.insert(value, at: rest)
                o[first] = child
            }
            self = .object(o)
        case .array(var a):
            if rest.isEmpty {
                if first == "-" {
                    a.append(value)
                } else {
                    guard let i = JSONPointer.index(first, count: a.count), i <= a.count else {
                        throw JSONPatchError(message: "add operation does not apply: index out of bounds: \(first)")
                    }
                    a.insert(value, at: i)
                }
            } else {
                guard let i = JSONPointer.index(first, count: a.count), i < a.count else {
                    throw JSONPatchError(message: "index out of bounds: \(first)")
                }
                try a[i].insert(value, at: rest)
            }
            self = .array(a)
        default:
            throw JSONPatchError(message: "doc is missing path: \(first)")
        }
    }

    mutating func remove(at tokens: ArraySlice<String>) throws(JSONPatchError) -> JSON {
        guard let first = tokens.first else {
            throw JSONPatchError(message: "cannot remove the whole document")
        }
        let rest = tokens.dropFirst()
        switch self {
        case .object(var o):
            guard var child = o[first] else {
                throw JSONPatchError(message: "doc is missing path: \(first)")
            }
            let removed: JSON
            if rest.isEmpty {
                removed = child
                o.removeValue(forKey: first)
            } else {
                removed = try child.remove(at: rest)
                o[first] = child
            }
            self = .object(o)
            return removed
        case .array(var a):
            guard let i = JSONPointer.index(first, count: a.count), i < a.count else {
                throw JSONPatchError(message: "index out of bounds: \(first)")
            }
            let removed: JSON
            if rest.isEmpty {
                removed = a.remove(at: i)
            } else {
                removed = try a[i].remove(at: rest)
            }
            self = .array(a)
            return removed
        default:
            throw JSONPatchError(message: "doc is missing path: \(first)")
        }
    }
}

/// A JSON pointer (RFC 6901), split into its unescaped reference tokens.
public struct JSONPointer: Sendable, Equatable {
    public let tokens: [String]

    public init(_ text: String) throws(JSONPatchError) {
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.hasPrefix("/") else {
            throw JSONPatchError(message: "JSON pointer must be empty or start with a \"/\": \(text)")
        }
        tokens = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func index(_ token: String, count: Int) -> Int? {
        guard let i = Int(token), i >= 0, token == String(i) else { return nil }
        return i
    }
}

extension Substring {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        String(self).replacingOccurrences(of: target, with: replacement)
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
