import Metrics

/// What the client reports through swift-metrics, named as client-go names its own so that dashboards built
/// for Go controllers read ours: `rest_client_request_duration_seconds{verb}`,
/// `rest_client_requests_total{code,method}` (code "<error>" when no answer came) and
/// `watch_restarts_total{resource,reason}`; `informer_undecodable_objects_total{resource}`, objects left out
/// because the model cannot read them; and `informer_held_back_total{resource}`, the times an informer stopped
/// taking in changes until a slow subscriber caught up (`Informer.subscriberBufferLimit`). Without a metrics backend bootstrapped these cost nothing.
enum ClientMetrics {
    static func recordRequest(method: String, status: Int?, duration: Duration) {
        Timer(label: "rest_client_request_duration_seconds", dimensions: [("verb", method)]).record(duration: duration)
        Counter(label: "rest_client_requests_total", dimensions: [("code", status.map(String.init) ?? "<error>"), ("method", method)])
            .increment()
    }

    /// Why a resuming watch opened a new stream.
    enum WatchRestart: String {
        /// The server ended the stream (its timeout) or the connection failed: resumed from the last resourceVersion.
        case resumed
        /// The resourceVersion expired (410): the state was listed again.
        case relisted
    }

    static func recordWatchRestart(resource: String, _ reason: WatchRestart) {
        Counter(label: "watch_restarts_total", dimensions: [("resource", resource), ("reason", reason.rawValue)]).increment()
    }

    /// An object a typed informer left out because its model cannot read it (`UndecodableObject`).
    static func recordUndecodable(resource: String) {
        Counter(label: "informer_undecodable_objects_total", dimensions: [("resource", resource)]).increment()
    }

    /// An informer waited for a subscriber over its buffer limit.
    static func recordHeldBack(resource: String) {
        Counter(label: "informer_held_back_total", dimensions: [("resource", resource)]).increment()
    }
}
