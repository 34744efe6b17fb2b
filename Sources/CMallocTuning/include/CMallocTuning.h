#ifndef C_MALLOC_TUNING_H
#define C_MALLOC_TUNING_H

/// Fixes glibc's mmap threshold at `bytes` (which also stops its dynamic raising and fixes the trim threshold).
/// Returns 1 when set, 0 when refused or when the C library is not glibc.
int conductor_fix_mmap_threshold(int bytes);

/// Limits glibc to `count` heap arenas (its default is eight per core). Returns 1 when set, 0 when refused or
/// when the C library is not glibc.
int conductor_limit_arenas(int count);

/// Gives the heap's free pages back to the system: glibc's malloc_trim(0), which releases free pages in the
/// middle of every arena, not only at its top. Returns 1 when memory was released, 0 otherwise or when the C
/// library is not glibc.
int conductor_trim_heap(void);

#endif
