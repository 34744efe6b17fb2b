import ConductorAPI
import KubeClient

/// Keeps `conductor_capability_tasks_waiting`, `conductor_capability_tasks_running` and
/// `conductor_capability_free_slots` (each by `capability`) equal to the informers' caches. Every replica
/// exports the same figures, leader or not: an autoscaler's query takes their `max`, not their sum.
actor CapabilityGauges {
    private var load = CapabilityLoad()

    /// Follows both informers until their streams end.
    func follow(tasks: Informer<TaskResource>.Events, agents: Informer<Agent>.Events) async {
        await withDiscardingTaskGroup { group in
            group.addTask { for await event in tasks { await self.take(event) } }
            group.addTask { for await event in agents { await self.take(event) } }
        }
    }

    private func take(_ event: InformerEvent<TaskResource>) {
        publish(load.apply(event))
    }

    private func take(_ event: InformerEvent<Agent>) {
        publish(load.apply(event))
    }

    private func publish(_ capabilities: Set<String>) {
        for capability in capabilities {
            ControllerMetrics.recordCapability(capability, load.figures(for: capability))
        }
    }
}
