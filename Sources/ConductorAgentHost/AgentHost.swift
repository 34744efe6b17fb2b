import ConductorAPI
import ConductorAgent
import Foundation
import KubeJSON
import Logging

/// What `conductor agent` runs around the agent runtime: one executor per capability, each attempt routed to
/// its capability's executor with a deadline (the task's, or the capability's timeout if earlier), and
/// counted in the metrics.
public struct AgentHost: Sendable {
    public let settings: AgentSettings
    let executors: [String: (capability: CapabilityConfiguration, executor: any TaskExecutor)]
    let metrics = AgentMetrics()
    let logger: Logger

    public init(settings: AgentSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        var executors: [String: (CapabilityConfiguration, any TaskExecutor)] = [:]
        for capability in settings.capabilities {
            switch capability.executor {
            case .command(let command):
                executors[capability.name] = (capability, CommandExecutor(configuration: command, agentName: settings.name, logger: logger))
            case .http(let http):
                executors[capability.name] = (capability, HTTPExecutor(configuration: http, agentName: settings.name))
            }
        }
        self.executors = executors
    }

    /// The runtime's handler.
    public var handler: ProgressingTaskHandler {
        { task, progress in try await self.run(task, progress: progress) }
    }

    func run(_ task: TaskResource, progress: ProgressReporter) async throws -> JSON {
        // A task requires one or more capabilities; the first this agent has an executor for runs it.
        guard let name = task.spec.requiredCapabilities.first(where: { executors[$0] != nil }) ?? (task.spec.requiredCapabilities.isEmpty ? settings.capabilities.first?.name : nil),
              let (capability, executor) = executors[name] else {
            throw NoExecutorError(task: task.key, required: task.spec.requiredCapabilities)
        }
        let request = ExecutionRequest(task: task, capability: name, deadline: nil, deadlineOrigin: "")
        let timed = Self.deadline(for: request, timeoutSeconds: capability.timeoutSeconds, now: .now, wallNow: Timestamp(Date()))
        let started = ContinuousClock.now
        metrics.started(name)
        var logger = logger
        logger[metadataKey: "task"] = "\(task.key)"
        logger[metadataKey: "attempt"] = "\(request.attempt)"
        do {
            let result = try await executor.execute(timed, progress: progress)
            do throws(SizeLimitError) {
                try Limits.checkResult(result)
            } catch {
                throw ExecutionError.resultTooLarge(what: "the result", limit: error.limit)
            }
            metrics.ended(name, after: ContinuousClock.now - started, failure: nil, cancelled: false)
            logger.info("attempt completed", metadata: ["capability": "\(name)"])
            return result
        } catch {
            let cancelled = error is CancellationError || Task.isCancelled
            let reason = (error as? any ReasonedFailure)?.failureReason ?? .executionFailed
            metrics.ended(name, after: ContinuousClock.now - started, failure: reason, cancelled: cancelled)
            if cancelled {
                logger.info("attempt cancelled", metadata: ["capability": "\(name)"])
            } else {
                logger.info("attempt failed", metadata: ["capability": "\(name)", "reason": "\(reason.rawValue)", "error": "\(error)"])
            }
            throw error
        }
    }

    /// The request with its deadline: the earlier of the task's deadline and the capability's timeout.
    static func deadline(for request: ExecutionRequest, timeoutSeconds: Double?, now: ContinuousClock.Instant,
                         wallNow: Timestamp) -> ExecutionRequest {
        var request = request
        var candidates: [(ContinuousClock.Instant, String)] = []
        if let deadline = request.task.spec.deadline {
            candidates.append((now + wallNow.duration(to: deadline), ExecutionError.taskDeadline))
        }
        if let timeoutSeconds {
            candidates.append((now + .seconds(timeoutSeconds), "the capability's timeout of \(timeoutSeconds)s"))
        }
        if let earliest = candidates.min(by: { $0.0 < $1.0 }) {
            request.deadline = earliest.0
            request.deadlineOrigin = earliest.1
        }
        return request
    }
}

/// A task whose capabilities this agent has no executor for (it was assigned by its capabilities, so the
/// configuration changed under it).
struct NoExecutorError: Error, CustomStringConvertible {
    var task: String
    var required: [String]
    var description: String { "task \(task) requires \(required.joined(separator: ", ")), and this agent has no executor for any of them" }
}
