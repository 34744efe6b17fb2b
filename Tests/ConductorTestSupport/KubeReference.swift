import Foundation

/// `../shared/kube-reference`: how a real kube-apiserver 1.36 answered (README.md there). Found beside the
/// repository, as in CI and on developer machines; nil where it is not, and the tests that need it do not run.
public enum KubeReference {
    public static let transcripts: String? = {
        var candidates: [String] = []
        var folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while folder.path != "/" {
            candidates.append(folder.appendingPathComponent("shared/kube-reference/transcripts").path)
            folder = folder.deletingLastPathComponent()
        }
        candidates.append("/work/shared/kube-reference/transcripts")
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }()
}
