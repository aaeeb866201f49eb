// Helpers for writing one kernel body and compiling it for several ISAs.
//
// A kernel body is a function template marked IMBFAST_INLINE; thin wrappers
// marked IMBFAST_TARGET_AVX2 / IMBFAST_TARGET_AVX512 call it, so the body is
// inlined and compiled for that target. Only the wrappers carry the target
// attribute: library code the body calls out of line stays portable, so no
// AVX instruction can leak into code a baseline CPU runs.
#pragma once

#include "imbfast/isa.hpp"

#if defined(IMBFAST_HAVE_X86_DISPATCH)
#define IMBFAST_INLINE inline __attribute__((always_inline))
#define IMBFAST_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define IMBFAST_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
// AVX-512 with the int8 dot product (VPDPBUSD); chosen only when
// vnni_active() (see isa.hpp).
#define IMBFAST_TARGET_AVX512VNNI \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma")))
#else
#define IMBFAST_INLINE inline
#define IMBFAST_TARGET_AVX2
#define IMBFAST_TARGET_AVX512
#define IMBFAST_TARGET_AVX512VNNI
#endif

// Hint that the cache line at `addr` will be read soon.
#if defined(__GNUC__) || defined(__clang__)
#define IMBFAST_PREFETCH(addr) __builtin_prefetch(addr)
#else
#define IMBFAST_PREFETCH(addr) ((void)(addr))
#endif
