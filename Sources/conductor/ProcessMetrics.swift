import Foundation

/// The process metrics that Prometheus's client libraries export by these names (resident memory, CPU time,
/// open descriptors, start time), read from /proc at each scrape: what dashboards and the memory benchmark
/// (`loadtest memory`) compare across releases. Nothing on other systems, where /proc is not there.
enum ProcessMetrics {
    static func emit(into text: inout [UInt8]) {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return }
        // The fields after the command's closing parenthesis, from field 3 (state) on.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        func field(_ number: Int) -> Double? { fields.count > number - 3 ? Double(fields[number - 3]) : nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        var lines: [String] = []
        func gauge(_ name: String, _ help: String, _ value: Double?, type: String = "gauge") {
            guard let value else { return }
            lines += ["# HELP \(name) \(help)", "# TYPE \(name) \(type)", "\(name) \(value)"]
        }
        gauge("process_resident_memory_bytes", "Resident memory size in bytes.", field(24).map { $0 * pageSize })
        gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", field(23))
        if let user = field(14), let system = field(15) {
            gauge("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", (user + system) / ticks, type: "counter")
        }
        if let bootTime = bootTime(), let started = field(22) {
            gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", bootTime + started / ticks)
        }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            gauge("process_open_fds", "Number of open file descriptors.", Double(descriptors.count))
        }
        text += Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// The `btime` line of /proc/stat: when the machine booted, in seconds since 1970.
    private static func bootTime() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return stat.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
    }
}
