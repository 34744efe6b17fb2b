import KubeJSON

/// The opaque `tasks/list` cursor: the name of the last task of the previous page (the list is by name),
/// wrapped so that clients do not take it for a task id.
enum TaskListCursor {
    static func encode(after name: String) -> String {
        Base64URL.encode(JSON.object(["after": .string(name)]).serialized())
    }

    /// The name to list after; -32602 for a cursor this server did not make, as the specification asks.
    static func decode(_ cursor: String) throws(JSONRPCError) -> String {
        guard let bytes = Base64URL.decode(cursor), let json = try? JSON.parse(bytes), let name = json["after"]?.string else {
            throw .invalidParams("invalid cursor \(cursor): pass the nextCursor of the previous page as it was")
        }
        return name
    }
}
