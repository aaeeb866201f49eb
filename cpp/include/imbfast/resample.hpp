// Kernels that build resampled arrays: SMOTE interpolation and row gathers.
// All functions validate their arguments and throw std::invalid_argument or
// std::out_of_range; they never abort. Output buffers are provided by the
// caller and are written in place.
#pragma once

#include <cstdint>

namespace imbfast {

// SMOTE interpolation, matching imbalanced-learn's arithmetic exactly.
//
// X is the row-major (n_rows, d) class being over-sampled and `nns` its
// (n_rows, k) neighbour table. For each output row i, with s = samples[i]
// (a flat index into nns), r = s / k:
//     out[i] = X[r] + steps[i] * (X[nns[s]] - X[r])
// The difference is formed in T and the rest in double before rounding to T,
// which is what NumPy does for `X[rows] + steps[:, None] * (nb - X[rows])`
// with float64 steps.
template <class T>
void smote_interpolate(const T* X, std::int64_t n_rows, std::int64_t d,
                       const std::int64_t* nns, std::int64_t k,
                       const std::int64_t* samples, const double* steps,
                       std::int64_t n_out, T* out, int n_threads);

// Interpolation between explicitly given rows of two matrices, for the SMOTE
// variants whose base samples and neighbours come from different sets
// (ADASYN, BorderlineSMOTE, SVMSMOTE, KMeansSMOTE). With b = base[base_rows[i]]
// and v = nb[nb_rows[i]], both row-major with d columns:
//     diff   = T(v - b)
//     diff   = T(diff * scales[i])        (only when `scales` is not null)
//     out[i] = T(b + steps[i] * diff)
// in double after each rounding to T, which is NumPy's arithmetic for
// `diffs[mask] *= u; base + steps[:, None] * diffs` with float64 u and steps.
template <class T>
void smote_interpolate_rows(const T* base, std::int64_t n_base, const T* nb, std::int64_t n_nb,
                            std::int64_t d, const std::int64_t* base_rows,
                            const std::int64_t* nb_rows, const double* steps,
                            const double* scales, std::int64_t n_out, T* out, int n_threads);

// out[i, :] = X[rows[i], :] for a row-major (n_rows, d) matrix.
// Works on raw bytes: `row_bytes` is d * itemsize.
void gather_rows(const void* X, std::int64_t n_rows, std::int64_t row_bytes,
                 const std::int64_t* rows, std::int64_t n_out, void* out,
                 int n_threads);

}  // namespace imbfast
