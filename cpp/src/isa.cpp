#include "imbfast/isa.hpp"

namespace imbfast {

namespace {
Isa detect() {
#if defined(IMBFAST_HAVE_X86_DISPATCH)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
        return Isa::avx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return Isa::avx2;
    }
#endif
    return Isa::generic;
}
}  // namespace

Isa active_isa() {
    static const Isa isa = detect();
    return isa;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::avx512:
            return "avx512";
        case Isa::avx2:
            return "avx2";
        default:
            return "generic";
    }
}

const char* compiled_isas() {
#if defined(IMBFAST_HAVE_X86_DISPATCH)
    return "generic,avx2,avx512";
#else
    return "generic";
#endif
}

}  // namespace imbfast
