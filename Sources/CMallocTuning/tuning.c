#include "CMallocTuning.h"

// Any C library header defines __GLIBC__ on glibc (through <features.h>); without one it is never defined.
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

int conductor_fix_mmap_threshold(int bytes) {
#ifdef __GLIBC__
    return mallopt(M_MMAP_THRESHOLD, bytes);
#else
    (void)bytes;
    return 0;
#endif
}

int conductor_limit_arenas(int count) {
#ifdef __GLIBC__
    return mallopt(M_ARENA_MAX, count);
#else
    (void)count;
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
