import CMallocTuning
import Testing

/// The settings reach glibc: a C file that tests `__GLIBC__` before including any libc header never sees it
/// defined, and then silently does nothing (the first version of these functions did just that).
@Suite struct MallocTuningTests {
    #if os(Linux) && canImport(Glibc)
    @Test func glibcTakesTheFixedMmapThresholdAndTheArenaLimit() {
        #expect(conductor_tune_heap(128 * 1024, 2) == 1)
    }

    @Test func aTrimGivesBackFreedPagesBelowABlockInUse() {
        // Blocks under the threshold come from the arena. Freed below one still in use, their pages stay with
        // the arena (free gives back only from the top): only a trim hands them back.
        let blocks = (0..<512).map { _ in UnsafeMutableRawPointer.allocate(byteCount: 64 * 1024, alignment: 16) }
        for block in blocks { block.initializeMemory(as: UInt8.self, repeating: 1, count: 64 * 1024) }
        let kept = UnsafeMutableRawPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        kept.storeBytes(of: 1, as: UInt8.self)
        for block in blocks { block.deallocate() }
        #expect(conductor_trim_heap() == 1)
        kept.deallocate()
    }
    #endif
}
