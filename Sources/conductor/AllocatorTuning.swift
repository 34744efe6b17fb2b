import CMallocTuning

/// How the process asks glibc's allocator to hand memory back.
///
/// By default glibc raises its mmap threshold each time a large block is freed (up to 32 MiB); from then on
/// blocks of that size come from the heap arenas, whose pages stay resident after they are freed. A server's
/// largest bursts (an informer table doubling as it fills, libcurl's buffers during a flood of watch events)
/// then stay in its resident memory for the rest of its life. With the threshold fixed, every block of
/// 128 KiB or more is a mapping of its own, returned to the system when it is freed; setting it also fixes
/// the trim threshold, so the top of the heap is given back past 128 KiB free.
/// Measured with `loadtest memory` (20,000 Tasks, release): 7.0 → 5.9 KB of resident memory per cached Task.
///
/// glibc also gives each thread that meets a locked arena an arena of its own, up to eight per core. A burst
/// served by every thread at once (thousands of MCP calls arriving together) then leaves free pages scattered
/// over all of them, among the long-lived objects of the calls that stay; two arenas keep those pages together,
/// where the next burst reuses them. Each thread's cache (tcache) still serves most small blocks without a lock.
/// Measured with `Tests/e2e/measure_mcp_waits.py --calls 10000 --stream --settle 40` (release): 10.6 and 11.1 KiB
/// per waiting call with glibc's default, 9.7 and 9.8 KiB with two arenas.
enum AllocatorTuning {
    static let mmapThresholdBytes: Int32 = 128 * 1024
    static let arenas: Int32 = 2

    /// Called first thing in `main`, before any thread allocates.
    static func apply() {
        _ = conductor_tune_heap(mmapThresholdBytes, arenas)
    }
}
