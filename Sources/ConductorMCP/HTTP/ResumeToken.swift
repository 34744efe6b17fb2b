import KubeJSON

/// What a tools/call's SSE stream id carries, so that a client whose stream broke (its replica died, a proxy
/// cut it) can resume with GET and Last-Event-ID on any replica: the task's name (known before the task
/// exists: `TaskSubmitter.derivedName`), the JSON-RPC id to answer with, and the progress token. Not signed:
/// it names a task the caller must still be allowed to get, and answers what conductor_get would.
struct ResumeToken: Sendable, Equatable {
    var task: String
    var request: JSONRPCID
    var progressToken: JSON?
    /// Makes stream ids unique within a session even for the same task.
    var salt: String

    /// The stream id: `c` and the token in base64url (event ids append `-<n>`).
    var streamID: String {
        var object: JSONObject = ["t": .string(task), "i": request.json, "s": .string(salt)]
        if let progressToken { object["p"] = progressToken }
        return "c" + Base64URL.encode(JSON.object(object).serialized())
    }

    /// The token and the sequence number of a Last-Event-ID; nil for ids of other streams.
    static func parse(lastEventID: String) -> (token: ResumeToken, sequence: Int)? {
        guard lastEventID.hasPrefix("c"), let dash = lastEventID.lastIndex(of: "-"),
              let sequence = Int(lastEventID[lastEventID.index(after: dash)...]) else { return nil }
        let encoded = String(lastEventID[lastEventID.index(after: lastEventID.startIndex)..<dash])
        guard let bytes = Base64URL.decode(encoded), let json = try? JSON.parse(bytes), let task = json["t"]?.string,
              let request = json["i"].flatMap(JSONRPCID.init), let salt = json["s"]?.string else { return nil }
        return (ResumeToken(task: task, request: request, progressToken: json["p"], salt: salt), sequence)
    }
}
