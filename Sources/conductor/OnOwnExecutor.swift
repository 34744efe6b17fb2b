import KubeClient
import ServiceLifecycle

/// A service whose tasks prefer an executor of their own: the child tasks they make, and the Kubernetes client's
/// watch readers (`ClientTaskExecutor`). Other unstructured tasks start without the preference.
struct OnOwnExecutor: Service {
    let executor: any TaskExecutor
    let service: any Service

    func run() async throws {
        try await ClientTaskExecutor.$preferred.withValue(executor) {
            try await withTaskExecutorPreference(executor) { try await service.run() }
        }
    }
}
