import Foundation
import Synchronization

/// A process's resident memory, read from its /metrics every second while a run goes on (`loadtest dispatch
/// --capability NAME --agent-metrics-url URL`): whether a real agent stays flat as the tasks go through it.
final class ResidentMemoryTrace: Sendable {
    private struct Sample {
        var elapsed: Duration
        var residentBytes: Double
    }

    let url: String
    private let scraper: MetricsScraper
    private let samples = Mutex<[Sample]>([])

    init(url: String) throws {
        self.url = url
        scraper = try MetricsScraper(url: url)
    }

    /// Reads the resident memory every `interval` until the calling task is cancelled.
    func record(every interval: Duration = .seconds(1)) async {
        let started = ContinuousClock.now
        while !Task.isCancelled {
            if let sample = try? await scraper.sample() {
                samples.withLock { $0.append(Sample(elapsed: ContinuousClock.now - started, residentBytes: sample.residentBytes)) }
            }
            try? await Task.sleep(for: interval)
        }
    }

    func shutdown() async { await scraper.shutdown() }

    /// The resident memory at the start, after a tenth, half and all of the run's time, and the highest.
    var summary: String {
        let all = samples.withLock { $0 }
        guard let first = all.first, let last = all.last, let highest = all.map(\.residentBytes).max() else {
            return "agent resident memory (\(url)): no sample"
        }
        func at(_ share: Double) -> Double {
            all.first { $0.elapsed >= last.elapsed * share }?.residentBytes ?? last.residentBytes
        }
        return "agent resident memory (\(url), \(all.count) samples): start \(megabytes(first.residentBytes)), "
            + "at 10% of the run \(megabytes(at(0.1))), at half \(megabytes(at(0.5))), at the end \(megabytes(last.residentBytes)), highest \(megabytes(highest))"
    }
}
