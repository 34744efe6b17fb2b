import KubeJSON

/// What validating a value against a schema found: kube-openapi's `Result`. `matches` counts the
/// checks that applied and passed along the way; kube-openapi uses it to choose which failed `anyOf`
/// or `oneOf` branch to explain, so it is kept the same way here.
struct ValidationResult {
    var errors: [OpenAPIError] = []
    var matches = 0

    var isValid: Bool { errors.isEmpty }

    mutating func merge(_ other: ValidationResult) {
        errors += other.errors
        matches += other.matches
    }

    /// Merges what one of kube-openapi's validators found, counting the validator itself as one more
    /// match, as kube-openapi counts each validator that applied.
    mutating func mergeApplied(_ other: ValidationResult) {
        merge(other)
        matches += 1
    }

    static func failure(_ error: OpenAPIError) -> ValidationResult { ValidationResult(errors: [error]) }
}

/// Validates a value against a schema node as the API server does for custom resources, with
/// kube-openapi's SchemaValidator: the same checks, in the same order, giving the same errors. Every
/// check that applies runs, so one value can fail several (a string for an integer enum field fails
/// both type and enum), as on a real server.
///
/// Recursion follows the schema tree (a value is only descended where the schema has a node for it),
/// so its depth is bounded by the schema's, which the decoder limits.
struct OpenAPIValidator {
    private let patterns = PatternCache()

    /// `path` is kube-openapi's name for where the value sits: empty at the root, then `spec`,
    /// `spec.items[2]`, `spec.items[2].name`. `old` is the stored value on an update: an object member
    /// equal to its old value is not validated again, as Kubernetes' CRD validation ratcheting lets
    /// unchanged fields stand (and a status write need not pay for validating the whole spec).
    func validate(_ data: JSON, against schema: SchemaNode, path: String, old: JSON? = nil) -> ValidationResult {
        var result = ValidationResult()
        if data.isNull {
            result.merge(checkType(data, schema, path))
            result.merge(checkEnum(data, schema, path))
            return result
        }
        if !schema.validationTypes.isEmpty || !schema.validationFormat.isEmpty {
            result.mergeApplied(checkType(data, schema, path))
        }
        result.mergeApplied(checkComposition(data, schema, path))
        if case .string(let text) = data {
            result.mergeApplied(checkString(text, schema, path))
            let format = schema.validationFormat
            if !format.isEmpty && StringFormats.isSupported(format) {
                if !StringFormats.validates(format, text) {
                    result.errors.append(.invalidType(path, type: format, found: text))
                }
                result.matches += 1
            }
        }
        switch data {
        case .int, .double: result.mergeApplied(checkNumber(data, schema, path))
        case .array(let elements): result.mergeApplied(checkArray(elements, schema, path))
        default: break
        }
        result.mergeApplied(checkEnum(data, schema, path))
        if case .object(let members) = data {
            result.mergeApplied(checkObject(members, schema, path, old: old?.object))
        }
        result.matches += 1
        return result
    }

    // MARK: - type and format

    /// kube-openapi's typeValidator, including its handling of formats on non-string values: a
    /// number given for a `date-time` string is reported against the format, not the type.
    private func checkType(_ data: JSON, _ schema: SchemaNode, _ path: String) -> ValidationResult {
        let types = schema.validationTypes
        let format = schema.validationFormat
        let typeList = types.joined(separator: ",")
        if data.isNull {
            if !types.isEmpty && !types.contains("null") && !schema.nullable {
                return .failure(.invalidType(path, type: typeList, found: "null"))
            }
            return ValidationResult(matches: 1)
        }
        let (dataType, dataFormat) = Self.typeAndFormat(of: data)
        let isFloatInt = dataType == "number" && Self.isJSONInteger(data.double ?? 0) && types.contains("integer")
        let isIntFloat = dataType == "integer" && types.contains("number")
        let isStringOrArray = dataType == "string" || dataType == "array"
        if !isStringOrArray && !format.isEmpty
            && !(types.contains(dataType) || dataFormat == format || isFloatInt || isIntFloat)
        {
            return .failure(.invalidType(path, type: format, found: dataFormat))
        }
        if !(types.contains("number") || types.contains("integer")) && !format.isEmpty && isStringOrArray {
            return ValidationResult(matches: 1)
        }
        if !(types.contains(dataType) || isFloatInt || isIntFloat) {
            return .failure(.invalidType(path, type: typeList, found: dataType))
        }
        return ValidationResult(matches: 1)
    }

    /// The JSON type of a decoded value and the format Go infers from its Go type.
    private static func typeAndFormat(of data: JSON) -> (String, String) {
        switch data {
        case .null: return ("null", "")
        case .bool: return ("boolean", "")
        case .int: return ("integer", "int64")
        case .double: return ("number", "float64")
        case .string: return ("string", "")
        case .array: return ("array", "")
        case .object: return ("object", "")
        }
    }

    /// go-openapi's `IsFloat64AJSONInteger`: a whole number within JSON's exact integer range, or so
    /// close to one that the difference is rounding noise.
    static func isJSONInteger(_ value: Double) -> Bool {
        let limit = 9_007_199_254_740_991.0
        guard value.isFinite, value >= -limit, value <= limit else { return false }
        let whole = value.rounded(.towardZero)
        if whole == value { return true }
        if whole == 0 { return false }
        return abs(value - whole) / (abs(value) + abs(whole)) < 1e-9
    }

    // MARK: - allOf, anyOf, oneOf, not

    private func checkComposition(_ data: JSON, _ schema: SchemaNode, _ path: String) -> ValidationResult {
        var result = ValidationResult()
        // Quoting is only for messages: on the (common) success path it would be wasted work.
        func quoted() -> String { GoText.quote(path) }
        if !schema.anyOf.isEmpty {
            var best: ValidationResult?
            var firstSuccess: ValidationResult?
            for branch in schema.anyOf {
                let outcome = validate(data, against: branch, path: path)
                if outcome.isValid {
                    best = nil
                    firstSuccess = outcome
                    break
                }
                if best == nil || outcome.matches > best!.matches { best = outcome }
            }
            if firstSuccess == nil {
                result.errors.append(.composite("\(quoted()) must validate at least one schema (anyOf)"))
            }
            if let best { result.merge(best) } else if let firstSuccess { result.merge(firstSuccess) }
        }
        if !schema.oneOf.isEmpty {
            var best: ValidationResult?
            var firstSuccess: ValidationResult?
            var validated = 0
            for branch in schema.oneOf {
                let outcome = validate(data, against: branch, path: path)
                if outcome.isValid {
                    validated += 1
                    best = nil
                    if firstSuccess == nil { firstSuccess = outcome }
                    continue
                }
                if validated == 0 && (best == nil || outcome.matches > best!.matches) { best = outcome }
            }
            if validated != 1 {
                let found = validated == 0 ? "Found none valid" : "Found \(validated) valid alternatives"
                result.errors.append(.composite("\(quoted()) must validate one and only one schema (oneOf). \(found)"))
                if let best { result.merge(best) }
            } else if let firstSuccess {
                result.merge(firstSuccess)
            }
        }
        if !schema.allOf.isEmpty {
            var validated = 0
            for branch in schema.allOf {
                let outcome = validate(data, against: branch, path: path)
                if outcome.isValid { validated += 1 }
                result.merge(outcome)
            }
            if validated != schema.allOf.count {
                let none = validated == 0 ? ". None validated" : ""
                result.errors.append(.composite("\(quoted()) must validate all the schemas (allOf)\(none)"))
            }
        }
        if let not = schema.not, validate(data, against: not, path: path).isValid {
            result.errors.append(.composite("\(quoted()) must not validate the schema (not)"))
        }
        result.matches += 1
        return result
    }

    // MARK: - strings

    /// maxLength, then minLength, then pattern; the first failure alone is reported. Lengths count
    /// Unicode scalars, as Go counts runes.
    private func checkString(_ text: String, _ schema: SchemaNode, _ path: String) -> ValidationResult {
        let length = Int64(text.unicodeScalars.count)
        if let maximum = schema.maxLength, length > maximum {
            return .failure(.tooLong(path, maximum: maximum, value: text))
        }
        if let minimum = schema.minLength, length < minimum {
            return .failure(.tooShort(path, minimum: minimum, value: text))
        }
        let pattern = schema.pattern
        if !pattern.isEmpty {
            switch patterns.matches(text, pattern: pattern) {
            case true?: break
            case false?: return .failure(.pattern(path, pattern: pattern, value: text))
            case nil: return .failure(.pattern(path, pattern: "\(pattern), but pattern is invalid", value: text))
            }
        }
        return ValidationResult()
    }

    // MARK: - numbers

    /// multipleOf, minimum and maximum. An integer value is compared with the bound converted to an
    /// integer (truncated), a float with the bound as it is, as kube-openapi compares native types.
    private func checkNumber(_ data: JSON, _ schema: SchemaNode, _ path: String) -> ValidationResult {
        var result = ValidationResult()
        if let factor = schema.multipleOf, let error = multipleOfError(data, factor, path) {
            result.errors.append(error)
        }
        if let bound = schema.minimum {
            let exclusive = schema.exclusiveMinimum
            switch data {
            case .int(let value):
                let limit = Self.goInt64(bound)
                if exclusive ? value <= limit : value < limit {
                    result.errors.append(.minimum(path, bound: .int(limit), exclusive: exclusive, value: data))
                }
            default:
                let value = data.double ?? 0
                if exclusive ? value <= bound : value < bound {
                    result.errors.append(.minimum(path, bound: .double(bound), exclusive: exclusive, value: data))
                }
            }
        }
        if let bound = schema.maximum {
            let exclusive = schema.exclusiveMaximum
            switch data {
            case .int(let value):
                let limit = Self.goInt64(bound)
                if exclusive ? value >= limit : value > limit {
                    result.errors.append(.maximum(path, bound: .int(limit), exclusive: exclusive, value: data))
                }
            default:
                let value = data.double ?? 0
                if exclusive ? value >= bound : value > bound {
                    result.errors.append(.maximum(path, bound: .double(bound), exclusive: exclusive, value: data))
                }
            }
        }
        result.matches += 1
        return result
    }

    private func multipleOfError(_ data: JSON, _ factor: Double, _ path: String) -> OpenAPIError? {
        if case .int(let value) = data, Self.goInt64(factor) != 0 {
            let whole = Self.goInt64(factor)
            if whole < 0 { return .multipleOfMustBePositive(path, factor: .int(whole)) }
            return value % whole == 0 ? nil : .multipleOf(path, factor: .int(whole), value: data)
        }
        // Floats, and integers against a factor below one (which would divide by zero in the server).
        let value = data.double ?? 0
        if factor < 0 { return .multipleOfMustBePositive(path, factor: .double(factor)) }
        let quotient = factor < 1 ? 1 / factor * value : value / factor
        return Self.isJSONInteger(quotient) ? nil : .multipleOf(path, factor: .double(factor), value: data)
    }

    /// Go's `int64(f)`: truncation toward zero, saturating where Go's result would be undefined.
    static func goInt64(_ value: Double) -> Int64 {
        if value >= 9.223372036854775807e18 { return .max }
        if value <= -9.223372036854775808e18 { return .min }
        return Int64(value.rounded(.towardZero))
    }

    // MARK: - arrays

    /// Items first, then minItems, maxItems and uniqueItems.
    private func checkArray(_ elements: [JSON], _ schema: SchemaNode, _ path: String) -> ValidationResult {
        var result = ValidationResult()
        if let items = schema.itemSchema {
            for (index, element) in elements.enumerated() {
                result.merge(validate(element, against: items, path: "\(path)[\(index)]"))
            }
        }
        let size = Int64(elements.count)
        if let minimum = schema.minItems, size < minimum {
            result.errors.append(.tooFewItems(path, minimum: minimum, size: size))
        }
        if let maximum = schema.maxItems, size > maximum {
            result.errors.append(.tooManyItems(path, maximum: maximum, size: size))
        }
        if schema.uniqueItems, Self.hasDuplicates(elements) {
            result.errors.append(.duplicateItems(path))
        }
        result.matches += 1
        return result
    }

    private static func hasDuplicates(_ elements: [JSON]) -> Bool {
        for (index, element) in elements.enumerated() {
            for earlier in elements[..<index] where GoEquality.deepEqual(earlier, element) { return true }
        }
        return false
    }

    // MARK: - enum

    /// The value must equal one of the enum's values after Go's type conversion to that value's type
    /// (so 1.5 matches an enum entry of 1, as on the server). A null value never matches.
    private func checkEnum(_ data: JSON, _ schema: SchemaNode, _ path: String) -> ValidationResult {
        guard let allowed = schema.enumValues, !allowed.isEmpty else { return ValidationResult() }
        if allowed.contains(where: { GoEquality.enumMatches(data, $0) }) { return ValidationResult() }
        return .failure(.enumFail(path, value: data, allowed: allowed))
    }

    // MARK: - objects

    /// min/maxProperties (which, failing, end the object's checks), then forbidden or additional
    /// properties, then declared properties, then required ones. Members are visited in the order
    /// written.
    private func checkObject(_ members: JSONObject, _ schema: SchemaNode, _ path: String, old: JSONObject?) -> ValidationResult {
        let size = Int64(members.count)
        if let minimum = schema.minProperties, size < minimum {
            return .failure(.tooFewProperties(path, minimum: minimum, size: size))
        }
        if let maximum = schema.maxProperties, size > maximum {
            return .failure(.tooManyProperties(path, maximum: maximum, size: size))
        }
        var result = ValidationResult()
        let properties = schema.properties
        if case .allows(false)? = schema.additionalProperties {
            for key in members.keys where properties[key] == nil {
                result.errors.append(.propertyNotAllowed(path, key: key))
            }
        } else if let additional = schema.additionalSchema {
            for (key, value) in members where properties[key] == nil {
                let previous = old?[key]
                if previous == value { continue }
                result.merge(validate(value, against: additional, path: path + "." + key, old: previous))
            }
        }
        for (key, value) in members {
            guard let property = properties[key] else { continue }
            let previous = old?[key]
            if previous == value { continue }
            result.merge(validate(value, against: property, path: path.isEmpty ? key : path + "." + key, old: previous))
        }
        for key in schema.required where members[key] == nil {
            result.errors.append(.required(path + "." + key))
        }
        return result
    }
}
