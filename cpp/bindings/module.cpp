// The _core extension module: one register_<area> function per area.
#include <pybind11/pybind11.h>

#include <stdexcept>

#include "register.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "imbfast's C++ core: resampling kernels and exact neighbour refinement.";
    // The core throws std::length_error for a result too large to hold
    // (like NumPy's "Unable to allocate"): MemoryError, with its message.
    pybind11::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const std::length_error& e) {
            PyErr_SetString(PyExc_MemoryError, e.what());
        }
    });
    imbfast_bindings::register_info(m);
    imbfast_bindings::register_resample(m);
    imbfast_bindings::register_neighbors(m);
    imbfast_bindings::register_pruned(m);
    imbfast_bindings::register_cleaning(m);
    imbfast_bindings::register_sampling(m);
    imbfast_bindings::register_categorical(m);
}
