import Foundation
import KubeJSON
import Logging

/// One JSON object per line on standard error: what log collectors in a cluster read. Keys sorted; the time in UTC
/// to the microsecond, written by the project's one timestamp formatter.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [
            "time": KubeTimestamp.microTime(Date()), "level": event.level.rawValue, "logger": label,
            "msg": event.message.description,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = value.description }
        var line = JSON.object(JSONObject(uniqueKeysWithValues: fields.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }))
            .serialized()
        line.append(0x0A)
        FileHandle.standardError.write(Data(line))
    }
}
