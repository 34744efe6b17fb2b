import ConductorAPI
import KubeClient

/// Keeps the `conductor_tasks{phase}` and `conductor_agents{phase}` gauges equal to the informers' caches, by
/// counting their events: no list is walked per scrape.
enum PhaseGauges {
    /// Follows the task informer until its stream ends.
    static func followTasks(_ events: Informer<TaskResource>.Events) async {
        await follow(events, phase: { $0.status.effectivePhase }, all: TaskPhase.allCases, record: ControllerMetrics.recordTasks)
    }

    /// Follows the agent informer until its stream ends. An agent with no phase yet counts as Unknown.
    static func followAgents(_ events: Informer<Agent>.Events) async {
        await follow(events, phase: { $0.status.phase ?? .unknown }, all: AgentPhase.allCases, record: ControllerMetrics.recordAgents)
    }

    private static func follow<Object: KubeObject, Phase: Hashable>(
        _ events: Informer<Object>.Events, phase: (Object) -> Phase, all: [Phase], record: (Phase, Int) -> Void
    ) async {
        var counts = Dictionary(uniqueKeysWithValues: all.map { ($0, 0) })
        for phase in all { record(phase, 0) }
        for await event in events {
            var changed: [Phase] = []
            switch event {
            case .added(let object):
                changed = [phase(object)]
                counts[changed[0], default: 0] += 1
            case .updated(let old, let new):
                let (before, after) = (phase(old), phase(new))
                guard before != after else { continue }
                counts[before, default: 0] -= 1
                counts[after, default: 0] += 1
                changed = [before, after]
            case .deleted(let object, _):
                changed = [phase(object)]
                counts[changed[0], default: 0] -= 1
            }
            for phase in changed { record(phase, counts[phase] ?? 0) }
        }
    }
}
