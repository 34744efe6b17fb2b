#ifndef C_MALLOC_TUNING_H
#define C_MALLOC_TUNING_H

/// Fixes glibc's mmap threshold at `mmap_threshold_bytes` (which also stops its dynamic raising and fixes the trim
/// threshold) and limits it to `arenas` heap arenas (its default is eight per core). Both are applied; returns 1
/// when both were set, 0 when either was refused or when the C library is not glibc.
int conductor_tune_heap(int mmap_threshold_bytes, int arenas);

/// Gives the heap's free pages back to the system: glibc's malloc_trim(0), which releases free pages in the
/// middle of every arena, not only at its top. Returns 1 when memory was released, 0 otherwise or when the C
/// library is not glibc.
int conductor_trim_heap(void);

#endif
