#include "imbfast/resample.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "imbfast/dispatch.hpp"
#include "imbfast/parallel.hpp"

namespace imbfast {

namespace {

// Bytes of output per thread below which threading costs more than it saves.
constexpr std::int64_t kGrainBytes = kMinWorkPerThread;

std::int64_t grain_rows(std::int64_t row_bytes) {
    return kGrainBytes / std::max<std::int64_t>(row_bytes, 1) + 1;
}

template <class T>
IMBFAST_INLINE void interpolate_body(const T* X, std::int64_t d, const std::int64_t* nns,
                                     std::int64_t k, const std::int64_t* samples,
                                     const double* steps, std::int64_t begin, std::int64_t end,
                                     T* out) {
    // Rows are read at random: prefetch the ones a few iterations ahead so
    // the memory latency overlaps with the arithmetic.
    constexpr std::int64_t kAhead = 6;
    const std::int64_t row_bytes = d * static_cast<std::int64_t>(sizeof(T));
    for (std::int64_t i = begin; i < end; ++i) {
        // Two stages: the neighbour-table entry first, the rows once it is in.
        if (i + 2 * kAhead < end) IMBFAST_PREFETCH(nns + samples[i + 2 * kAhead]);
        if (i + kAhead < end) {
            const std::int64_t s_next = samples[i + kAhead];
            const char* b = reinterpret_cast<const char*>(X + (s_next / k) * d);
            const char* nb_next = reinterpret_cast<const char*>(X + nns[s_next] * d);
            for (std::int64_t off = 0; off < row_bytes; off += 64) {
                IMBFAST_PREFETCH(b + off);
                IMBFAST_PREFETCH(nb_next + off);
            }
        }
        const std::int64_t s = samples[i];
        const T* __restrict base = X + (s / k) * d;
        const T* __restrict nb = X + nns[s] * d;
        T* __restrict o = out + i * d;
        const double step = steps[i];
        for (std::int64_t j = 0; j < d; ++j) {
            const T diff = static_cast<T>(nb[j] - base[j]);
            o[j] = static_cast<T>(static_cast<double>(base[j]) + step * static_cast<double>(diff));
        }
    }
}

template <class T>
using InterpFn = void (*)(const T*, std::int64_t, const std::int64_t*, std::int64_t,
                          const std::int64_t*, const double*, std::int64_t, std::int64_t, T*);

template <class T>
void interpolate_generic(const T* X, std::int64_t d, const std::int64_t* nns, std::int64_t k,
                         const std::int64_t* samples, const double* steps, std::int64_t begin,
                         std::int64_t end, T* out) {
    interpolate_body<T>(X, d, nns, k, samples, steps, begin, end, out);
}

template <class T>
IMBFAST_TARGET_AVX2 void interpolate_avx2(const T* X, std::int64_t d, const std::int64_t* nns,
                                          std::int64_t k, const std::int64_t* samples,
                                          const double* steps, std::int64_t begin,
                                          std::int64_t end, T* out) {
    interpolate_body<T>(X, d, nns, k, samples, steps, begin, end, out);
}

template <class T>
IMBFAST_TARGET_AVX512 void interpolate_avx512(const T* X, std::int64_t d,
                                              const std::int64_t* nns, std::int64_t k,
                                              const std::int64_t* samples, const double* steps,
                                              std::int64_t begin, std::int64_t end, T* out) {
    interpolate_body<T>(X, d, nns, k, samples, steps, begin, end, out);
}

template <class T>
InterpFn<T> pick_interpolate() {
    return pick_by_isa(&interpolate_generic<T>, &interpolate_avx2<T>, &interpolate_avx512<T>);
}

void require(bool ok, const char* message) {
    if (!ok) throw std::invalid_argument(message);
}

void check_index(std::int64_t value, std::int64_t limit, const char* what) {
    if (value < 0 || value >= limit)
        throw std::out_of_range(std::string(what) + " " + std::to_string(value) +
                                " out of range [0, " + std::to_string(limit) + ")");
}

}  // namespace

template <class T>
void smote_interpolate(const T* X, std::int64_t n_rows, std::int64_t d, const std::int64_t* nns,
                       std::int64_t k, const std::int64_t* samples, const double* steps,
                       std::int64_t n_out, T* out, int n_threads) {
    require(n_rows >= 0 && d >= 0 && n_out >= 0, "smote_interpolate: sizes must be non-negative");
    require(k >= 1, "smote_interpolate: k must be >= 1");
    require(n_rows <= std::numeric_limits<std::int64_t>::max() / k,
            "smote_interpolate: n_rows * k overflows");
    require(n_rows == 0 || d <= std::numeric_limits<std::int64_t>::max() / n_rows /
                                    static_cast<std::int64_t>(sizeof(T)),
            "smote_interpolate: n_rows * d overflows");
    require(n_out == 0 || d <= std::numeric_limits<std::int64_t>::max() / n_out /
                                   static_cast<std::int64_t>(sizeof(T)),
            "smote_interpolate: n_out * d overflows");
    if (n_out == 0 || d == 0) return;
    require(X && nns && samples && steps && out, "smote_interpolate: null buffer");
    // Every index is checked once, up front, so the kernel cannot read out of
    // bounds whatever it is given.
    const std::int64_t table = n_rows * k;
    for (std::int64_t j = 0; j < table; ++j) check_index(nns[j], n_rows, "smote_interpolate: neighbour");
    for (std::int64_t i = 0; i < n_out; ++i) check_index(samples[i], table, "smote_interpolate: sample");

    const InterpFn<T> kernel = pick_interpolate<T>();
    const std::int64_t row_bytes = d * static_cast<std::int64_t>(sizeof(T));
    parallel_for(n_out, n_threads, grain_rows(row_bytes), [&](std::int64_t begin, std::int64_t end) {
        kernel(X, d, nns, k, samples, steps, begin, end, out);
    });
}

template void smote_interpolate<float>(const float*, std::int64_t, std::int64_t,
                                       const std::int64_t*, std::int64_t, const std::int64_t*,
                                       const double*, std::int64_t, float*, int);
template void smote_interpolate<double>(const double*, std::int64_t, std::int64_t,
                                        const std::int64_t*, std::int64_t, const std::int64_t*,
                                        const double*, std::int64_t, double*, int);

template <class T>
void smote_interpolate_rows(const T* base, std::int64_t n_base, const T* nb, std::int64_t n_nb,
                            std::int64_t d, const std::int64_t* base_rows,
                            const std::int64_t* nb_rows, const double* steps,
                            const double* scales, std::int64_t n_out, T* out, int n_threads) {
    require(n_base >= 0 && n_nb >= 0 && d >= 0 && n_out >= 0,
            "smote_interpolate_rows: sizes must be non-negative");
    if (n_out == 0 || d == 0) return;
    require(base && nb && base_rows && nb_rows && steps && out,
            "smote_interpolate_rows: null buffer");
    for (std::int64_t i = 0; i < n_out; ++i) {
        check_index(base_rows[i], n_base, "smote_interpolate_rows: base row");
        check_index(nb_rows[i], n_nb, "smote_interpolate_rows: neighbour row");
    }
    const std::int64_t row_bytes = d * static_cast<std::int64_t>(sizeof(T));
    parallel_for(n_out, n_threads, grain_rows(row_bytes), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const T* __restrict b = base + base_rows[i] * d;
            const T* __restrict v = nb + nb_rows[i] * d;
            T* __restrict o = out + i * d;
            const double step = steps[i];
            if (scales) {
                const double scale = scales[i];
                for (std::int64_t j = 0; j < d; ++j) {
                    const T diff = static_cast<T>(
                        static_cast<double>(static_cast<T>(v[j] - b[j])) * scale);
                    o[j] = static_cast<T>(static_cast<double>(b[j]) +
                                          step * static_cast<double>(diff));
                }
            } else {
                for (std::int64_t j = 0; j < d; ++j) {
                    const T diff = static_cast<T>(v[j] - b[j]);
                    o[j] = static_cast<T>(static_cast<double>(b[j]) +
                                          step * static_cast<double>(diff));
                }
            }
        }
    });
}

template void smote_interpolate_rows<float>(const float*, std::int64_t, const float*,
                                            std::int64_t, std::int64_t, const std::int64_t*,
                                            const std::int64_t*, const double*, const double*,
                                            std::int64_t, float*, int);
template void smote_interpolate_rows<double>(const double*, std::int64_t, const double*,
                                             std::int64_t, std::int64_t, const std::int64_t*,
                                             const std::int64_t*, const double*, const double*,
                                             std::int64_t, double*, int);

void gather_rows(const void* X, std::int64_t n_rows, std::int64_t row_bytes,
                 const std::int64_t* rows, std::int64_t n_out, void* out, int n_threads) {
    require(n_rows >= 0 && row_bytes >= 0 && n_out >= 0, "gather_rows: sizes must be non-negative");
    require(n_rows == 0 || row_bytes <= std::numeric_limits<std::int64_t>::max() / n_rows,
            "gather_rows: n_rows * row_bytes overflows");
    require(n_out == 0 || row_bytes <= std::numeric_limits<std::int64_t>::max() / n_out,
            "gather_rows: n_out * row_bytes overflows");
    if (n_out == 0 || row_bytes == 0) return;
    require(X && rows && out, "gather_rows: null buffer");
    // One branch-free (vectorised) pass for the range; the slow loop only
    // finds the culprit for the message.
    std::int64_t lo = rows[0], hi = rows[0];
    for (std::int64_t i = 1; i < n_out; ++i) {
        lo = std::min(lo, rows[i]);
        hi = std::max(hi, rows[i]);
    }
    if (lo < 0 || hi >= n_rows)
        for (std::int64_t i = 0; i < n_out; ++i) check_index(rows[i], n_rows, "gather_rows: row");
    const auto* src = static_cast<const unsigned char*>(X);
    auto* dst = static_cast<unsigned char*>(out);
    // A run of consecutive source rows is one copy (a RandomOverSampler
    // output starts with every row in order); scattered rows are fetched
    // kAhead rows ahead of their copy, as a random gather waits on memory.
    constexpr std::int64_t kAhead = 8;
    parallel_for(n_out, n_threads, grain_rows(row_bytes), [&](std::int64_t begin, std::int64_t end) {
        std::int64_t i = begin;
        while (i < end) {
            std::int64_t j = i + 1;
            while (j < end && rows[j] == rows[j - 1] + 1) ++j;
            if (j + kAhead < end) IMBFAST_PREFETCH(src + rows[j + kAhead] * row_bytes);
            std::memcpy(dst + i * row_bytes, src + rows[i] * row_bytes,
                        static_cast<std::size_t>((j - i) * row_bytes));
            i = j;
        }
    });
}

}  // namespace imbfast
