// Shared pieces of the exact k-NN kernels (private to cpp/src/knn*.cpp):
// the double-precision squared distance every engine ranks by, the
// (distance, index) top-k heap, the exact scan and the size checks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "imbfast/dispatch.hpp"

namespace imbfast {
namespace knn_detail {

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
    // Largest kept distance, and its row; only valid when size() > 0.
    double worst() const { return heap_.front().first; }
    std::int64_t worst_row() const { return heap_.front().second; }
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

inline void check_sizes(std::int64_t n, std::int64_t d, const void* Q, std::int64_t nq, std::int64_t k) {
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

}  // namespace knn_detail
}  // namespace imbfast
