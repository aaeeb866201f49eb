// The int8 filter pass of the exact query search (private to cpp/src).
#pragma once

#include <cstdint>
#include <vector>

#include "imbfast/knn.hpp"

namespace imbfast {
namespace knn_detail {

// Answers the queries Q against X with the int8 filter pass when the
// options and the data allow it (see knn_int8.cpp) and returns true; returns
// false, having written nothing, when the float32 pass should answer
// instead. `centre` is the centring of the float32 pass (the mean of X, or
// for lattice data a lattice point) and `max_abs` the largest |x - centre|
// over X and Q. `lattice_unit` (0: none) is the unit of lattice data (see
// exact_lattice in knn_fused.cpp): their centred values are then exact
// integers in units, and within 127 units the int8 pass is exact itself.
// Fills the int8 fields of `stats`.
template <class T>
bool int8_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
              std::int64_t k, std::int64_t n_extra, std::int64_t* out_idx, double* out_dist,
              int n_threads, int n_workers, const double* within,
              const std::vector<double>& centre, double max_abs, double lattice_unit,
              const FusedOptions& options, FusedStats& stats);

}  // namespace knn_detail
}  // namespace imbfast
