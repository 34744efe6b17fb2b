import KubeJSON

/// The little of Kubernetes' protobuf encoding the server reads: kubectl's typed commands (such as
/// `kubectl create namespace`) send built-in objects as `application/vnd.kubernetes.protobuf`.
/// Namespaces are decoded (metadata and spec); other kinds are refused with 415 and a hint to send JSON.
enum ProtobufBody {
    static let mediaType = "application/vnd.kubernetes.protobuf"
    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]  // "k8s\0"

    static func decode(_ body: [UInt8], type: ResourceType) throws(APIError) -> JSON {
        guard type.storageKey == ResourceType.namespaces.storageKey else {
            throw APIError.unsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: application/json, "
                    + "application/yaml (protobuf is read for namespaces only)")
        }
        guard body.count > 4, Array(body.prefix(4)) == magic else {
            throw APIError.badRequest("provided object is not a Kubernetes protobuf envelope")
        }
        do {
            var envelope = Reader(body[4...])
            var raw: ArraySlice<UInt8> = []
            var apiVersion = "", kind = ""
            while let (field, value) = try envelope.next() {
                switch (field, value) {
                case (1, .bytes(let typeMeta)):
                    var reader = Reader(typeMeta)
                    while let (f, v) = try reader.next() {
                        if f == 1, case .bytes(let b) = v { apiVersion = String(decoding: b, as: UTF8.self) }
                        if f == 2, case .bytes(let b) = v { kind = String(decoding: b, as: UTF8.self) }
                    }
                case (2, .bytes(let bytes)): raw = bytes
                default: break
                }
            }
            var object: JSONObject = ["apiVersion": .string(apiVersion), "kind": .string(kind)]
            var reader = Reader(raw)
            while let (field, value) = try reader.next() {
                guard case .bytes(let bytes) = value else { continue }
                switch field {
                case 1: object["metadata"] = try objectMeta(bytes)
                case 2:
                    var spec = Reader(bytes)
                    var finalizers: [JSON] = []
                    while let (f, v) = try spec.next() {
                        if f == 1, case .bytes(let b) = v { finalizers.append(.string(String(decoding: b, as: UTF8.self))) }
                    }
                    if !finalizers.isEmpty { object["spec"] = ["finalizers": .array(finalizers)] }
                default: break
                }
            }
            return .object(object)
        } catch {
            throw APIError.badRequest("unable to decode the protobuf body: \(error.reason)")
        }
    }

    private static func objectMeta(_ bytes: ArraySlice<UInt8>) throws(ProtobufError) -> JSON {
        var metadata = JSONObject()
        var reader = Reader(bytes)
        var labels = JSONObject(), annotations = JSONObject()
        var finalizers: [JSON] = []
        while let (field, value) = try reader.next() {
            guard case .bytes(let b) = value else { continue }
            let text = String(decoding: b, as: UTF8.self)
            switch field {
            case 1: metadata["name"] = .string(text)
            case 2: metadata["generateName"] = .string(text)
            case 3: metadata["namespace"] = .string(text)
            case 11, 12:
                var entry = Reader(b)
                var key = "", entryValue = ""
                while let (f, v) = try entry.next() {
                    if case .bytes(let eb) = v {
                        if f == 1 { key = String(decoding: eb, as: UTF8.self) } else if f == 2 { entryValue = String(decoding: eb, as: UTF8.self) }
                    }
                }
                if field == 11 { labels[key] = .string(entryValue) } else { annotations[key] = .string(entryValue) }
            case 14: finalizers.append(.string(text))
            default: break
            }
        }
        if !labels.isEmpty { metadata["labels"] = .object(labels) }
        if !annotations.isEmpty { metadata["annotations"] = .object(annotations) }
        if !finalizers.isEmpty { metadata["finalizers"] = .array(finalizers) }
        return .object(metadata)
    }

    struct ProtobufError: Error { var reason: String }

    enum Value { case varint(UInt64), bytes(ArraySlice<UInt8>), fixed }

    /// Reads protobuf wire-format fields one at a time.
    struct Reader {
        var bytes: ArraySlice<UInt8>

        init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

        mutating func varint() throws(ProtobufError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while let byte = bytes.popFirst() {
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
                if shift > 63 { throw ProtobufError(reason: "varint too long") }
            }
            throw ProtobufError(reason: "truncated varint")
        }

        mutating func next() throws(ProtobufError) -> (Int, Value)? {
            guard !bytes.isEmpty else { return nil }
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: return (field, .varint(try varint()))
            case 1:
                guard bytes.count >= 8 else { throw ProtobufError(reason: "truncated fixed64") }
                bytes.removeFirst(8)
                return (field, .fixed)
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.count) else { throw ProtobufError(reason: "truncated field \(field)") }
                let value = bytes.prefix(Int(length))
                bytes.removeFirst(Int(length))
                return (field, .bytes(value))
            case 5:
                guard bytes.count >= 4 else { throw ProtobufError(reason: "truncated fixed32") }
                bytes.removeFirst(4)
                return (field, .fixed)
            default:
                throw ProtobufError(reason: "unsupported wire type \(key & 7)")
            }
        }
    }
}
