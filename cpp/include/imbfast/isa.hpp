// Runtime instruction-set detection. Kernels are compiled several times
// (portable, AVX2, AVX-512) and the best one the CPU supports is chosen
// once at run time; default builds never assume more than the baseline.
#pragma once

namespace imbfast {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

// The instruction set the kernels dispatch to: the best one both compiled
// in and supported by this CPU, capped by the environment variable
// IMBFAST_ISA (generic, avx2, avx512 or avx512vnni, which caps the ISA at
// avx512 and allows VNNI), read once on first use.
Isa active_isa();

// Whether the int8 dot product of AVX-512 VNNI (VPDPBUSD) may be used: the
// active ISA is avx512, the CPU has avx512vnni, and IMBFAST_ISA is unset,
// unknown or "avx512vnni". IMBFAST_ISA=avx512 (or lower) turns it off, so
// every older path can still be forced.
bool vnni_active();

// Whether this CPU has avx512vnni (ignores IMBFAST_ISA).
bool vnni_supported();

// The best instruction set this CPU supports (ignores IMBFAST_ISA).
Isa best_isa();

// IMBFAST_ISA as read on first use ("" when unset or empty).
const char* isa_request();

// False when IMBFAST_ISA holds an unknown value (which is then ignored).
bool isa_request_valid();

// The variant of a kernel compiled for the active instruction set: each of
// the three is the same function built for generic, AVX2 or AVX-512 code.
template <class F>
F pick_by_isa(F generic, F avx2, F avx512) {
    switch (active_isa()) {
        case Isa::avx512:
            return avx512;
        case Isa::avx2:
            return avx2;
        default:
            return generic;
    }
}

// Human-readable name of an instruction set ("generic", "avx2", "avx512").
const char* isa_name(Isa isa);

// Names of the instruction sets this build carries, comma-separated.
const char* compiled_isas();

}  // namespace imbfast
