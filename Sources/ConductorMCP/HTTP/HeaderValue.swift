import Foundation

/// A 2026-07-28 header value as the client meant it: values that are not plain visible ASCII travel as
/// `=?base64?<standard base64 of the UTF-8>?=`, which is decoded; anything else is taken as it is.
enum HeaderValue {
    static func decoded(_ raw: String) -> String {
        guard raw.hasPrefix("=?base64?"), raw.hasSuffix("?="), raw.count >= "=?base64??=".count else { return raw }
        let payload = String(raw.dropFirst("=?base64?".count).dropLast("?=".count))
        guard let data = Data(base64Encoded: payload), let text = String(data: data, encoding: .utf8) else { return raw }
        return text
    }
}
