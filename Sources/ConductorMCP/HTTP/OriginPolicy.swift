import Foundation

/// Which browser origins may call the front end: the specification asks servers to validate Origin (DNS
/// rebinding: a web page must not reach a local server through the user's browser). A request without
/// Origin is not from a browser page and passes; one with Origin passes when it is the request's own host,
/// a loopback origin while the front end is bound to loopback, or one of `--mcp-allowed-origin`.
struct OriginPolicy: Sendable {
    var loopbackBound: Bool
    var allowed: Set<String>

    init(loopbackBound: Bool, allowed: [String]) {
        self.loopbackBound = loopbackBound
        self.allowed = Set(allowed.map { $0.lowercased().trimmingSuffix("/") })
    }

    func allows(origin: String?, host: String?) -> Bool {
        guard let origin else { return true }
        let normalized = origin.lowercased().trimmingSuffix("/")
        if allowed.contains(normalized) { return true }
        guard let components = URLComponents(string: normalized), let originHost = components.host,
              components.scheme == "http" || components.scheme == "https" else { return false }
        let authority = components.port.map { "\(originHost):\($0)" } ?? originHost
        if let host, host.lowercased() == authority { return true }
        if loopbackBound {
            let bare = originHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
        }
        return false
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
