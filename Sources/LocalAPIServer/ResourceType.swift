import KubeSchema
import KubeJSON

/// A column of `kubectl get`, from a CRD's additionalPrinterColumns.
public struct PrinterColumn: Sendable {
    public var name: String
    public var type: String
    public var format: String
    public var description: String
    public var priority: Int
    public var jsonPath: String
}

/// Everything the server needs to know to serve one resource in one version: its names, scope,
/// schema and subresources. Built-in resources are described in code; custom ones come from CRDs.
public struct ResourceType: Sendable {
    public var group: String
    public var version: String
    public var plural: String
    public var singular: String
    public var kind: String
    public var listKind: String
    public var namespaced: Bool
    public var shortNames: [String] = []
    public var categories: [String] = []
    /// The structural schema of a custom resource; built-in resources have none.
    public var schema: StructuralSchema?
    /// The openAPIV3Schema a CRD gave, for the OpenAPI documents kubectl reads.
    public var openAPISchema: JSON?
    public var hasStatusSubresource: Bool
    /// Extra subresources of built-in types that the server accepts as plain updates (such as namespaces/finalize).
    public var extraSubresources: [String] = []
    public var printerColumns: [PrinterColumn] = []
    /// Field-selector labels besides metadata.name and metadata.namespace, without the leading dot.
    public var selectableFields: [String] = []
    public var isCustom: Bool
    /// Whether an update may omit metadata.resourceVersion. Custom resources demand it.
    public var allowsUnconditionalUpdate: Bool
    /// Whether a delete answers with the object rather than a Status.
    public var deleteReturnsObject: Bool = false
    /// The revision this resource's watchable history begins at: for a custom resource, when its
    /// CRD was first served by this process (its creation, or its last change before a restart).
    public var historyOrigin: Int64 = 0
    /// The storageVersionHash discovery reports: a stable digest of group, version and kind.
    public var storageVersionHash: String = ""
    /// Set for kinds that are not stored but answered at once (TokenReview, SubjectAccessReview...):
    /// the only verb is create, and the server's answer is the request with its status filled in.
    public var isReview: Bool = false
    /// Subresources that are actions rather than views of the object (serviceaccounts/token): each
    /// takes a create of another kind.
    public var actionSubresources: [ActionSubresource] = []

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var groupVersion: String { apiVersion }
    /// `tasks.mcp.io`, or `namespaces` for the core group: how messages name the resource.
    public var groupResource: String { group.isEmpty ? plural : "\(plural).\(group)" }
    /// `Task.mcp.io`, or `Namespace` for the core group.
    public var groupKind: String { group.isEmpty ? kind : "\(kind).\(group)" }
    /// Set when the resource is kept in another resource's storage, in that resource's shape.
    var storedAs: StoredShape?

    /// The key that identifies the resource in storage, the same for every version.
    public var storageKey: String { storedAs?.storageKey ?? "\(group)/\(plural)" }

    public var subresources: [String] {
        (hasStatusSubresource ? ["status"] : []) + extraSubresources + actionSubresources.map(\.name)
    }

    /// The verbs discovery lists, in the order the real server lists them (its CRD handler and its
    /// built-in registries differ).
    public var verbs: [String] {
        if isReview { return ["create"] }
        return isCustom
            ? ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
            : ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    }

    /// The field-selector labels this resource supports.
    public var fieldLabels: [String] {
        var labels = ["metadata.name"]
        if namespaced { labels.append("metadata.namespace") }
        return labels + selectableFields
    }
}

extension ResourceType {
    static let namespaces = ResourceType(
        group: "", version: "v1", plural: "namespaces", singular: "namespace", kind: "Namespace",
        listKind: "NamespaceList", namespaced: false, shortNames: ["ns"], hasStatusSubresource: true,
        extraSubresources: ["finalize"], selectableFields: ["status.phase"], isCustom: false,
        allowsUnconditionalUpdate: true, deleteReturnsObject: true, storageVersionHash: "Q3oi5N2YM8M=")

    static let coreEvents = ResourceType(
        group: "", version: "v1", plural: "events", singular: "event", kind: "Event", listKind: "EventList",
        namespaced: true, shortNames: ["ev"], hasStatusSubresource: false,
        selectableFields: [
            "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
            "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
            "reportingComponent", "source", "type",
        ], isCustom: false, allowsUnconditionalUpdate: true, storageVersionHash: "r2yiGXH7wu8=")

    static let events = ResourceType(
        group: "events.k8s.io", version: "v1", plural: "events", singular: "event", kind: "Event",
        listKind: "EventList", namespaced: true, shortNames: ["ev"], hasStatusSubresource: false,
        selectableFields: ["regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason", "type"],
        isCustom: false, allowsUnconditionalUpdate: true, storageVersionHash: "r2yiGXH7wu8=",
        storedAs: StoredShape(storageKey: coreEvents.storageKey, fromStorage: EventShapes.eventsV1, toStorage: EventShapes.coreV1))

    static let leases = ResourceType(
        group: "coordination.k8s.io", version: "v1", plural: "leases", singular: "lease", kind: "Lease",
        listKind: "LeaseList", namespaced: true, hasStatusSubresource: false, isCustom: false,
        allowsUnconditionalUpdate: true, storageVersionHash: "gqkMMb/YqFM=")

    static let customResourceDefinitions = ResourceType(
        group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions",
        singular: "customresourcedefinition", kind: "CustomResourceDefinition",
        listKind: "CustomResourceDefinitionList", namespaced: false, shortNames: ["crd", "crds"],
        categories: ["api-extensions"], hasStatusSubresource: true, isCustom: false,
        allowsUnconditionalUpdate: true, storageVersionHash: "jfWCUB31mvA=")

    static let serviceAccounts = ResourceType(
        group: "", version: "v1", plural: "serviceaccounts", singular: "serviceaccount", kind: "ServiceAccount",
        listKind: "ServiceAccountList", namespaced: true, shortNames: ["sa"], hasStatusSubresource: false, isCustom: false,
        allowsUnconditionalUpdate: true, storageVersionHash: "pbx9ZvyFpBE=",
        actionSubresources: [ActionSubresource(name: "token", group: "authentication.k8s.io", version: "v1", kind: "TokenRequest")])

    static func rbac(_ plural: String, _ kind: String, namespaced: Bool, hash: String) -> ResourceType {
        ResourceType(
            group: "rbac.authorization.k8s.io", version: "v1", plural: plural, singular: plural.lowercased().dropLast().description,
            kind: kind, listKind: kind + "List", namespaced: namespaced, hasStatusSubresource: false, isCustom: false,
            allowsUnconditionalUpdate: true, storageVersionHash: hash)
    }

    static let roles = rbac("roles", "Role", namespaced: true, hash: "7FuwZcIIItM=")
    static let clusterRoles = rbac("clusterroles", "ClusterRole", namespaced: false, hash: "bYE5ZWDrJ44=")
    static let roleBindings = rbac("rolebindings", "RoleBinding", namespaced: true, hash: "eGsCzGH6b1g=")
    static let clusterRoleBindings = rbac("clusterrolebindings", "ClusterRoleBinding", namespaced: false, hash: "48tpQ8gZHFc=")

    static func review(_ group: String, _ plural: String, _ kind: String, namespaced: Bool = false) -> ResourceType {
        ResourceType(
            group: group, version: "v1", plural: plural, singular: plural.dropLast().description, kind: kind,
            listKind: kind + "List", namespaced: namespaced, hasStatusSubresource: false, isCustom: false,
            allowsUnconditionalUpdate: false, isReview: true)
    }

    static let tokenReviews = review("authentication.k8s.io", "tokenreviews", "TokenReview")
    static let selfSubjectReviews = review("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview")
    static let subjectAccessReviews = review("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview")
    static let selfSubjectAccessReviews = review("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview")
    static let selfSubjectRulesReviews = review("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview")
    static let localSubjectAccessReviews = review(
        "authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview", namespaced: true)

    // Stored and served, never acted on: no controller rolls a Deployment out or gives a Service endpoints, and
    // no admission policy is enforced. They are here so that a whole install (`kubectl apply -k deploy/`)
    // applies to the local server as it does to a cluster.
    static func stored(_ group: String, _ plural: String, _ kind: String, namespaced: Bool = true, shortNames: [String] = [],
                       categories: [String] = [], status: Bool = false, hash: String) -> ResourceType {
        ResourceType(
            group: group, version: "v1", plural: plural, singular: kind.lowercased(), kind: kind, listKind: kind + "List",
            namespaced: namespaced, shortNames: shortNames, categories: categories, hasStatusSubresource: status,
            isCustom: false, allowsUnconditionalUpdate: true, storageVersionHash: hash)
    }

    static let configMaps = stored("", "configmaps", "ConfigMap", shortNames: ["cm"], hash: "qFsyl6wFWjQ=")
    static let secrets = stored("", "secrets", "Secret", hash: "S6u1pOWzb84=")
    static let services = stored("", "services", "Service", shortNames: ["svc"], categories: ["all"], status: true, hash: "0/CO1lhkEBI=")
    static let deployments = stored("apps", "deployments", "Deployment", shortNames: ["deploy"], categories: ["all"], status: true,
                                    hash: "8aSe+NMegvE=")
    static let podDisruptionBudgets = stored("policy", "poddisruptionbudgets", "PodDisruptionBudget", shortNames: ["pdb"],
                                             status: true, hash: "EVWiDmWqyJw=")
    static let validatingAdmissionPolicies = stored(
        "admissionregistration.k8s.io", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", namespaced: false,
        categories: ["api-extensions"], status: true, hash: "6OxvlMmQ6is=")
    static let validatingAdmissionPolicyBindings = stored(
        "admissionregistration.k8s.io", "validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding",
        namespaced: false, categories: ["api-extensions"], hash: "v9715VZqakg=")

    /// The resources every server has, whatever CRDs exist.
    static let builtIns: [ResourceType] = [
        namespaces, coreEvents, events, leases, customResourceDefinitions, serviceAccounts, roles, clusterRoles,
        roleBindings, clusterRoleBindings, tokenReviews, selfSubjectReviews, subjectAccessReviews,
        selfSubjectAccessReviews, selfSubjectRulesReviews, localSubjectAccessReviews, configMaps, secrets, services,
        deployments, podDisruptionBudgets, validatingAdmissionPolicies, validatingAdmissionPolicyBindings,
    ]
}

/// A subresource that takes a create of its own kind, as serviceaccounts/token takes a TokenRequest.
public struct ActionSubresource: Sendable {
    public var name: String
    public var group: String
    public var version: String
    public var kind: String
}
