#include "imbfast/isa.hpp"

#include <cstdlib>
#include <cstring>

namespace imbfast {

namespace {

Isa detect_best() {
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

bool detect_vnni() {
#if defined(IMBFAST_HAVE_X86_DISPATCH)
    __builtin_cpu_init();
    return detect_best() == Isa::avx512 && __builtin_cpu_supports("avx512vnni");
#else
    return false;
#endif
}

struct IsaChoice {
    Isa best;
    Isa active;
    bool vnni_supported;
    bool vnni_active;
    const char* request;  // IMBFAST_ISA as read ("" when unset)
    bool request_valid;
};

// IMBFAST_ISA=generic|avx2|avx512 caps the dispatched instruction set: a
// request above what the CPU supports is capped to what it supports, an
// unknown value keeps the best and is reported by isa_request_valid().
IsaChoice detect() {
    IsaChoice c{detect_best(), Isa::generic, detect_vnni(), false, "", true};
    c.active = c.best;
    c.vnni_active = c.vnni_supported;
    const char* env = std::getenv("IMBFAST_ISA");
    if (env == nullptr || env[0] == '\0') return c;
    c.request = env;
    Isa cap;
    if (std::strcmp(env, "avx512vnni") == 0) {
        cap = Isa::avx512;  // VNNI stays on if the CPU has it
    } else if (std::strcmp(env, "generic") == 0) {
        cap = Isa::generic;
    } else if (std::strcmp(env, "avx2") == 0) {
        cap = Isa::avx2;
    } else if (std::strcmp(env, "avx512") == 0) {
        cap = Isa::avx512;
    } else {
        c.request_valid = false;
        return c;
    }
    if (static_cast<int>(cap) < static_cast<int>(c.active)) c.active = cap;
    // Any explicit cap but avx512vnni keeps the kernels that predate VNNI.
    if (std::strcmp(env, "avx512vnni") != 0) c.vnni_active = false;
    return c;
}

const IsaChoice& choice() {
    static const IsaChoice c = detect();
    return c;
}

}  // namespace

Isa active_isa() { return choice().active; }

Isa best_isa() { return choice().best; }

bool vnni_active() { return choice().vnni_active; }

bool vnni_supported() { return choice().vnni_supported; }

const char* isa_request() { return choice().request; }

bool isa_request_valid() { return choice().request_valid; }

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
