#include "CMallocTuning.h"

// Any C library header defines __GLIBC__ on glibc (through <features.h>); without one it is never defined.
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

int conductor_tune_heap(int mmap_threshold_bytes, int arenas) {
#ifdef __GLIBC__
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold_bytes) & mallopt(M_ARENA_MAX, arenas);
#else
    (void)mmap_threshold_bytes;
    (void)arenas;
    return 0;
#endif
}

int conductor_trim_heap(void) {
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return 0;
#endif
}
