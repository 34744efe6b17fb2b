import Foundation
import KubeJSON

/// Kubernetes' protobuf encoding of built-in kinds, as client-go's typed clients and kubectl's typed
/// commands send it (`application/vnd.kubernetes.protobuf`): the magic `k8s\0`, a runtime.Unknown
/// envelope (typeMeta, raw), and the object, read with the field tables of `ProtobufSchemas` into the
/// JSON the same object has. Kinds without a table are refused with 415 and a hint to send JSON.
enum ProtobufBody {
    static let mediaType = "application/vnd.kubernetes.protobuf"
    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]  // "k8s\0"
    /// Deepest nesting of messages read: the deepest table is five levels; more is a malformed body.
    static let maxDepth = 16

    static func decode(_ body: [UInt8], type: ResourceType) throws(APIError) -> JSON {
        // Custom resources have no protobuf form, on the real server either.
        guard !type.isCustom else {
            throw APIError.unsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml")
        }
        return try decode(body, kindLabel: type.kind)
    }

    /// The object of a protobuf body as JSON; `kindLabel` names the expected kind in errors.
    static func decode(_ body: [UInt8], kindLabel: String) throws(APIError) -> JSON {
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
            let schema = kind == "DeleteOptions" ? ProtobufSchemas.deleteOptions : ProtobufSchemas.byKind["\(apiVersion)/\(kind)"]
            guard let schema else {
                throw APIError.unsupportedMediaType(
                    "the body of the request was in an unknown format - accepted media types include: application/json, "
                        + "application/yaml (protobuf is read for the built-in kinds only, not \(kind.isEmpty ? kindLabel : kind))")
            }
            var object: JSONObject = ["kind": .string(kind), "apiVersion": .string(apiVersion)]
            for (key, value) in try message(raw, schema, depth: 0) { object[key] = value }
            return .object(object)
        } catch let error as ProtobufError {
            throw APIError.badRequest("unable to decode the protobuf body: \(error.reason)")
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("unable to decode the protobuf body: \(error)")
        }
    }

    /// One message as JSON members, in the table's order.
    static func message(_ bytes: ArraySlice<UInt8>, _ schema: ProtobufMessage, depth: Int) throws(ProtobufError) -> JSONObject {
        guard depth < maxDepth else { throw ProtobufError(reason: "messages nested deeper than \(maxDepth)") }
        var seen: [Int: [Value]] = [:]
        var reader = Reader(bytes)
        while let (field, value) = try reader.next() { seen[field, default: []].append(value) }
        var object = JSONObject()
        for field in schema.fields {
            let values = seen[field.number] ?? []
            let present = !values.isEmpty
            if field.presence == .ifPresent && !present { continue }
            let decoded = try decodeField(values, field.type, depth: depth)
            switch field.presence {
            case .ifPresent, .always:
                object[field.name] = decoded ?? zero(field.type)
            case .omitEmpty:
                guard let decoded, !isEmpty(decoded) else { continue }
                if field.type.isMap, decoded.object?.isEmpty == true { continue }
                object[field.name] = decoded
            }
        }
        return object
    }

    /// The JSON of one field from its occurrences (the last wins for a singular field), nil if absent.
    private static func decodeField(_ values: [Value], _ type: ProtobufMessage.FieldType, depth: Int) throws(ProtobufError) -> JSON? {
        func text(_ value: Value) -> String? { if case .bytes(let b) = value { return String(decoding: b, as: UTF8.self) }; return nil }
        func bytes(_ value: Value) -> ArraySlice<UInt8>? { if case .bytes(let b) = value { return b }; return nil }
        guard let last = values.last else {
            return nil
        }
        switch type {
        case .string: return text(last).map(JSON.string)
        case .int:
            guard case .varint(let raw) = last else { return nil }
            return .int(Int64(bitPattern: raw))
        case .bool:
            guard case .varint(let raw) = last else { return nil }
            return .bool(raw != 0)
        case .time, .microTime:
            guard let b = bytes(last) else { return nil }
            var seconds: Int64 = 0, nanos: Int64 = 0
            var reader = Reader(b)
            while let (f, v) = try reader.next() {
                if case .varint(let raw) = v {
                    if f == 1 { seconds = Int64(bitPattern: raw) } else if f == 2 { nanos = Int64(bitPattern: raw) }
                }
            }
            if seconds == 0 && nanos == 0 { return .null }
            guard case .microTime = type else { return .string(KubeTimestamp.time(unixSeconds: seconds)) }
            return .string(KubeTimestamp.microTime(unixSeconds: seconds, nanoseconds: nanos))
        case .message(let schema):
            guard let b = bytes(last) else { return nil }
            return .object(try message(b, schema, depth: depth + 1))
        case .repeatedString:
            return .array(values.compactMap(text).map(JSON.string))
        case .repeatedMessage(let schema):
            var items: [JSON] = []
            for value in values {
                guard let b = bytes(value) else { continue }
                items.append(.object(try message(b, schema, depth: depth + 1)))
            }
            return .array(items)
        case .stringMap, .stringListMap, .bytesMap:
            var map = JSONObject()
            for value in values {
                guard let b = bytes(value) else { continue }
                var entry = Reader(b)
                var key = ""
                var item: JSON = type.isStringMap || type.isBytesMap ? "" : .array([])
                while let (f, v) = try entry.next() {
                    guard case .bytes(let eb) = v else { continue }
                    if f == 1 {
                        key = String(decoding: eb, as: UTF8.self)
                    } else if f == 2 {
                        if type.isStringMap {
                            item = .string(String(decoding: eb, as: UTF8.self))
                        } else if type.isBytesMap {
                            item = .string(Data(eb).base64EncodedString())
                        } else {
                            var list = Reader(eb)
                            var items: [JSON] = []
                            while let (lf, lv) = try list.next() {
                                if lf == 1, case .bytes(let lb) = lv { items.append(.string(String(decoding: lb, as: UTF8.self))) }
                            }
                            item = .array(items)
                        }
                    }
                }
                map[key] = item
            }
            return .object(map)
        }
    }

    /// What Go writes for a field without omitempty that the wire leaves out.
    private static func zero(_ type: ProtobufMessage.FieldType) -> JSON {
        switch type {
        case .string: return ""
        case .int: return 0
        case .bool: return false
        case .time, .microTime, .repeatedString, .repeatedMessage, .stringMap, .stringListMap, .bytesMap: return .null
        case .message: return .object([:])
        }
    }

    /// Go's omitempty: false, 0, "", an empty list or map, a zero time (null). A struct is never empty.
    private static func isEmpty(_ value: JSON) -> Bool {
        switch value {
        case .null: return true
        case .bool(let b): return !b
        case .int(let i): return i == 0
        case .string(let s): return s.isEmpty
        case .array(let a): return a.isEmpty
        default: return false
        }
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

extension ProtobufMessage.FieldType {
    var isStringMap: Bool { if case .stringMap = self { return true } else { return false } }
    var isBytesMap: Bool { if case .bytesMap = self { return true } else { return false } }
    var isMap: Bool {
        switch self {
        case .stringMap, .stringListMap, .bytesMap: return true
        default: return false
        }
    }
}
