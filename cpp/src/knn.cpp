#include "imbfast/knn.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "imbfast/dispatch.hpp"
#include "imbfast/parallel.hpp"
#include "knn_internal.hpp"

namespace imbfast {

namespace {
using namespace knn_detail;
}  // namespace

template <class T>
RefineStats refine_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
                       const std::int64_t* cand, const float* cand_dist, std::int64_t c,
                       const double* bound, std::int64_t k, std::int64_t* out_idx,
                       double* out_dist, int n_threads) {
    check_sizes(n, d, Q, nq, k);
    if (c < 1) throw std::invalid_argument("refine_knn: need at least one candidate per query");
    if (nq == 0) return {};
    if (!X || !cand || !cand_dist || !bound || !out_idx || !out_dist)
        throw std::invalid_argument("refine_knn: null buffer");
    for (std::int64_t i = 0; i < nq * c; ++i) {
        if (cand[i] >= n)
            throw std::out_of_range("refine_knn: candidate " + std::to_string(cand[i]) +
                                    " out of range [0, " + std::to_string(n) + ")");
    }
    const SqDist<T> sqdist = pick_sqdist<T>();
    std::atomic<std::int64_t> n_fallback{0};
    // When the candidate lists can hold every row, they are complete.
    const bool complete = c >= n;

    parallel_for(nq, n_threads, grain_for(c * d), [&](std::int64_t begin, std::int64_t end) {
        TopK top(k);
        std::int64_t local_fallback = 0;
        for (std::int64_t i = begin; i < end; ++i) {
            const T* q = Q ? Q + i * d : X + i * d;
            const std::int64_t self = Q ? -1 : i;
            const std::int64_t* ci = cand + i * c;
            top.clear();
            std::int64_t valid = 0;
            float worst = -std::numeric_limits<float>::infinity();
            for (std::int64_t j = 0; j < c; ++j) {
                if (ci[j] < 0) continue;
                ++valid;
                worst = std::max(worst, cand_dist[i * c + j]);
                if (ci[j] == self) continue;
                top.push(sanitize(sqdist(q, X + ci[j] * d, d)), ci[j]);
            }
            bool exact = complete || valid >= n;
            if (!exact && static_cast<std::int64_t>(top.size()) == k) {
                // Rows outside the list are at least (worst - bound) away, so
                // the list is provably complete when its k-th is closer.
                top.write(out_idx + i * k, out_dist + i * k);
                if (out_dist[i * k + k - 1] < static_cast<double>(worst) - bound[i]) continue;
            }
            if (!exact) {
                ++local_fallback;
                top.clear();
                scan_all(X, n, d, q, self, sqdist, top);
            }
            top.write(out_idx + i * k, out_dist + i * k);
        }
        n_fallback += local_fallback;
    });
    RefineStats stats;
    stats.n_fallback = n_fallback.load();
    return stats;
}

template <class T>
void brute_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
               std::int64_t k, std::int64_t* out_idx, double* out_dist, int n_threads) {
    check_sizes(n, d, Q, nq, k);
    if (nq == 0) return;
    if (!X || !out_idx || !out_dist) throw std::invalid_argument("brute_knn: null buffer");
    const SqDist<T> sqdist = pick_sqdist<T>();
    parallel_for(nq, n_threads, grain_for(n * d), [&](std::int64_t begin, std::int64_t end) {
        TopK top(k);
        for (std::int64_t i = begin; i < end; ++i) {
            top.clear();
            scan_all(X, n, d, Q ? Q + i * d : X + i * d, Q ? -1 : i, sqdist, top);
            top.write(out_idx + i * k, out_dist + i * k);
        }
    });
}

#define IMBFAST_INSTANTIATE_KNN(T)                                                            \
    template RefineStats refine_knn<T>(const T*, std::int64_t, std::int64_t, const T*,        \
                                       std::int64_t, const std::int64_t*, const float*,       \
                                       std::int64_t, const double*, std::int64_t,             \
                                       std::int64_t*, double*, int);                          \
    template void brute_knn<T>(const T*, std::int64_t, std::int64_t, const T*, std::int64_t, \
                               std::int64_t, std::int64_t*, double*, int);

IMBFAST_INSTANTIATE_KNN(float)
IMBFAST_INSTANTIATE_KNN(double)

#undef IMBFAST_INSTANTIATE_KNN

}  // namespace imbfast
