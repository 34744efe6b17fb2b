import Foundation
import KubeJSON
import KubeSchema

extension ResourceType {
    /// The kind serviceaccounts/token takes; not served on a path of its own.
    static let tokenRequests = review("authentication.k8s.io", "tokenrequests", "TokenRequest")
}

/// The review kinds (answered at once, never stored) and TokenRequest.
extension APIServer {
    func review(_ target: Target, request: APIRequest) throws(APIError) -> APIResponse {
        var duplicates: [String] = []
        let body = try decodeObject(request, type: target.type, duplicates: &duplicates)
        try Strategy.checkTypeMeta(body, type: target.type, name: "")
        var answer = JSONObject()
        answer["kind"] = .string(target.type.kind)
        answer["apiVersion"] = .string(target.type.apiVersion)
        answer["metadata"] = body["metadata"] ?? .object([:])
        switch target.type.kind {
        case "TokenReview":
            answer["spec"] = body["spec"] ?? .object([:])
            answer["status"] = try tokenReviewStatus(body["spec"] ?? .null)
        case "SelfSubjectReview":
            // Its REST handler makes a new object: the request's metadata goes, a creation time comes.
            answer["metadata"] = ["creationTimestamp": .string(now)]
            answer["status"] = ["userInfo": request.user.json]
        case "SubjectAccessReview", "LocalSubjectAccessReview":
            let spec = body["spec"] ?? .null
            try checkAccessReviewSpec(spec, type: target.type, selfReview: false, namespace: target.namespace)
            let groups = (spec["groups"]?.array ?? []).compactMap(\.string)
            var extra: [String: [String]] = [:]
            for (key, values) in spec["extra"]?.object ?? [:] { extra[key] = (values.array ?? []).compactMap(\.string) }
            let user = UserInfo(username: spec["user"]?.string ?? "", uid: spec["uid"]?.string ?? "", groups: groups, extra: extra)
            answer["spec"] = spec
            answer["status"] = accessReviewStatus(spec, user: user)
        case "SelfSubjectRulesReview":
            let namespace = body["spec"]?["namespace"]?.string ?? ""
            answer["spec"] = body["spec"] ?? .object([:])
            answer["status"] = rulesReviewStatus(user: request.user, namespace: namespace)
        case "SelfSubjectAccessReview":
            let spec = body["spec"] ?? .null
            try checkAccessReviewSpec(spec, type: target.type, selfReview: true, namespace: nil)
            answer["spec"] = spec
            answer["status"] = accessReviewStatus(spec, user: request.user)
        default:
            throw APIError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
        return .json(.object(answer), status: 201)
    }

    /// TokenReview's status, as its REST handler writes it: the user and audiences of a good token;
    /// otherwise authenticated left out, an empty user, and the error of kube-apiserver's request
    /// authenticators: a bearer-token authenticator that recognizes nothing says "invalid bearer token",
    /// and beside it the service-account authenticator's reason, aggregated as Go's errors are
    /// (`[invalid bearer token, service account token has expired]`, as real servers log it).
    private func tokenReviewStatus(_ spec: JSON) throws(APIError) -> JSON {
        let token = spec["token"]?.string ?? ""
        guard !token.isEmpty else { throw APIError.badRequest("token is required for TokenReview in authentication.k8s.io") }
        let audiences = (spec["audiences"]?.array ?? []).compactMap(\.string)
        switch authenticate(token: token, audiences: audiences) {
        case .authenticated(let user, let valid):
            return ["authenticated": true, "user": user.json, "audiences": .array(valid.map(JSON.string))]
        case .unrecognized:
            return ["user": [:], "error": .string(Self.invalidBearerToken)]
        case .refused(let message):
            return ["user": [:], "error": .string("[\(Self.invalidBearerToken), \(message)]")]
        }
    }

    /// What kube-apiserver's bearer-token authenticator says of a token it could not authenticate.
    static let invalidBearerToken = "invalid bearer token"

    /// The checks of the access reviews' validation: exactly one of resourceAttributes and
    /// nonResourceAttributes; a user or a group to ask about; a local review's namespace its own.
    private func checkAccessReviewSpec(_ spec: JSON, type: ResourceType, selfReview: Bool, namespace: String?) throws(APIError) {
        var causes: [Cause] = []
        let hasResource = spec["resourceAttributes"].map { !$0.isNull } ?? false
        let hasNonResource = spec["nonResourceAttributes"].map { !$0.isNull } ?? false
        if hasResource == hasNonResource {
            causes.append(Cause(field: "spec.resourceAttributes", reason: "FieldValueInvalid",
                                message: "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified"))
        }
        if !selfReview, (spec["user"]?.string ?? "").isEmpty, (spec["groups"]?.array ?? []).isEmpty {
            causes.append(Cause(field: "spec.user", reason: "FieldValueInvalid",
                                message: "Invalid value: \"\": at least one of user or group must be specified"))
        }
        if let namespace, let given = spec["resourceAttributes"]?["namespace"]?.string, given != namespace {
            causes.append(.invalid("spec.resourceAttributes.namespace", .string(given), "must match metadata.namespace"))
        }
        if !causes.isEmpty { throw APIError.invalid(type, name: "", causes: causes) }
    }

    /// The rules the user has in the namespace, split as the real review splits them (resource and
    /// non-resource); under AlwaysAllow, everything.
    private func rulesReviewStatus(user: UserInfo, namespace: String) -> JSON {
        let all: [PolicyRule]
        var errors: [String] = []
        switch accessControl.mode {
        case .alwaysAllow:
            all = [PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]), PolicyRule(verbs: ["*"], nonResourceURLs: ["*"])]
        case .rbac:
            (all, errors) = RBACAuthorizer(objects: StoredRBACObjects(store: store)).rules(for: user, namespace: namespace)
        }
        var resourceRules: [JSON] = []
        var nonResourceRules: [JSON] = []
        for rule in all {
            if !rule.resources.isEmpty {
                var entry: JSONObject = ["verbs": .array(rule.verbs.map(JSON.string))]
                if !rule.apiGroups.isEmpty { entry["apiGroups"] = .array(rule.apiGroups.map(JSON.string)) }
                entry["resources"] = .array(rule.resources.map(JSON.string))
                if !rule.resourceNames.isEmpty { entry["resourceNames"] = .array(rule.resourceNames.map(JSON.string)) }
                resourceRules.append(.object(entry))
            }
            if !rule.nonResourceURLs.isEmpty {
                nonResourceRules.append(["verbs": .array(rule.verbs.map(JSON.string)),
                                         "nonResourceURLs": .array(rule.nonResourceURLs.map(JSON.string))])
            }
        }
        var status: JSONObject = ["resourceRules": .array(resourceRules), "nonResourceRules": .array(nonResourceRules),
                                  "incomplete": .bool(!errors.isEmpty)]
        if !errors.isEmpty { status["evaluationError"] = .string(errors.joined(separator: ", ")) }
        return .object(status)
    }

    /// allowed and reason, as the authorizers decide for the attributes the review names.
    private func accessReviewStatus(_ spec: JSON, user: UserInfo) -> JSON {
        let attributes: RequestAttributes
        if let resource = spec["resourceAttributes"], !resource.isNull {
            func text(_ key: String) -> String { resource[key]?.string ?? "" }
            attributes = RequestAttributes(
                user: user, verb: text("verb"), isResourceRequest: true, apiGroup: text("group"), apiVersion: text("version"),
                resource: text("resource"), subresource: text("subresource"), namespace: text("namespace"), name: text("name"))
        } else {
            let nonResource = spec["nonResourceAttributes"] ?? .null
            attributes = RequestAttributes(user: user, verb: nonResource["verb"]?.string ?? "", isResourceRequest: false,
                                           path: nonResource["path"]?.string ?? "")
        }
        let decision = authorize(attributes)
        var status: JSONObject = ["allowed": .bool(decision.allowed)]
        if !decision.reason.isEmpty { status["reason"] = .string(decision.reason) }
        return .object(status)
    }

    /// POST serviceaccounts/NAME/token, in the order of the real TokenREST: the body's name and namespace
    /// must match the path's, the account must exist (with the uid the body names, if any), the spec must
    /// be valid; then a token signed for the account's uid. A boundObjectRef to a Pod or Secret goes into
    /// the claims unchecked, since this server keeps neither; another kind is refused.
    func tokenRequest(_ target: Target, name: String, request: APIRequest) throws(APIError) -> APIResponse {
        let namespace = target.namespace ?? ""
        let type = ResourceType.tokenRequests
        var duplicates: [String] = []
        let body = try decodeObject(request, type: type, duplicates: &duplicates)
        try Strategy.checkTypeMeta(body, type: type, name: name)
        guard let signer = accessControl.serviceAccountTokens else { throw APIError.pathNotFound() }
        if let given = body["metadata"]?["name"]?.string, !given.isEmpty, given != name {
            throw APIError.invalid(type, name: name, causes: [
                .invalid("metadata.name", .string(given), "must match the service account name if specified")
            ])
        }
        if let given = body["metadata"]?["namespace"]?.string, !given.isEmpty, given != namespace {
            throw APIError.invalid(type, name: name, causes: [
                .invalid("metadata.namespace", .string(given), "must match the service account namespace if specified")
            ])
        }
        guard let account = store.get(target.type.storageKey, namespace: namespace, name: name)?.object else {
            throw APIError.notFound(target.type, name: name)
        }
        let accountUID = account["metadata"]?["uid"]?.string ?? ""
        if let given = body["metadata"]?["uid"]?.string, !given.isEmpty, given != accountUID {
            throw APIError(
                code: 409, reason: "Conflict",
                message: "Operation cannot be fulfilled on TokenRequest.authentication.k8s.io \(GoText.quote(name)): the UID in "
                    + "the token request (\(given)) does not match the UID of the service account (\(accountUID))",
                details: ["name": .string(name), "group": "authentication.k8s.io", "kind": "TokenRequest"])
        }
        let spec = body["spec"] ?? .null
        let expiration = spec["expirationSeconds"]?.int ?? ServiceAccountTokens.defaultExpirationSeconds
        var causes: [Cause] = []
        if expiration < ServiceAccountTokens.minimumExpirationSeconds {
            causes.append(.invalid("spec.expirationSeconds", .int(expiration), "may not specify a duration less than 10 minutes"))
        }
        if expiration > ServiceAccountTokens.maximumExpirationSeconds {
            causes.append(.invalid("spec.expirationSeconds", .int(expiration), "may not specify a duration larger than 2^32 seconds"))
        }
        // The real server validates before it names the request, so its message names "".
        if !causes.isEmpty { throw APIError.invalid(type, name: "", causes: causes) }
        var audiences = (spec["audiences"]?.array ?? []).compactMap(\.string)
        if audiences.isEmpty { audiences = ServiceAccountTokens.apiAudiences }
        let bound = spec["boundObjectRef"].flatMap { $0.isNull ? nil : $0 }
        let boundKind = bound?["kind"]?.string ?? ""
        let boundAPIVersion = bound?["apiVersion"]?.string ?? ""
        if bound != nil, !(["Pod", "Secret"].contains(boundKind) && (boundAPIVersion == "v1" || boundAPIVersion.isEmpty)) {
            // Go's GroupVersionKind.String(): "group/version, Kind=kind".
            let group = boundAPIVersion.contains("/") ? String(boundAPIVersion.split(separator: "/")[0]) : ""
            let version = boundAPIVersion.contains("/") ? String(boundAPIVersion.split(separator: "/")[1]) : boundAPIVersion
            throw APIError.badRequest("cannot bind token to object of type \(group)/\(version), Kind=\(boundKind)")
        }
        let now = clock()
        let issued = Int64(now.timeIntervalSince1970)
        let claims = ServiceAccountClaims(
            namespace: namespace, name: name, uid: accountUID, audiences: audiences, issuedAt: issued, notBefore: issued,
            expires: issued + expiration, tokenID: UUID().uuidString.lowercased(),
            podName: boundKind == "Pod" ? bound?["name"]?.string : nil, podUID: boundKind == "Pod" ? bound?["uid"]?.string : nil,
            secretName: boundKind == "Secret" ? bound?["name"]?.string : nil,
            secretUID: boundKind == "Secret" ? bound?["uid"]?.string : nil)
        let token: String
        do {
            token = try signer.issue(claims)
        } catch {
            throw APIError.internalError("failed to generate token: \(error)")
        }
        var metadata = body["metadata"]?.object ?? [:]
        metadata["name"] = .string(name)
        metadata["namespace"] = .string(namespace)
        metadata["creationTimestamp"] = .string(KubeTimestamp.time(now))
        var answerSpec = spec.object ?? [:]
        answerSpec["audiences"] = .array(audiences.map(JSON.string))
        answerSpec["expirationSeconds"] = .int(expiration)
        if answerSpec["boundObjectRef"] == nil { answerSpec["boundObjectRef"] = .null }
        let expires = KubeTimestamp.time(Date(timeIntervalSince1970: TimeInterval(issued + expiration)))
        let answer: JSON = [
            "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": Strategy.orderMetadata(["metadata": .object(metadata)])["metadata"] ?? .object(metadata),
            "spec": .object(answerSpec), "status": ["token": .string(token), "expirationTimestamp": .string(expires)],
        ]
        return .json(answer, status: 201)
    }
}
