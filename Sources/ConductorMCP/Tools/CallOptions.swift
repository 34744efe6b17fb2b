import ConductorAPI
import Foundation
import KubeJSON

/// How a tool call's Task is to be run, beyond its capability and payload: from a capability tool call's
/// `_meta` (keys `mcp.io/priority` and so on) or from `conductor_submit`'s arguments (the same names without
/// the prefix).
struct CallOptions: Sendable, Equatable {
    var priority: Int?
    var deadline: Timestamp?
    var idempotencyKey: String?
    var affinity: TaskAffinity?
    var retryPolicy: RetryPolicy?

    /// The `_meta` keys, without their prefix. `timeoutSeconds` sets the deadline relative to now.
    static let keys = ["priority", "deadline", "timeoutSeconds", "idempotencyKey", "affinity", "retryPolicy"]
    static let metaPrefix = "mcp.io/"

    /// Reads the options under `prefix` in `object`; throws a message naming the bad key.
    static func parse(_ object: JSONObject, prefix: String, now: Date = Date()) throws(JSONRPCError) -> CallOptions {
        var options = CallOptions()
        func key(_ name: String) -> String { prefix + name }
        if let value = object[key("priority")] {
            guard let priority = value.int, Defaults.priorityRange.contains(Int(priority)) else {
                throw .invalidParams("\(key("priority")) must be an integer from \(Defaults.priorityRange.lowerBound) to \(Defaults.priorityRange.upperBound), got \(value.text)")
            }
            options.priority = Int(priority)
        }
        if let value = object[key("deadline")] {
            guard let text = value.string, let deadline = try? Timestamp(rfc3339: text) else {
                throw .invalidParams("\(key("deadline")) must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got \(value.text)")
            }
            options.deadline = deadline
        }
        if let value = object[key("timeoutSeconds")] {
            guard let seconds = value.double, seconds > 0, seconds < 366 * 86_400 else {
                throw .invalidParams("\(key("timeoutSeconds")) must be a positive number of seconds, got \(value.text)")
            }
            let relative = Timestamp(now.addingTimeInterval(seconds))
            options.deadline = options.deadline.map { min($0, relative) } ?? relative
        }
        if let value = object[key("idempotencyKey")] {
            guard let text = value.string, (1...253).contains(text.utf8.count) else {
                throw .invalidParams("\(key("idempotencyKey")) must be a string of 1 to 253 bytes, got \(value.text)")
            }
            options.idempotencyKey = text
        }
        if let value = object[key("affinity")] {
            guard case .object(let members) = value else {
                throw .invalidParams("\(key("affinity")) must be an object with required, preferred and avoided tag lists")
            }
            func tags(_ name: String) throws(JSONRPCError) -> [String] {
                guard let list = members[name] else { return [] }
                guard let tags = list.array?.compactMap(\.string), tags.count == list.array?.count else {
                    throw .invalidParams("\(key("affinity")).\(name) must be a list of tag strings")
                }
                return tags
            }
            options.affinity = TaskAffinity(required: try tags("required"), preferred: try tags("preferred"), avoided: try tags("avoided"))
        }
        if let value = object[key("retryPolicy")] {
            guard case .object(let members) = value else {
                throw .invalidParams("\(key("retryPolicy")) must be an object with maxRetries and backoffStrategy")
            }
            var policy = RetryPolicy()
            if let retries = members["maxRetries"] {
                guard let count = retries.int, count >= 0 else {
                    throw .invalidParams("\(key("retryPolicy")).maxRetries must be an integer of 0 or more")
                }
                policy.maxRetries = Int(count)
            }
            if let strategy = members["backoffStrategy"] {
                guard let parsed = strategy.string.flatMap(BackoffStrategy.init(rawValue:)) else {
                    throw .invalidParams("\(key("retryPolicy")).backoffStrategy must be linear or exponential")
                }
                policy.backoffStrategy = parsed
            }
            options.retryPolicy = policy
        }
        return options
    }
}
