#pragma once

#include <pybind11/pybind11.h>

namespace imbfast_bindings {

void register_info(pybind11::module_& m);
void register_resample(pybind11::module_& m);
void register_neighbors(pybind11::module_& m);
void register_pruned(pybind11::module_& m);
void register_cleaning(pybind11::module_& m);
void register_sampling(pybind11::module_& m);
void register_categorical(pybind11::module_& m);

}  // namespace imbfast_bindings
