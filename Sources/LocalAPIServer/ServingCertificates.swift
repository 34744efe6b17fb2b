import Crypto
import Foundation
import KubeJSON
import SwiftASN1
import X509

/// The server's TLS identity: a private CA made on first start, and a serving certificate it signs
/// for localhost and 127.0.0.1 (plus any extra names). Kept in `DATA/pki`, reused on later starts.
public struct ServingCertificates: Sendable {
    public let caPath: String
    public let certificatePath: String
    public let keyPath: String

    public var caPEM: String { (try? String(contentsOfFile: caPath, encoding: .utf8)) ?? "" }

    /// Loads the files in `directory`, making them first if any is missing.
    public static func loadOrCreate(in directory: String, extraNames: [String] = []) throws -> ServingCertificates {
        let certificates = ServingCertificates(
            caPath: directory + "/ca.crt", certificatePath: directory + "/server.crt", keyPath: directory + "/server.key")
        let files = FileManager.default
        if [certificates.caPath, certificates.certificatePath, certificates.keyPath].allSatisfy(files.fileExists(atPath:)) {
            return certificates
        }
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("conductor-apiserver-ca") }
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 10 * 365 * 86400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey))

        let serverKey = P256.Signing.PrivateKey()
        var alternativeNames: [GeneralName] = [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
        for name in extraNames { alternativeNames.append(.dnsName(name)) }
        let server = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(serverKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 10 * 365 * 86400, issuer: caName,
            subject: try DistinguishedName { CommonName("conductor-apiserver") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
            },
            issuerPrivateKey: .init(caKey))

        try write(try ca.serializeAsPEM().pemString, to: certificates.caPath, mode: 0o644)
        try write(caKey.pemRepresentation, to: directory + "/ca.key", mode: 0o600)
        try write(try server.serializeAsPEM().pemString + "\n", to: certificates.certificatePath, mode: 0o644)
        try write(serverKey.pemRepresentation, to: certificates.keyPath, mode: 0o600)
        return certificates
    }

    static func write(_ text: String, to path: String, mode: Int) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }
}

/// The bearer tokens the server accepts, from a CSV file as kube-apiserver's `--token-auth-file`
/// reads it: `token,user,uid,"group1,group2"`. A token is made on first start, for user `admin` in
/// group `system:masters`.
public struct TokenFile: Sendable {
    public let path: String
    public let tokens: Set<String>
    /// Each token's user, with system:authenticated added as the real server adds it.
    public let users: [String: UserInfo]

    public static func loadOrCreate(at path: String) throws -> TokenFile {
        if !FileManager.default.fileExists(atPath: path) {
            let token = [UInt8].random(count: 32).lowercaseHex
            try ServingCertificates.write("\(token),admin,admin,\"system:masters\"\n", to: path, mode: 0o600)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var users: [String: UserInfo] = [:]
        for line in text.split(separator: "\n") {
            let fields = Self.csvFields(String(line))
            guard let token = fields.first, !token.isEmpty else { continue }
            // A line without a user is still a token (as before this file named users): it is `admin`.
            let name = fields.count > 1 && !fields[1].isEmpty ? fields[1] : "admin"
            let uid = fields.count > 2 ? fields[2] : ""
            let groups = fields.count > 3 ? fields[3].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } : []
            users[token] = UserInfo(username: name, uid: uid, groups: groups.filter { !$0.isEmpty }).withAuthenticatedGroup()
        }
        return TokenFile(path: path, tokens: Set(users.keys), users: users)
    }

    /// One CSV record's fields: commas separate, double quotes enclose a field with commas.
    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        for character in line {
            switch character {
            case "\"": quoted.toggle()
            case "," where !quoted:
                fields.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            default: current.append(character)
            }
        }
        fields.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
        return fields
    }

    public var firstToken: String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first?.split(separator: ",").first.map(String.init)
    }
}

/// A kubeconfig for the server: the admin's it writes for kubectl and our own clients, and those `conductor dev`
/// writes for its parts' service accounts.
public enum AdminKubeconfig {
    /// How the kubeconfig's user proves who it is.
    public enum Credential: Sendable {
        case token(String)
        /// A file holding the token, read again as it is replaced (a path relative to the kubeconfig's folder).
        case tokenFile(String)
    }

    public static func write(to path: String, server: String, caPEM: String, token: String) throws {
        try write(to: path, server: server, caPEM: caPEM, user: "admin", credential: .token(token))
    }

    public static func write(to path: String, server: String, caPEM: String, user: String, credential: Credential) throws {
        let ca = Data(caPEM.utf8).base64EncodedString()
        let credentialLine: String
        switch credential {
        case .token(let token): credentialLine = "token: \(token)"
        case .tokenFile(let file): credentialLine = "tokenFile: \(file)"
        }
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: conductor
              cluster:
                server: \(server)
                certificate-authority-data: \(ca)
            users:
            - name: \(user)
              user:
                \(credentialLine)
            contexts:
            - name: conductor
              context:
                cluster: conductor
                user: \(user)
                namespace: default
            current-context: conductor

            """
        try ServingCertificates.write(text, to: path, mode: 0o600)
    }
}
