// Runtime instruction-set detection. Kernels are compiled several times
// (portable, AVX2, AVX-512) and the best one the CPU supports is chosen
// once at run time; default builds never assume more than the baseline.
#pragma once

namespace imbfast {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

// The best instruction set both compiled in and supported by this CPU.
Isa active_isa();

// Human-readable name of an instruction set ("generic", "avx2", "avx512").
const char* isa_name(Isa isa);

// Names of the instruction sets this build carries, comma-separated.
const char* compiled_isas();

}  // namespace imbfast
