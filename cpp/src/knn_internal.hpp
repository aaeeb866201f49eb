// Shared pieces of the exact k-NN kernels (private to cpp/src/knn*.cpp):
// the double-precision squared distance every engine ranks by, the
// (distance, index) top-k heap, the exact scan, the size checks and the
// column reductions that centre the data.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "imbfast/dispatch.hpp"
#include "imbfast/parallel.hpp"

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

// Column reductions over the rows of A (m x d), on up to n_workers threads
// (from kMinWorkPerThread values per thread: a 1M x 20 search's mean and
// range are 20M values each). Rows go in fixed blocks of kReduceRows, each
// summed in row order, and the blocks' sums are added in block order: the
// result is the same for any number of threads.
constexpr std::int64_t kReduceRows = 4096;

// Adds the rows [i0, i1) of A, (a - centre) or (a - centre)^2, into acc.
template <bool kCentred, bool kSquares, class T>
void add_rows(const T* __restrict A, std::int64_t i0, std::int64_t i1, std::int64_t d,
              const double* __restrict centre, double* __restrict acc) {
    for (std::int64_t i = i0; i < i1; ++i) {
        const T* __restrict row = A + i * d;
        for (std::int64_t j = 0; j < d; ++j) {
            const double v = kCentred ? static_cast<double>(row[j]) - centre[j]
                                      : static_cast<double>(row[j]);
            acc[j] += kSquares ? v * v : v;
        }
    }
}

// Per-column sums of a, or with a centre of (a - centre)^2.
template <class T>
std::vector<double> column_sums(const T* A, std::int64_t m, std::int64_t d, const double* centre,
                                int n_workers) {
    const std::int64_t blocks = (m + kReduceRows - 1) / kReduceRows;
    std::vector<double> part(static_cast<std::size_t>(blocks * d), 0.0);
    parallel_for(blocks, n_workers, grain_for(kReduceRows * d), [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t b = b0; b < b1; ++b) {
            const std::int64_t i0 = b * kReduceRows, i1 = std::min(m, i0 + kReduceRows);
            double* acc = part.data() + b * d;
            if (centre)
                add_rows<true, true>(A, i0, i1, d, centre, acc);
            else
                add_rows<false, false>(A, i0, i1, d, centre, acc);
        }
    });
    std::vector<double> sums(static_cast<std::size_t>(d), 0.0);
    for (std::int64_t b = 0; b < blocks; ++b)
        for (std::int64_t j = 0; j < d; ++j)
            sums[static_cast<std::size_t>(j)] += part[static_cast<std::size_t>(b * d + j)];
    return sums;
}

// The largest |a - centre| over the rows of A and B (either may be null), NaN
// if any is NaN.
template <class T>
double max_centred(const T* A, std::int64_t m, const T* B, std::int64_t mb, std::int64_t d,
                   const std::vector<double>& centre, int n_workers) {
    double most = 0.0;
    bool nan = false;
    std::mutex mutex;
    for (const auto& part : {std::pair<const T*, std::int64_t>{A, m}, {B, mb}}) {
        const T* X = part.first;
        const std::int64_t rows = part.second;
        if (!X || rows == 0) continue;
        parallel_for(rows, n_workers, grain_for(d), [&](std::int64_t i0, std::int64_t i1) {
            double local = 0.0;
            bool local_nan = false;
            const double* __restrict c = centre.data();
            for (std::int64_t i = i0; i < i1; ++i) {
                const T* __restrict row = X + i * d;
                for (std::int64_t j = 0; j < d; ++j) {
                    const double v = std::fabs(static_cast<double>(row[j]) - c[j]);
                    local_nan |= v != v;
                    local = local < v ? v : local;
                }
            }
            std::lock_guard<std::mutex> lock(mutex);
            most = std::max(most, local);
            nan |= local_nan;
        });
    }
    return nan ? std::numeric_limits<double>::quiet_NaN() : most;
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
