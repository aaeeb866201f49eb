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

namespace imbfast {

namespace {

using Pair = std::pair<double, std::int64_t>;  // (squared distance, row)

template <class T>
IMBFAST_INLINE double sqdist_body(const T* __restrict a, const T* __restrict b, std::int64_t d) {
    double acc = 0.0;
    for (std::int64_t j = 0; j < d; ++j) {
        const double diff = static_cast<double>(a[j]) - static_cast<double>(b[j]);
        acc += diff * diff;
    }
    return acc;
}

template <class T>
double sqdist_generic(const T* a, const T* b, std::int64_t d) {
    return sqdist_body<T>(a, b, d);
}
template <class T>
IMBFAST_TARGET_AVX2 double sqdist_avx2(const T* a, const T* b, std::int64_t d) {
    return sqdist_body<T>(a, b, d);
}
template <class T>
IMBFAST_TARGET_AVX512 double sqdist_avx512(const T* a, const T* b, std::int64_t d) {
    return sqdist_body<T>(a, b, d);
}

template <class T>
using SqDist = double (*)(const T*, const T*, std::int64_t);

template <class T>
SqDist<T> pick_sqdist() {
    switch (active_isa()) {
        case Isa::avx512:
            return &sqdist_avx512<T>;
        case Isa::avx2:
            return &sqdist_avx2<T>;
        default:
            return &sqdist_generic<T>;
    }
}

// NaN never compares, which would break the ordering: it ranks last.
inline double sanitize(double v) { return std::isnan(v) ? std::numeric_limits<double>::infinity() : v; }

// Keeps the k smallest (distance, index) pairs seen so far in a max-heap.
class TopK {
   public:
    explicit TopK(std::int64_t k) : k_(static_cast<std::size_t>(k)) { heap_.reserve(k_ + 1); }
    void clear() { heap_.clear(); }
    void push(double dist, std::int64_t row) {
        const Pair p{dist, row};
        if (heap_.size() < k_) {
            heap_.push_back(p);
            std::push_heap(heap_.begin(), heap_.end());
        } else if (p < heap_.front()) {
            std::pop_heap(heap_.begin(), heap_.end());
            heap_.back() = p;
            std::push_heap(heap_.begin(), heap_.end());
        }
    }
    std::size_t size() const { return heap_.size(); }
    // Writes the pairs in ascending order and returns how many were written.
    std::size_t write(std::int64_t* idx, double* dist) {
        std::sort_heap(heap_.begin(), heap_.end());
        for (std::size_t j = 0; j < heap_.size(); ++j) {
            idx[j] = heap_[j].second;
            dist[j] = heap_[j].first;
        }
        return heap_.size();
    }

   private:
    std::size_t k_;
    std::vector<Pair> heap_;
};

template <class T>
void scan_all(const T* X, std::int64_t n, std::int64_t d, const T* q, std::int64_t self,
              SqDist<T> sqdist, TopK& top) {
    for (std::int64_t j = 0; j < n; ++j) {
        if (j == self) continue;
        top.push(sanitize(sqdist(q, X + j * d, d)), j);
    }
}

void check_sizes(std::int64_t n, std::int64_t d, const void* Q, std::int64_t nq, std::int64_t k) {
    if (n < 0 || d < 1 || nq < 0)
        throw std::invalid_argument("knn: sizes must be non-negative and d >= 1");
    if (k < 1) throw std::invalid_argument("knn: k must be >= 1, got " + std::to_string(k));
    if (!Q && nq != n)
        throw std::invalid_argument("knn: querying X itself needs nq == n");
    const std::int64_t available = Q ? n : n - 1;
    if (k > available)
        throw std::invalid_argument("knn: k=" + std::to_string(k) + " but only " +
                                    std::to_string(available) + " rows can be neighbours");
}

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

    parallel_for(nq, n_threads, 64, [&](std::int64_t begin, std::int64_t end) {
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
    parallel_for(nq, n_threads, 16, [&](std::int64_t begin, std::int64_t end) {
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
