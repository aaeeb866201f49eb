#include "imbfast/isa.hpp"
#include "imbfast/parallel.hpp"
#include "register.hpp"

namespace imbfast_bindings {

void register_info(pybind11::module_& m) {
    m.def("active_isa", [] { return std::string(imbfast::isa_name(imbfast::active_isa())); },
          "Instruction set the kernels use on this CPU.");
    m.def("best_isa", [] { return std::string(imbfast::isa_name(imbfast::best_isa())); },
          "Best instruction set this CPU supports (IMBFAST_ISA ignored).");
    m.def("isa_request", [] { return std::string(imbfast::isa_request()); },
          "IMBFAST_ISA as read when the core first dispatched (empty when unset).");
    m.def("isa_request_valid", &imbfast::isa_request_valid,
          "False when IMBFAST_ISA held an unknown value, which is then ignored.");
    m.def("vnni_active", &imbfast::vnni_active,
          "Whether the int8 kernels use AVX-512 VNNI (off under any IMBFAST_ISA cap but "
          "avx512vnni).");
    m.def("vnni_supported", &imbfast::vnni_supported,
          "Whether this CPU has AVX-512 VNNI (IMBFAST_ISA ignored).");
    m.def("compiled_isas", [] { return std::string(imbfast::compiled_isas()); },
          "Instruction sets compiled into this build.");
    m.def("hardware_threads", &imbfast::hardware_threads,
          "Hardware threads the core may use at most.");
#ifdef IMBFAST_VERSION
    m.attr("__version__") = IMBFAST_VERSION;
#endif
}

}  // namespace imbfast_bindings
