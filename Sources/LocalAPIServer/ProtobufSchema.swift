import Foundation
import KubeJSON

/// How one message of Kubernetes' generated.proto maps onto its JSON: field numbers, JSON names, and
/// when a field appears in the JSON. Go's protobuf marshaller writes every non-pointer field (zero or
/// not), so presence on the wire cannot tell `omitempty` apart; each field says it.
struct ProtobufMessage: Sendable {
    struct Field: Sendable {
        var number: Int
        var name: String
        var type: FieldType
        var presence: Presence
    }

    indirect enum FieldType: Sendable {
        case string, int, bool
        /// metav1.Time (seconds, nanos): RFC 3339 in whole seconds; zero is null.
        case time
        /// metav1.MicroTime: RFC 3339 with microseconds; zero is null.
        case microTime
        case message(ProtobufMessage)
        case repeatedString
        case repeatedMessage(ProtobufMessage)
        /// map<string, string>
        case stringMap
        /// map<string, bytes>: base64 strings in JSON.
        case bytesMap
        /// map<string, ExtraValue>, where ExtraValue is a message holding `repeated string items = 1`.
        case stringListMap
    }

    enum Presence: Sendable {
        /// `json:",omitempty"`: left out when zero or empty.
        case omitEmpty
        /// No omitempty: written even when zero (an empty list or zero time as null).
        case always
        /// A pointer (`*T`): written when the wire carries it, zero or not.
        case ifPresent
    }

    var fields: [Field]

    init(_ fields: [Field]) { self.fields = fields }

    static func f(_ number: Int, _ name: String, _ type: FieldType, _ presence: Presence = .omitEmpty) -> Field {
        Field(number: number, name: name, type: type, presence: presence)
    }
}

/// The messages of the built-in kinds the server reads as protobuf, keyed by API version and kind.
enum ProtobufSchemas {
    typealias M = ProtobufMessage

    static let ownerReference = M([
        M.f(5, "apiVersion", .string, .always), M.f(1, "kind", .string, .always), M.f(3, "name", .string, .always),
        M.f(4, "uid", .string, .always), M.f(6, "controller", .bool, .ifPresent), M.f(7, "blockOwnerDeletion", .bool, .ifPresent),
    ])
    static let objectMeta = M([
        M.f(1, "name", .string), M.f(2, "generateName", .string), M.f(3, "namespace", .string), M.f(4, "selfLink", .string),
        M.f(5, "uid", .string), M.f(6, "resourceVersion", .string), M.f(7, "generation", .int),
        M.f(8, "creationTimestamp", .time), M.f(9, "deletionTimestamp", .time, .ifPresent),
        M.f(10, "deletionGracePeriodSeconds", .int, .ifPresent), M.f(11, "labels", .stringMap),
        M.f(12, "annotations", .stringMap), M.f(13, "ownerReferences", .repeatedMessage(ownerReference)),
        M.f(14, "finalizers", .repeatedString),
    ])
    static let objectReference = M([
        M.f(1, "kind", .string), M.f(2, "namespace", .string), M.f(3, "name", .string), M.f(4, "uid", .string),
        M.f(5, "apiVersion", .string), M.f(6, "resourceVersion", .string), M.f(7, "fieldPath", .string),
    ])
    static let userInfo = M([
        M.f(1, "username", .string), M.f(2, "uid", .string), M.f(3, "groups", .repeatedString), M.f(4, "extra", .stringListMap),
    ])
    static let labelSelector = M([
        M.f(1, "matchLabels", .stringMap),
        M.f(2, "matchExpressions", .repeatedMessage(M([
            M.f(1, "key", .string, .always), M.f(2, "operator", .string, .always), M.f(3, "values", .repeatedString),
        ]))),
    ])

    // core/v1
    static let namespace = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "spec", .message(M([M.f(1, "finalizers", .repeatedString)]))),
        M.f(3, "status", .message(M([M.f(1, "phase", .string)]))),
    ])
    static let serviceAccount = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "secrets", .repeatedMessage(objectReference)),
        M.f(3, "imagePullSecrets", .repeatedMessage(M([M.f(1, "name", .string)]))),
        M.f(4, "automountServiceAccountToken", .bool, .ifPresent),
    ])
    static let configMap = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "data", .stringMap), M.f(3, "binaryData", .bytesMap),
        M.f(4, "immutable", .bool, .ifPresent),
    ])
    static let secret = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "data", .bytesMap), M.f(3, "type", .string),
        M.f(4, "stringData", .stringMap), M.f(5, "immutable", .bool, .ifPresent),
    ])
    static let eventSource = M([M.f(1, "component", .string), M.f(2, "host", .string)])
    static let eventSeries = M([M.f(1, "count", .int), M.f(2, "lastObservedTime", .microTime, .always)])
    static let coreEvent = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "involvedObject", .message(objectReference)),
        M.f(3, "reason", .string), M.f(4, "message", .string), M.f(5, "source", .message(eventSource)),
        M.f(6, "firstTimestamp", .time, .always), M.f(7, "lastTimestamp", .time, .always), M.f(8, "count", .int),
        M.f(9, "type", .string), M.f(10, "eventTime", .microTime, .always), M.f(11, "series", .message(eventSeries)),
        M.f(12, "action", .string), M.f(13, "related", .message(objectReference)),
        M.f(14, "reportingComponent", .string, .always), M.f(15, "reportingInstance", .string, .always),
    ])

    // events.k8s.io/v1
    static let event = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "eventTime", .microTime, .always), M.f(3, "series", .message(eventSeries)),
        M.f(4, "reportingController", .string), M.f(5, "reportingInstance", .string), M.f(6, "action", .string),
        M.f(7, "reason", .string), M.f(8, "regarding", .message(objectReference)), M.f(9, "related", .message(objectReference)),
        M.f(10, "note", .string), M.f(11, "type", .string), M.f(12, "deprecatedSource", .message(eventSource)),
        M.f(13, "deprecatedFirstTimestamp", .time, .always), M.f(14, "deprecatedLastTimestamp", .time, .always),
        M.f(15, "deprecatedCount", .int),
    ])

    // coordination.k8s.io/v1
    static let lease = M([
        M.f(1, "metadata", .message(objectMeta)),
        M.f(2, "spec", .message(M([
            M.f(1, "holderIdentity", .string, .ifPresent), M.f(2, "leaseDurationSeconds", .int, .ifPresent),
            M.f(3, "acquireTime", .microTime, .ifPresent), M.f(4, "renewTime", .microTime, .ifPresent),
            M.f(5, "leaseTransitions", .int, .ifPresent), M.f(6, "strategy", .string, .ifPresent),
            M.f(7, "preferredHolder", .string, .ifPresent),
        ]))),
    ])

    // authentication.k8s.io/v1
    static let tokenRequest = M([
        M.f(1, "metadata", .message(objectMeta)),
        M.f(2, "spec", .message(M([
            M.f(1, "audiences", .repeatedString, .always), M.f(4, "expirationSeconds", .int, .ifPresent),
            M.f(3, "boundObjectRef", .message(M([
                M.f(1, "kind", .string), M.f(2, "apiVersion", .string), M.f(3, "name", .string), M.f(4, "uid", .string),
            ]))),
        ]))),
        M.f(3, "status", .message(M([M.f(1, "token", .string, .always), M.f(2, "expirationTimestamp", .time, .always)]))),
    ])
    static let tokenReview = M([
        M.f(1, "metadata", .message(objectMeta)),
        M.f(2, "spec", .message(M([M.f(1, "token", .string), M.f(2, "audiences", .repeatedString)]))),
        M.f(3, "status", .message(M([
            M.f(1, "authenticated", .bool), M.f(2, "user", .message(userInfo)), M.f(4, "audiences", .repeatedString),
            M.f(3, "error", .string),
        ]))),
    ])
    static let selfSubjectReview = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "status", .message(M([M.f(1, "userInfo", .message(userInfo))]))),
    ])

    // authorization.k8s.io/v1
    static let fieldSelectorAttributes = M([
        M.f(1, "rawSelector", .string),
        M.f(2, "requirements", .repeatedMessage(M([
            M.f(1, "key", .string, .always), M.f(2, "operator", .string, .always), M.f(3, "values", .repeatedString),
        ]))),
    ])
    static let resourceAttributes = M([
        M.f(1, "namespace", .string), M.f(2, "verb", .string), M.f(3, "group", .string), M.f(4, "version", .string),
        M.f(5, "resource", .string), M.f(6, "subresource", .string), M.f(7, "name", .string),
        M.f(8, "fieldSelector", .message(fieldSelectorAttributes)), M.f(9, "labelSelector", .message(fieldSelectorAttributes)),
    ])
    static let nonResourceAttributes = M([M.f(1, "path", .string), M.f(2, "verb", .string)])
    static let accessReviewStatus = M([
        M.f(1, "allowed", .bool, .always), M.f(4, "denied", .bool), M.f(2, "reason", .string), M.f(3, "evaluationError", .string),
    ])
    static let subjectAccessReview = M([
        M.f(1, "metadata", .message(objectMeta)),
        M.f(2, "spec", .message(M([
            M.f(1, "resourceAttributes", .message(resourceAttributes)),
            M.f(2, "nonResourceAttributes", .message(nonResourceAttributes)), M.f(3, "user", .string),
            M.f(4, "groups", .repeatedString), M.f(5, "extra", .stringListMap), M.f(6, "uid", .string),
        ]))),
        M.f(3, "status", .message(accessReviewStatus)),
    ])
    static let selfSubjectAccessReview = M([
        M.f(1, "metadata", .message(objectMeta)),
        M.f(2, "spec", .message(M([
            M.f(1, "resourceAttributes", .message(resourceAttributes)),
            M.f(2, "nonResourceAttributes", .message(nonResourceAttributes)),
        ]))),
        M.f(3, "status", .message(accessReviewStatus)),
    ])

    static let selfSubjectRulesReview = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "spec", .message(M([M.f(1, "namespace", .string)]))),
        M.f(3, "status", .message(M([
            M.f(1, "resourceRules", .repeatedMessage(M([
                M.f(1, "verbs", .repeatedString, .always), M.f(2, "apiGroups", .repeatedString),
                M.f(3, "resources", .repeatedString), M.f(4, "resourceNames", .repeatedString),
            ])), .always),
            M.f(2, "nonResourceRules", .repeatedMessage(M([
                M.f(1, "verbs", .repeatedString, .always), M.f(2, "nonResourceURLs", .repeatedString),
            ])), .always),
            M.f(3, "incomplete", .bool, .always), M.f(4, "evaluationError", .string),
        ]))),
    ])

    // rbac.authorization.k8s.io/v1
    static let policyRule = M([
        M.f(1, "verbs", .repeatedString, .always), M.f(2, "apiGroups", .repeatedString), M.f(3, "resources", .repeatedString),
        M.f(4, "resourceNames", .repeatedString), M.f(5, "nonResourceURLs", .repeatedString),
    ])
    static let role = M([M.f(1, "metadata", .message(objectMeta)), M.f(2, "rules", .repeatedMessage(policyRule), .always)])
    static let clusterRole = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "rules", .repeatedMessage(policyRule), .always),
        M.f(3, "aggregationRule", .message(M([M.f(1, "clusterRoleSelectors", .repeatedMessage(labelSelector))]))),
    ])
    static let subject = M([
        M.f(1, "kind", .string, .always), M.f(2, "apiGroup", .string), M.f(3, "name", .string, .always),
        M.f(4, "namespace", .string),
    ])
    static let roleRef = M([M.f(1, "apiGroup", .string, .always), M.f(2, "kind", .string, .always), M.f(3, "name", .string, .always)])
    static let binding = M([
        M.f(1, "metadata", .message(objectMeta)), M.f(2, "subjects", .repeatedMessage(subject)),
        M.f(3, "roleRef", .message(roleRef)),
    ])

    // meta/v1 DeleteOptions (any group's version: client-go sends it under the resource's own)
    static let deleteOptions = M([
        M.f(1, "gracePeriodSeconds", .int, .ifPresent),
        M.f(2, "preconditions", .message(M([M.f(1, "uid", .string, .ifPresent), M.f(2, "resourceVersion", .string, .ifPresent)]))),
        M.f(3, "orphanDependents", .bool, .ifPresent), M.f(4, "propagationPolicy", .string, .ifPresent),
        M.f(5, "dryRun", .repeatedString), M.f(6, "ignoreStoreReadErrorWithClusterBreakingPotential", .bool, .ifPresent),
    ])

    /// The message of each kind, by `apiVersion/kind`.
    static let byKind: [String: ProtobufMessage] = [
        "v1/Namespace": namespace, "v1/ServiceAccount": serviceAccount, "v1/Event": coreEvent,
        "v1/ConfigMap": configMap, "v1/Secret": secret,
        "events.k8s.io/v1/Event": event, "coordination.k8s.io/v1/Lease": lease,
        "authentication.k8s.io/v1/TokenRequest": tokenRequest, "authentication.k8s.io/v1/TokenReview": tokenReview,
        "authentication.k8s.io/v1/SelfSubjectReview": selfSubjectReview,
        "authorization.k8s.io/v1/SubjectAccessReview": subjectAccessReview,
        "authorization.k8s.io/v1/LocalSubjectAccessReview": subjectAccessReview,
        "authorization.k8s.io/v1/SelfSubjectAccessReview": selfSubjectAccessReview,
        "authorization.k8s.io/v1/SelfSubjectRulesReview": selfSubjectRulesReview,
        "rbac.authorization.k8s.io/v1/Role": role, "rbac.authorization.k8s.io/v1/ClusterRole": clusterRole,
        "rbac.authorization.k8s.io/v1/RoleBinding": binding, "rbac.authorization.k8s.io/v1/ClusterRoleBinding": binding,
    ]
}
