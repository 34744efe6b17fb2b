import Foundation
@testable import KubeClient
import Testing

@Suite struct Configuration {
    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func kubeconfigWithFilesRelativeToItAndAContextOverride() throws {
        let dir = try directory()
        try "CA".write(toFile: dir + "/ca.pem", atomically: true, encoding: .utf8)
        try "CERT".write(toFile: dir + "/client.pem", atomically: true, encoding: .utf8)
        try "KEY".write(toFile: dir + "/client.key", atomically: true, encoding: .utf8)
        let text = """
            apiVersion: v1
            kind: Config
            current-context: dev
            clusters:
            - name: dev
              cluster: {server: "https://dev:6443", certificate-authority-data: "\(Data("DATA-CA".utf8).base64EncodedString())"}
            - name: prod
              cluster: {server: "https://prod:443/", certificate-authority: ca.pem, insecure-skip-tls-verify: false}
            users:
            - name: token-user
              user: {token: abc}
            - name: cert-user
              user: {client-certificate: client.pem, client-key: client.key}
            - name: file-user
              user: {tokenFile: token}
            contexts:
            - name: dev
              context: {cluster: dev, user: token-user}
            - name: prod
              context: {cluster: prod, user: cert-user, namespace: ops}
            - name: files
              context: {cluster: dev, user: file-user}
            """
        let path = dir + "/config"
        try text.write(toFile: path, atomically: true, encoding: .utf8)

        let dev = try ClientConfig.kubeconfig(path: path)
        #expect(dev.server == "https://dev:6443")
        #expect(dev.tls.caPEM == Array("DATA-CA".utf8))
        guard case .bearerToken("abc") = dev.credentials else { throw TestFailure("dev: \(dev.credentials)") }
        #expect(dev.namespace == "default")

        let prod = try ClientConfig.kubeconfig(path: path, context: "prod")
        #expect(prod.server == "https://prod:443")  // trailing slash dropped
        #expect(prod.tls.caPEM == Array("CA".utf8))
        #expect(prod.tls.clientCertificatePEM == Array("CERT".utf8) && prod.tls.clientKeyPEM == Array("KEY".utf8))
        guard case .clientCertificate = prod.credentials else { throw TestFailure("prod: \(prod.credentials)") }
        #expect(prod.namespace == "ops")

        let files = try ClientConfig.kubeconfig(path: path, context: "files")
        guard case .tokenFile(let tokenPath) = files.credentials else { throw TestFailure("files: \(files.credentials)") }
        #expect(tokenPath == dir + "/token")
    }

    @Test(arguments: [
        ("current-context: x\nclusters: []\ncontexts: []\n", "context \"x\" does not exist"),
        ("clusters: []\n", "no current-context"),
        ("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: \"ftp://x\"}}]\n", "not an http(s) URL"),
        ("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: \"https://x\", certificate-authority-data: \"%%%\"}}]\n", "not valid base64"),
        ("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: \"https://x\"}}]\nusers: [{name: u, user: {client-certificate-data: \"QQ==\"}}]\n", "without a key"),
        ("- a list\n- not a config\n", "not a valid kubeconfig"),
    ])
    func badKubeconfigsSayWhatIsWrong(text: String, expected: String) throws {
        let dir = try directory()
        try text.write(toFile: dir + "/config", atomically: true, encoding: .utf8)
        do {
            _ = try ClientConfig.kubeconfig(path: dir + "/config")
            Issue.record("accepted: \(text)")
        } catch let error as ConfigError {
            #expect(error.description.contains(expected), "\(error)")
            #expect(error.source == dir + "/config")
        }
    }

    @Test func inClusterReadsTheServiceAccountAndRereadsARotatedToken() throws {
        let dir = try directory()
        try "token-1\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        try "CA".write(toFile: dir + "/ca.crt", atomically: true, encoding: .utf8)
        try "team-a".write(toFile: dir + "/namespace", atomically: true, encoding: .utf8)
        let config = try ClientConfig.inCluster(serviceAccountDirectory: dir,
                                                environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"])
        #expect(config.server == "https://[fd00::1]:443")
        #expect(config.tls.caPEM == Array("CA".utf8))
        #expect(config.namespace == "team-a")
        let tokens = TokenProvider(config.credentials)
        #expect(tokens.token() == "token-1")
        try "token-2\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        #expect(tokens.token() == "token-1")  // cached for a minute
        #expect(tokens.token(forceReload: true) == "token-2")  // what a 401 triggers

        #expect(throws: ConfigError.self) { try ClientConfig.inCluster(serviceAccountDirectory: dir, environment: [:]) }
        #expect(throws: ConfigError.self) {
            try ClientConfig.inCluster(serviceAccountDirectory: dir + "/missing", environment: ["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "1"])
        }
    }
}
