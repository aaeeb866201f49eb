// The _core extension module: one register_<area> function per area.
#include <pybind11/pybind11.h>

#include "register.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "imbfast's C++ core: resampling kernels and exact neighbour refinement.";
    imbfast_bindings::register_info(m);
    imbfast_bindings::register_resample(m);
    imbfast_bindings::register_neighbors(m);
    imbfast_bindings::register_cleaning(m);
    imbfast_bindings::register_sampling(m);
    imbfast_bindings::register_categorical(m);
}
