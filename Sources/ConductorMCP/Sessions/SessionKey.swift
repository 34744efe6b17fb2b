import Foundation
import KubeJSON

/// A session key file that could not be read or written.
public struct SessionKeyError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "session key \(path): \(problem)" }
}

/// The key that signs session ids, shared by every replica: a file of at least 32 random bytes (in a
/// cluster, a Secret's key mounted as a file), written as hex or raw.
public enum SessionKey {
    /// Reads the key at `path`.
    public static func load(at path: String) throws(SessionKeyError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SessionKeyError(path: path, problem: "cannot be read")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes = hexBytes(text) ?? Array(data)
        guard bytes.count >= 32 else {
            throw SessionKeyError(path: path, problem: "holds \(bytes.count) bytes; at least 32 are needed (e.g. `head -c 32 /dev/urandom | xxd -p -c 64`)")
        }
        return bytes
    }

    /// Reads the key at `path`, first writing a new random one there (mode 0600) if there is none: what
    /// `conductor dev` does in its data folder.
    public static func loadOrCreate(at path: String) throws(SessionKeyError) -> [UInt8] {
        if !FileManager.default.fileExists(atPath: path) {
            let hex = [UInt8].random(count: 32).lowercaseHex + "\n"
            guard FileManager.default.createFile(atPath: path, contents: Data(hex.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw SessionKeyError(path: path, problem: "cannot be created")
            }
        }
        return try load(at: path)
    }

    /// A key for this process alone: sessions then survive neither a restart nor a move to another replica.
    public static func ephemeral() -> [UInt8] { .random(count: 32) }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        guard text.count % 2 == 0, !text.isEmpty else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
