#ifndef C_MALLOC_TUNING_H
#define C_MALLOC_TUNING_H

/// Fixes glibc's mmap threshold at `bytes` (which also stops its dynamic raising and fixes the trim threshold).
/// Returns 1 when set, 0 when refused or when the C library is not glibc.
int conductor_fix_mmap_threshold(int bytes);

#endif
