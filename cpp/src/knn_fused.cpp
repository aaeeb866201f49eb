// Fused float32 brute-force k-NN pass with exact re-ranking (see knn.hpp).
//
// Layout: rows are centred, rounded to float32 and augmented with two
// coordinates so that one inner product gives half the squared distance:
// queries as (-q, 1, ||q||^2/2), database rows as (y, ||y||^2/2, 1), whose
// product is (||q||^2 + ||y||^2)/2 - <q, y>. The database is packed in panels
// of kNR = 16 rows stored transposed ([d+2][16]), so one 256-bit load holds
// one coordinate of 8 rows. A tile multiplies kMR = 6 query rows by one panel
// with 12 accumulators (6 x 2 vectors). Each query keeps a max-heap of its c
// best candidates; its top is the threshold the tile is compared with, and a
// tile where nothing beats a threshold costs 12 compares and one movemask.
// Rows are padded to a multiple of 48 with +inf norms, which can never enter
// a list (no padding product is 0 * inf).
//
// Querying X itself computes each pair once: the tile offers its values to
// the query rows and, through a column-wise minimum, to the database rows.
// Workers take block pairs whose rows no other worker holds (PairSchedule),
// so one set of lists serves them all. Exactness comes from the re-ranking
// step (double distances, ties by index, proof by the per-pair lower bounds
// of the float32 pass) and, for a query whose proof fails, from the tie pass
// (see tie_pass).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "imbfast/dispatch.hpp"
#include "imbfast/knn.hpp"
#include "imbfast/parallel.hpp"
#include "knn_int8.hpp"
#include "knn_internal.hpp"

#if defined(IMBFAST_HAVE_X86_DISPATCH)
#include <immintrin.h>
#endif

namespace imbfast {

namespace {

using namespace knn_detail;

constexpr int kMR = 6;                 // query rows per tile
constexpr int kNR = 16;                // database rows per panel
constexpr std::int64_t kAlign = 48;    // lcm(kMR, kNR): row padding
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr double kU32 = 1.0 / 16777216.0;  // unit roundoff of float32

// Absolute slack of the lower bounds, for the absolute (not relative) error
// of float32 values near underflow; far below any representable distance of
// the scaled data that matters.
constexpr double kTiny = 1e-30;

std::int64_t round_up(std::int64_t v, std::int64_t m) { return (v + m - 1) / m * m; }

// The largest float32 <= v (v finite or infinite).
float round_down(double v) {
    float f = static_cast<float>(v);
    if (static_cast<double>(f) > v) f = std::nextafter(f, -kInf);
    return f;
}

// A float32 threshold t such that every tile value <= v passes `value < t`.
float threshold_above(double v) {
    if (!(v < static_cast<double>(std::numeric_limits<float>::max()))) return kInf;
    float f = static_cast<float>(v);
    if (static_cast<double>(f) < v) f = std::nextafter(f, kInf);
    return std::nextafter(f, kInf);
}

// The next float32 above a finite v >= 0 (lattice tile values are >= 0).
inline float next_up(float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits = v == 0.0f ? 1u : bits + 1u;
    std::memcpy(&v, &bits, sizeof bits);
    return v;
}

// Per-row candidate lists, each sorted ascending by (value, row): `lanes`
// slots per row (c rounded up to 8, so a list is one or two 256-bit
// registers), empty slots holding (+inf, -1). The first c slots define the
// threshold: a pair (v, j) enters row r's list when it precedes the c-th
// entry, (v, j) < (D[c-1], I[c-1]); the slots after c keep whatever is pushed
// out of the first c until it falls off the end, and are free extra
// candidates. Because the order includes the row index, a list holds the c
// smallest pairs of all pairs offered to it whatever the order of the
// offers, so when the tile values are exact distances (exact arithmetic,
// see exact_lattice) the lists are the exact answer, ties by lower index.
// thr[r] is the float32 threshold of the SIMD filter (`value < thr`) for
// row r's own sweep: D[c-1]. A tie with D[c-1] never enters from there when
// the sweep offers rows in increasing order, after every row already in the
// list: the query pass, and the symmetric pass on one worker, whose column
// side offers each row its lower rows before its own sweep starts (see
// PairSchedule). The column side offers rows in no such order, nor does the
// row side of the symmetric pass on several workers (`tie_rows`); in exact
// arithmetic they filter with tie_thr[r], the next float above D[c-1], so
// that ties reach the index comparison. Without exact arithmetic ties are
// the proof's business, and thr serves everywhere.
struct Lists {
    std::int64_t c = 0;
    std::int64_t lanes = 0;
    bool exact = false;
    std::vector<float> dist;
    std::vector<std::int32_t> idx;
    std::vector<float> thr;
    std::vector<float> tie_thr;  // exact arithmetic only
    bool tie_rows = false;       // exact arithmetic, rows offered out of order
    // Collect mode (the tie pass): thresholds stay fixed and every (query,
    // row) pair below its query's threshold is recorded instead of kept.
    bool collect = false;
    std::vector<std::pair<std::int32_t, std::int32_t>> hits;

    void init(std::int64_t rows, std::int64_t cap, bool exact_values, bool out_of_order) {
        c = cap;
        lanes = round_up(cap, 8);
        exact = exact_values;
        tie_rows = exact && out_of_order;
        dist.assign(static_cast<std::size_t>(rows * lanes), kInf);
        idx.assign(static_cast<std::size_t>(rows * lanes), -1);
        thr.assign(static_cast<std::size_t>(rows), kInf);
        if (exact) tie_thr.assign(static_cast<std::size_t>(rows), kInf);
    }

    // The thresholds of the column side, and of the row side.
    const float* col_thr() const { return exact ? tie_thr.data() : thr.data(); }
    const float* row_thr() const { return tie_rows ? tie_thr.data() : thr.data(); }

    // Whether (v, j) precedes row r's c-th entry (the filter passed v; only
    // needed against tie_thr, which lets ties through).
    bool admits(std::int64_t r, float v, std::int32_t j) const {
        const float t = dist[static_cast<std::size_t>(r * lanes + c - 1)];
        return v < t || (v == t && j < idx[static_cast<std::size_t>(r * lanes + c - 1)]);
    }

    // After an insertion; a list not yet full keeps its starting threshold.
    void update_threshold(std::int64_t r) {
        const float t = dist[static_cast<std::size_t>(r * lanes + c - 1)];
        if (!(t < kInf)) return;
        thr[static_cast<std::size_t>(r)] = t;
        if (exact) tie_thr[static_cast<std::size_t>(r)] = next_up(t);
    }
};

// Inserts (v, j), which row r admits, into its sorted list: one slot after
// it moves up, the last slot falls off.
inline void insert_scalar(Lists& L, std::int64_t r, float v, std::int32_t j) {
    float* D = L.dist.data() + r * L.lanes;
    std::int32_t* I = L.idx.data() + r * L.lanes;
    std::int64_t pos = L.lanes - 1;
    while (pos > 0 && (D[pos - 1] > v || (D[pos - 1] == v && I[pos - 1] > j))) {
        D[pos] = D[pos - 1];
        I[pos] = I[pos - 1];
        --pos;
    }
    D[pos] = v;
    I[pos] = j;
    L.update_threshold(r);
}

struct InsertScalar {
    static void insert(Lists& L, std::int64_t r, float v, std::int32_t j) {
        insert_scalar(L, r, v, j);
    }
};

// A float array aligned to 64 bytes, so panel loads never split cache lines.
class AlignedFloats {
   public:
    void assign(std::size_t size, float value) {
        storage_.assign(size + 16, value);
        const auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
        data_ = storage_.data() + ((64 - addr % 64) % 64) / sizeof(float);
    }
    float* data() { return data_; }
    const float* data() const { return data_; }

   private:
    std::vector<float> storage_;
    float* data_ = nullptr;
};

// Augmented float32 copy of rows centred on `mean` (see the layout above).
struct Packed {
    std::int64_t n = 0, n_pad = 0, d = 0, da = 0;  // da = d + 2
    AlignedFloats rows;    // (n_pad / 6) x da x 6, query form (-q, 1, |q|^2/2)
    AlignedFloats panels;  // (n_pad / 16) x da x 16, database form (y, |y|^2/2, 1)
};

// Relative error E of the float32 pass: a tile computes the half squared
// distance of a query q and a row y (centred, scaled) as
// |q|^2/2 + |y|^2/2 - <q, y> from float32 copies, and its error is at most
// E * (|q|^2 + |y|^2) / 2: input rounding to float32 (4u), the (d+2)-term
// float32 inner product (2(d+2)u, with or without FMA) and the rounding of
// the half norms (u) give (2d + 9)u; (2d + 16)u with 1% slack is used.
// pack() stores each half norm shrunk by (1 - E) (rounded down, minus a tiny
// absolute term), so every tile value is a LOWER BOUND of the true half
// squared distance, per pair: no global bound, no maximum norm. A row whose
// tile value is above t therefore has a true half distance above t.
double pass_error(std::int64_t d) {
    return (2.0 * static_cast<double>(d) + 16.0) * kU32 * 1.01;
}

template <class T>
void pack(const T* X, std::int64_t n, std::int64_t d, const std::vector<double>& mean,
          double scale, bool exact, bool want_rows, bool want_panels, int n_threads,
          Packed& P) {
    P.n = n;
    P.d = d;
    P.da = d + 2;
    const std::int64_t da = P.da;
    P.n_pad = round_up(std::max<std::int64_t>(n, 1), kAlign);
    const auto size = static_cast<std::size_t>(P.n_pad * da);
    if (want_rows) P.rows.assign(size, 0.0f);
    if (want_panels) P.panels.assign(size, 0.0f);
    // Every tile value is a lower bound of the half squared distance: the
    // half norms are shrunk by the pass's whole error (see pass_error). In
    // exact arithmetic (see exact_lattice) there is no error to allow for.
    const double shrink = exact ? 1.0 : 1.0 - pass_error(d);
    const double tiny = exact ? 0.0 : kTiny;
    std::atomic<bool> bad{false};
    // (About 8 operations per value: conversions, two strided stores.)
    parallel_for(P.n_pad, n_threads, grain_for(8 * d), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            float* row = want_rows ? P.rows.data() + (i / kMR) * da * kMR + (i % kMR) : nullptr;
            float* panel =
                want_panels ? P.panels.data() + (i / kNR) * da * kNR + (i % kNR) : nullptr;
            float half_norm = kInf;
            if (i < n) {
                double norm = 0.0;
                for (std::int64_t j = 0; j < d; ++j) {
                    const float v = static_cast<float>(
                        (static_cast<double>(X[i * d + j]) - mean[static_cast<std::size_t>(j)]) *
                        scale);
                    if (row) row[j * kMR] = -v;
                    if (panel) panel[j * kNR] = v;
                    norm += static_cast<double>(v) * static_cast<double>(v);
                }
                half_norm = round_down(0.5 * norm * shrink - tiny);
                if (!std::isfinite(half_norm)) bad.store(true);
            }
            if (row) {
                row[d * kMR] = 1.0f;
                row[(d + 1) * kMR] = half_norm;
            }
            if (panel) {
                panel[d * kNR] = half_norm;
                panel[(d + 1) * kNR] = 1.0f;
            }
        }
    });
    if (bad.load())
        throw std::invalid_argument(
            "fused_knn: X contains NaN or infinity, or values too large for float32");
}

// Offers the values of one 6 x 16 tile (buf) to the lists. rmask[r] flags
// lanes below row r's threshold when the tile was computed; cmask flags
// database rows whose own threshold some query row beat (symmetric pass).
template <bool kDiag, class Ins>
IMBFAST_INLINE void offer(const float (*buf)[kNR], const int* rmask, int cmask, std::int64_t q0,
                          std::int64_t y, Lists& rows, Lists& cols) {
    for (int r = 0; r < kMR; ++r) {
        int m = rmask[r];
        const std::int64_t q = q0 + r;
        while (m) {
            const int l = __builtin_ctz(static_cast<unsigned>(m));
            m &= m - 1;
            const auto j = static_cast<std::int32_t>(y + l);
            if (kDiag && j == q) continue;  // self, excluded by index
            const float v = buf[r][l];
            if (rows.collect) {
                if (v < rows.thr[static_cast<std::size_t>(q)])
                    rows.hits.emplace_back(static_cast<std::int32_t>(q), j);
            } else if (v < rows.row_thr()[q] && (!rows.tie_rows || rows.admits(q, v, j))) {
                // thr is the c-th value itself (or the list is not full):
                // a value below it always precedes the c-th entry.
                Ins::insert(rows, q, v, j);
            }
        }
    }
    while (cmask) {
        const int l = __builtin_ctz(static_cast<unsigned>(cmask));
        cmask &= cmask - 1;
        const std::int64_t j = y + l;
        for (int r = 0; r < kMR; ++r) {
            const float v = buf[r][l];
            const auto q = static_cast<std::int32_t>(q0 + r);
            if (v < cols.col_thr()[j] && (!cols.exact || cols.admits(j, v, q)))
                Ins::insert(cols, j, v, q);
        }
    }
}

// Arguments of one block: query rows [q_begin, q_end) of `qrows` against
// database rows [y_begin, y_end) of `panels`, both multiples of 48 apart.
struct Block {
    const float* qrows;
    std::int64_t q_begin, q_end;
    const float* panels;
    std::int64_t y_begin, y_end;
    std::int64_t da;  // augmented dimension
};

template <bool kSym, bool kDiag>
IMBFAST_INLINE void block_generic_body(const Block& b, Lists& rows, Lists& cols) {
    const std::int64_t da = b.da;
    alignas(32) float buf[kMR][kNR];
    int rmask[kMR];
    for (std::int64_t q0 = b.q_begin; q0 < b.q_end; q0 += kMR) {
        for (std::int64_t y = b.y_begin; y < b.y_end; y += kNR) {
            const float* P = b.panels + (y / kNR) * da * kNR;
            int any = 0, cmask = 0;
            for (int r = 0; r < kMR; ++r) {
                const float* q = b.qrows + q0 * da + r;
                const float t = rows.row_thr()[q0 + r];
                rmask[r] = 0;
                for (int l = 0; l < kNR; ++l) {
                    float acc = 0.0f;
                    for (std::int64_t j = 0; j < da; ++j) acc += q[j * kMR] * P[j * kNR + l];
                    buf[r][l] = acc;
                    if (acc < t) rmask[r] |= 1 << l;
                }
                any |= rmask[r];
            }
            if (kSym && !kDiag) {
                for (int l = 0; l < kNR; ++l) {
                    float lo = buf[0][l];
                    for (int r = 1; r < kMR; ++r) lo = std::min(lo, buf[r][l]);
                    if (lo < cols.col_thr()[y + l]) cmask |= 1 << l;
                }
            }
            if (any | cmask) offer<kDiag, InsertScalar>(buf, rmask, cmask, q0, y, rows, cols);
        }
    }
}

#if defined(IMBFAST_HAVE_X86_DISPATCH)
// One 8-slot segment of a sorted list: the mask of slots holding pairs that
// precede (v, j).
IMBFAST_TARGET_AVX2 IMBFAST_INLINE int before_mask(__m256 d, __m256i ix, __m256 v, __m256i j) {
    const __m256 lt = _mm256_cmp_ps(d, v, _CMP_LT_OQ);
    const __m256 eq = _mm256_cmp_ps(d, v, _CMP_EQ_OQ);
    const __m256 ilt = _mm256_castsi256_ps(_mm256_cmpgt_epi32(j, ix));
    return _mm256_movemask_ps(_mm256_or_ps(lt, _mm256_and_ps(eq, ilt)));
}

// The segment with slots after `pos` taken from `shifted` (the segment moved
// up by one slot) and slot `pos` set to (v, j); `first` numbers its slots.
IMBFAST_TARGET_AVX2 IMBFAST_INLINE void place(__m256& d, __m256i& ix, __m256 shifted_d,
                                              __m256i shifted_i, __m256 v, __m256i j, int pos,
                                              int first) {
    const __m256i slot = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                          _mm256_set1_epi32(first));
    const __m256i p = _mm256_set1_epi32(pos);
    const __m256i after = _mm256_cmpgt_epi32(slot, p);
    const __m256i at = _mm256_cmpeq_epi32(slot, p);
    d = _mm256_blendv_ps(d, shifted_d, _mm256_castsi256_ps(after));
    d = _mm256_blendv_ps(d, v, _mm256_castsi256_ps(at));
    ix = _mm256_blendv_epi8(ix, shifted_i, after);
    ix = _mm256_blendv_epi8(ix, j, at);
}

// Branch-free insertion into lists of 8 or 16 slots (the usual k); longer
// lists take the scalar insertion.
struct InsertAvx2 {
    IMBFAST_TARGET_AVX2 static inline void insert(Lists& L, std::int64_t r, float value,
                                                  std::int32_t row) {
        if (L.lanes > 16) {
            insert_scalar(L, r, value, row);
            return;
        }
        float* D = L.dist.data() + r * L.lanes;
        std::int32_t* I = L.idx.data() + r * L.lanes;
        const __m256 v = _mm256_set1_ps(value);
        const __m256i j = _mm256_set1_epi32(row);
        const __m256i up = _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6);
        __m256 d0 = _mm256_loadu_ps(D);
        __m256i i0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(I));
        const __m256 s0 = _mm256_permutevar8x32_ps(d0, up);
        const __m256i t0 = _mm256_permutevar8x32_epi32(i0, up);
        int pos = __builtin_popcount(static_cast<unsigned>(before_mask(d0, i0, v, j)));
        if (L.lanes == 16) {
            __m256 d1 = _mm256_loadu_ps(D + 8);
            __m256i i1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(I + 8));
            pos += __builtin_popcount(static_cast<unsigned>(before_mask(d1, i1, v, j)));
            // The second segment moved up, its first slot receiving slot 7.
            const __m256i last = _mm256_set1_epi32(7);
            const __m256 s1 = _mm256_blend_ps(_mm256_permutevar8x32_ps(d1, up),
                                              _mm256_permutevar8x32_ps(d0, last), 1);
            const __m256i t1 = _mm256_blend_epi32(_mm256_permutevar8x32_epi32(i1, up),
                                                  _mm256_permutevar8x32_epi32(i0, last), 1);
            place(d1, i1, s1, t1, v, j, pos, 8);
            _mm256_storeu_ps(D + 8, d1);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(I + 8), i1);
        }
        place(d0, i0, s0, t0, v, j, pos, 0);
        _mm256_storeu_ps(D, d0);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(I), i0);
        L.update_threshold(r);
    }
};

// Written with AVX2/FMA intrinsics, so the body itself carries the AVX2
// target; it is inlined into the AVX2 and AVX-512 wrappers only.
template <bool kSym, bool kDiag>
IMBFAST_TARGET_AVX2 IMBFAST_INLINE void block_avx2_body(const Block& b, Lists& rows,
                                                        Lists& cols) {
    const std::int64_t da = b.da;
    alignas(32) float buf[kMR][kNR];
    int rmask[kMR];
    for (std::int64_t q0 = b.q_begin; q0 < b.q_end; q0 += kMR) {
        const float* q = b.qrows + q0 * da;
        const float* thr = rows.row_thr() + q0;
        for (std::int64_t y = b.y_begin; y < b.y_end; y += kNR) {
            const float* P = b.panels + (y / kNR) * da * kNR;
            __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps();
            __m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
            __m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps();
            __m256 a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
            __m256 a40 = _mm256_setzero_ps(), a41 = _mm256_setzero_ps();
            __m256 a50 = _mm256_setzero_ps(), a51 = _mm256_setzero_ps();
#pragma GCC unroll 2
            for (std::int64_t j = 0; j < da; ++j) {
                const __m256 y0 = _mm256_load_ps(P + j * kNR);
                const __m256 y1 = _mm256_load_ps(P + j * kNR + 8);
                const float* qj = q + j * kMR;
                __m256 s = _mm256_broadcast_ss(qj);
                a00 = _mm256_fmadd_ps(s, y0, a00);
                a01 = _mm256_fmadd_ps(s, y1, a01);
                s = _mm256_broadcast_ss(qj + 1);
                a10 = _mm256_fmadd_ps(s, y0, a10);
                a11 = _mm256_fmadd_ps(s, y1, a11);
                s = _mm256_broadcast_ss(qj + 2);
                a20 = _mm256_fmadd_ps(s, y0, a20);
                a21 = _mm256_fmadd_ps(s, y1, a21);
                s = _mm256_broadcast_ss(qj + 3);
                a30 = _mm256_fmadd_ps(s, y0, a30);
                a31 = _mm256_fmadd_ps(s, y1, a31);
                s = _mm256_broadcast_ss(qj + 4);
                a40 = _mm256_fmadd_ps(s, y0, a40);
                a41 = _mm256_fmadd_ps(s, y1, a41);
                s = _mm256_broadcast_ss(qj + 5);
                a50 = _mm256_fmadd_ps(s, y0, a50);
                a51 = _mm256_fmadd_ps(s, y1, a51);
            }
            // One OR of all compares decides whether the tile matters.
#define IMBFAST_ROW_HIT(R)                                                   \
    _mm256_or_ps(_mm256_cmp_ps(a##R##0, _mm256_broadcast_ss(thr + R), _CMP_LT_OQ), \
                 _mm256_cmp_ps(a##R##1, _mm256_broadcast_ss(thr + R), _CMP_LT_OQ))
            __m256 hit = _mm256_or_ps(_mm256_or_ps(IMBFAST_ROW_HIT(0), IMBFAST_ROW_HIT(1)),
                                      _mm256_or_ps(IMBFAST_ROW_HIT(2), IMBFAST_ROW_HIT(3)));
            hit = _mm256_or_ps(hit, _mm256_or_ps(IMBFAST_ROW_HIT(4), IMBFAST_ROW_HIT(5)));
            __m256 lo0 = hit, lo1 = hit;
            const float* ct = cols.col_thr() + y;
            if (kSym && !kDiag) {
                lo0 = _mm256_min_ps(_mm256_min_ps(_mm256_min_ps(a00, a10), a20),
                                    _mm256_min_ps(_mm256_min_ps(a30, a40), a50));
                lo1 = _mm256_min_ps(_mm256_min_ps(_mm256_min_ps(a01, a11), a21),
                                    _mm256_min_ps(_mm256_min_ps(a31, a41), a51));
                hit = _mm256_or_ps(hit, _mm256_cmp_ps(lo0, _mm256_loadu_ps(ct), _CMP_LT_OQ));
                hit = _mm256_or_ps(hit,
                                   _mm256_cmp_ps(lo1, _mm256_loadu_ps(ct + 8), _CMP_LT_OQ));
            }
            if (_mm256_movemask_ps(hit) == 0) continue;
#define IMBFAST_ROW_MASK(R)                                                                  \
    rmask[R] =                                                                               \
        _mm256_movemask_ps(_mm256_cmp_ps(a##R##0, _mm256_broadcast_ss(thr + R), _CMP_LT_OQ)) | \
        (_mm256_movemask_ps(_mm256_cmp_ps(a##R##1, _mm256_broadcast_ss(thr + R), _CMP_LT_OQ)) \
         << 8);
            IMBFAST_ROW_MASK(0)
            IMBFAST_ROW_MASK(1)
            IMBFAST_ROW_MASK(2)
            IMBFAST_ROW_MASK(3)
            IMBFAST_ROW_MASK(4)
            IMBFAST_ROW_MASK(5)
#undef IMBFAST_ROW_MASK
#undef IMBFAST_ROW_HIT
            int cmask = 0;
            if (kSym && !kDiag) {
                cmask = _mm256_movemask_ps(_mm256_cmp_ps(lo0, _mm256_loadu_ps(ct), _CMP_LT_OQ)) |
                        (_mm256_movemask_ps(
                             _mm256_cmp_ps(lo1, _mm256_loadu_ps(ct + 8), _CMP_LT_OQ))
                         << 8);
            }
            _mm256_store_ps(buf[0], a00);
            _mm256_store_ps(buf[0] + 8, a01);
            _mm256_store_ps(buf[1], a10);
            _mm256_store_ps(buf[1] + 8, a11);
            _mm256_store_ps(buf[2], a20);
            _mm256_store_ps(buf[2] + 8, a21);
            _mm256_store_ps(buf[3], a30);
            _mm256_store_ps(buf[3] + 8, a31);
            _mm256_store_ps(buf[4], a40);
            _mm256_store_ps(buf[4] + 8, a41);
            _mm256_store_ps(buf[5], a50);
            _mm256_store_ps(buf[5] + 8, a51);
            offer<kDiag, InsertAvx2>(buf, rmask, cmask, q0, y, rows, cols);
        }
    }
}
#endif

using BlockFn = void (*)(const Block&, Lists&, Lists&);

template <bool kSym, bool kDiag>
void block_generic(const Block& b, Lists& rows, Lists& cols) {
    block_generic_body<kSym, kDiag>(b, rows, cols);
}

#if defined(IMBFAST_HAVE_X86_DISPATCH)
template <bool kSym, bool kDiag>
IMBFAST_TARGET_AVX2 void block_avx2(const Block& b, Lists& rows, Lists& cols) {
    block_avx2_body<kSym, kDiag>(b, rows, cols);
}
// The 256-bit body compiled for the AVX-512 target (wider registers let the
// compiler schedule it better; the tile shape is the AVX2 one).
template <bool kSym, bool kDiag>
IMBFAST_TARGET_AVX512 void block_avx512(const Block& b, Lists& rows, Lists& cols) {
    block_avx2_body<kSym, kDiag>(b, rows, cols);
}
#endif

template <bool kSym, bool kDiag>
BlockFn pick_block() {
#if defined(IMBFAST_HAVE_X86_DISPATCH)
    return pick_by_isa(&block_generic<kSym, kDiag>, &block_avx2<kSym, kDiag>, &block_avx512<kSym, kDiag>);
#else
    return &block_generic<kSym, kDiag>;
#endif
}

// Rows per cache block: about 64 KiB of float32 rows, a multiple of 48.
std::int64_t block_rows(std::int64_t d) {
    const std::int64_t target = 16384 / std::max<std::int64_t>(d, 1);
    return std::clamp<std::int64_t>(target / kAlign, 1, 32) * kAlign;
}

constexpr double kNoBound = std::numeric_limits<double>::infinity();

// v * scale^2 / 2: a squared distance in the half units of the float32 pass.
// (Two multiplications: scale^2 alone could overflow.)
double half_scaled(double v, double scale) { return 0.5 * (v * scale * scale); }

// Drops the entries of one written result row beyond `bound` and pads the
// row to k with index -1 and distance +inf.
void finish_row(std::int64_t* idx, double* dist, std::int64_t w, std::int64_t k, double bound) {
    while (w > 0 && dist[w - 1] > bound) --w;
    for (std::int64_t j = w; j < k; ++j) {
        idx[j] = -1;
        dist[j] = std::numeric_limits<double>::infinity();
    }
}

// The block pairs (A, B), A < B, of the symmetric pass, handed to workers
// so that no two hold a block at once: a tile writes the lists of the rows
// of both its blocks, and a worker that holds them owns them, so one set of
// lists serves every worker (no private copies, no merge, no thresholds
// split between copies). Several workers take the pairs in the order of a
// round-robin tournament (the circle method: each round pairs every block
// with one other), so the next pair rarely shares a block with a running
// one; a worker takes the first pending pair whose blocks are free and
// waits only when every pending pair shares a block with a running one.
// One worker takes them in row order, (0, 1), (0, 2), ..., (1, 2), ...:
// every row then meets its lower rows (column side) before its own sweep
// meets the higher ones in increasing order (see Lists). Which worker
// computes which pair never changes the result.
class PairSchedule {
   public:
    PairSchedule(std::int64_t nb, bool tournament) : busy_(static_cast<std::size_t>(nb), 0) {
        if (!tournament) {
            for (std::int64_t a = 0; a < nb; ++a)
                for (std::int64_t b = a + 1; b < nb; ++b) pairs_.emplace_back(a, b);
        } else {
            const std::int64_t m = nb + (nb & 1);  // with a dummy block when odd
            for (std::int64_t round = 0; round + 1 < m; ++round)
                for (std::int64_t i = 0; i < m / 2; ++i) {
                    const std::int64_t a = i == 0 ? m - 1 : (round + i) % (m - 1);
                    const std::int64_t b = (round - i + (m - 1)) % (m - 1);
                    if (a < nb && b < nb) pairs_.emplace_back(std::min(a, b), std::max(a, b));
                }
        }
        state_.assign(pairs_.size(), kPending);
    }

    std::pair<std::int64_t, std::int64_t> pair(std::int64_t item) const {
        return pairs_[static_cast<std::size_t>(item)];
    }

    // Releases `item` (when >= 0) and takes the next pair into it; false
    // when every pair is taken, or after fail().
    bool next(std::int64_t& item) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (item >= 0) {
            state_[static_cast<std::size_t>(item)] = kDone;
            set_busy(item, 0);
            free_.notify_all();
        }
        for (;;) {
            if (failed_ || taken_ == static_cast<std::int64_t>(pairs_.size())) return false;
            while (state_[static_cast<std::size_t>(first_)] == kDone) ++first_;
            for (std::int64_t i = first_; i < static_cast<std::int64_t>(pairs_.size()); ++i) {
                const auto [a, b] = pairs_[static_cast<std::size_t>(i)];
                if (state_[static_cast<std::size_t>(i)] != kPending ||
                    busy_[static_cast<std::size_t>(a)] || busy_[static_cast<std::size_t>(b)])
                    continue;
                state_[static_cast<std::size_t>(i)] = kRunning;
                set_busy(i, 1);
                ++taken_;
                item = i;
                return true;
            }
            free_.wait(lock);  // a running pair holds every pending pair's block
        }
    }

    // A worker's block threw: the others stop taking pairs.
    void fail() {
        std::lock_guard<std::mutex> lock(mutex_);
        failed_ = true;
        free_.notify_all();
    }

   private:
    static constexpr std::uint8_t kPending = 0, kRunning = 1, kDone = 2;

    void set_busy(std::int64_t item, std::uint8_t v) {
        const auto [a, b] = pairs_[static_cast<std::size_t>(item)];
        busy_[static_cast<std::size_t>(a)] = v;
        busy_[static_cast<std::size_t>(b)] = v;
    }

    std::vector<std::pair<std::int64_t, std::int64_t>> pairs_;
    std::vector<std::uint8_t> state_;
    std::vector<std::uint8_t> busy_;
    std::int64_t first_ = 0;  // every pair before it is done
    std::int64_t taken_ = 0;
    bool failed_ = false;
    std::mutex mutex_;
    std::condition_variable free_;
};

// Query blocks of the non-symmetric pass: large enough to reuse each
// database block, small enough to share the work among threads.
std::int64_t query_block_rows(std::int64_t n_pad, std::int64_t S, int n_workers) {
    const std::int64_t SQ =
        round_up(std::max<std::int64_t>(n_pad / (4 * n_workers), kMR), kMR);
    return std::min<std::int64_t>(SQ, 4 * S);
}

// The tie pass, for the queries whose candidate list could not be proven
// complete: typically more rows than a list holds tie at (or within the
// float32 error of) the k-th distance, as on integer, binary, one-hot or
// duplicated data. Each such query is searched again over all rows with its
// threshold fixed just above its current k-th exact distance, an upper bound
// of the true k-th distance (those k rows are at most that far). Every row
// whose tile value (a lower bound) passes is ranked by its exact distance; a
// row that fails is farther than that radius and cannot be a neighbour, nor
// win a tie. No candidate list is kept, so any number of ties costs O(k)
// memory per query: one float32 SIMD pass per such query, plus one exact
// distance per row within the radius. The result is exact by construction.
template <class T>
void tie_pass(const T* X, std::int64_t d, const T* Q, const std::vector<std::int64_t>& redo,
              const std::vector<double>& mean, double scale, const Packed& PX, std::int64_t k,
              std::int64_t* out_idx, double* out_dist, int n_workers, const double* within) {
    const auto m = static_cast<std::int64_t>(redo.size());
    const T* source = Q ? Q : X;
    std::vector<T> rows(static_cast<std::size_t>(m * d));
    for (std::int64_t r = 0; r < m; ++r)
        std::copy(source + redo[static_cast<std::size_t>(r)] * d,
                  source + (redo[static_cast<std::size_t>(r)] + 1) * d, rows.begin() + r * d);
    Packed PR;
    pack(rows.data(), m, d, mean, scale, false, true, false, n_workers, PR);

    // Fixed thresholds; padding rows never pass.
    std::vector<float> thr(static_cast<std::size_t>(PR.n_pad), -kInf);
    for (std::int64_t r = 0; r < m; ++r) {
        const std::int64_t g = redo[static_cast<std::size_t>(r)];
        double radius = out_dist[g * k + k - 1];
        if (out_idx[g * k + k - 1] < 0) radius = within ? within[g] : kNoBound;
        thr[static_cast<std::size_t>(r)] = threshold_above(half_scaled(radius, scale));
    }
    const SqDist<T> sqdist = pick_sqdist<T>();
    const std::int64_t S = block_rows(PX.da);
    const std::int64_t nb = (PX.n_pad + S - 1) / S;
    const std::int64_t SQ = query_block_rows(PR.n_pad, S, n_workers);
    const std::int64_t n_items = (PR.n_pad + SQ - 1) / SQ;
    const BlockFn fn = pick_block<false, false>();
    parallel_for(n_items, n_workers, 1, [&](std::int64_t ib, std::int64_t ie) {
        Lists L;
        L.thr = thr;
        L.collect = true;
        std::vector<TopK> tops(static_cast<std::size_t>(SQ), TopK(k));
        for (std::int64_t item = ib; item < ie; ++item) {
            const std::int64_t q_begin = item * SQ;
            const std::int64_t q_end = std::min(PR.n_pad, q_begin + SQ);
            for (auto& t : tops) t.clear();
            Block blk{PR.rows.data(), q_begin, q_end, PX.panels.data(), 0, 0, PX.da};
            for (std::int64_t B = 0; B < nb; ++B) {
                blk.y_begin = B * S;
                blk.y_end = std::min(PX.n_pad, (B + 1) * S);
                L.hits.clear();
                fn(blk, L, L);
                for (const auto& [q, j] : L.hits) {
                    const std::int64_t g = redo[static_cast<std::size_t>(q)];
                    if (!Q && j == g) continue;  // self, excluded by index
                    tops[static_cast<std::size_t>(q - q_begin)].push(
                        sanitize(sqdist(rows.data() + std::int64_t{q} * d,
                                        X + std::int64_t{j} * d, d)),
                        j);
                }
            }
            for (std::int64_t q = q_begin; q < std::min(q_end, m); ++q) {
                const std::int64_t g = redo[static_cast<std::size_t>(q)];
                const auto w = static_cast<std::int64_t>(
                    tops[static_cast<std::size_t>(q - q_begin)].write(out_idx + g * k,
                                                                     out_dist + g * k));
                finish_row(out_idx + g * k, out_dist + g * k, w, k,
                           within ? within[g] : kNoBound);
            }
        }
    });
}

// Binary digits after the point of v (v finite): the least e with v * 2^e
// an integer.
int fraction_bits(double v) {
    if (v == 0.0) return 0;
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    const auto biased = static_cast<int>((bits >> 52) & 0x7ff);
    std::uint64_t mantissa = bits & ((std::uint64_t{1} << 52) - 1);
    int exponent = biased - 1075;  // v = mantissa * 2^exponent
    if (biased == 0)
        exponent = -1074;  // subnormal
    else
        mantissa |= std::uint64_t{1} << 52;
    return std::max(0, -(exponent + __builtin_ctzll(mantissa)));
}

// Exact arithmetic. When every coordinate is a multiple of a power of two
// 2^-e (integer, binary, one-hot, count data: e = 0) and the centring shift
// is a multiple of it too, the centred, scaled coordinates are small
// multiples of one unit, and every value the float32 pass forms (products,
// half norms, the partial sums of a tile, all multiples of half a unit
// squared) is exact as long as d * M^2 < 2^22 for the largest coordinate M
// in units: the partial sums then stay below 2^23 half units, inside
// float32's 24-bit significand. Tile values are then the exact half
// squared distances, and the lists (ordered by value, then row) are the
// exact answer. Returns the shift per column (the mean rounded to the
// lattice) and sets `unit` when the data qualify, or an empty vector.
template <class T>
std::vector<double> exact_lattice(const T* X, std::int64_t n, std::int64_t d, const T* Q,
                                  std::int64_t nq, const std::vector<double>& mean,
                                  double& unit, int n_workers) {
    constexpr int kMaxBits = 24;
    int e = 0;
    for (const T* A : {X, Q}) {
        const std::int64_t rows = A == X ? n : nq;
        for (std::int64_t i = 0; A && i < rows * d; ++i) {
            e = std::max(e, fraction_bits(static_cast<double>(A[i])));
            if (e > kMaxBits) return {};
        }
    }
    unit = std::ldexp(1.0, -e);
    std::vector<double> shift(static_cast<std::size_t>(d));
    for (std::int64_t j = 0; j < d; ++j)
        shift[static_cast<std::size_t>(j)] =
            std::nearbyint(mean[static_cast<std::size_t>(j)] / unit) * unit;
    // Largest |x - shift| in units; the subtraction is exact at this size.
    const double M = max_centred(X, n, Q, nq, d, shift, n_workers) / unit;
    if (!(static_cast<double>(d) * M * M < std::ldexp(1.0, 22))) return {};
    return shift;
}

}  // namespace

template <class T>
FusedStats fused_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
                     std::int64_t k, std::int64_t n_extra, std::int64_t* out_idx,
                     double* out_dist, int n_threads, const double* within,
                     const FusedOptions& options) {
    check_sizes(n, d, Q, nq, k);
    if (n_extra < 0) throw std::invalid_argument("fused_knn: n_extra must be >= 0");
    if (within && !Q) throw std::invalid_argument("fused_knn: within needs queries");
    for (std::int64_t i = 0; within && i < nq; ++i)
        if (std::isnan(within[i]) || within[i] < 0.0)
            throw std::invalid_argument("fused_knn: within must be >= 0 (no NaN)");
    if (n > std::numeric_limits<std::int32_t>::max() - 2 * kAlign)
        throw std::invalid_argument("fused_knn: more than 2^31 rows");
    FusedStats stats;
    if (nq == 0) return stats;
    if (!X || !out_idx || !out_dist) throw std::invalid_argument("fused_knn: null buffer");
    const bool sym = Q == nullptr;
    const std::int64_t pool = sym ? n - 1 : n;
    stats.symmetric = sym;
    // Threads worth starting for the distance pass (each pair once when
    // querying X itself); in double, as n^2 d can pass 2^63.
    const double work = (sym ? 0.5 * static_cast<double>(n) : static_cast<double>(nq)) *
                        static_cast<double>(n) * static_cast<double>(d);
    const int n_workers = threads_for(
        static_cast<std::int64_t>(std::min(work, 1e18)), n_threads);

    std::vector<double> mean = column_sums(X, n, d, nullptr, n_workers);
    for (auto& m : mean) m /= static_cast<double>(n);
    // Lattice data are centred on a lattice point instead of the mean, which
    // keeps every value of the float32 pass exact (see exact_lattice).
    double unit = 0.0;
    if (std::vector<double> shift = exact_lattice(X, n, d, Q, nq, mean, unit, n_workers); !shift.empty()) {
        mean.swap(shift);
        stats.exact_arithmetic = true;
    }
    const bool exact = stats.exact_arithmetic;
    // Extra candidates serve the completeness proof, which exact arithmetic
    // does not need. (k <= pool is checked, so k + n_extra never overflows.)
    const std::int64_t c = exact ? k : n_extra >= pool - k ? pool : k + n_extra;
    stats.n_candidates = c;
    // A power of two bringing the largest centred coordinate into [1, 2):
    // exact, and keeps the float32 pass clear of overflow and underflow.
    const double max_abs = max_centred(X, n, Q, nq, d, mean, n_workers);
    if (!std::isfinite(max_abs))
        throw std::invalid_argument("fused_knn: X or Q contains NaN or infinity");
    const int exponent = max_abs > 0.0 ? std::ilogb(max_abs) : 0;
    // (Subnormal data would need more than 2^1023: stop at 2^1000.)
    const double scale = std::ldexp(1.0, std::min(-exponent, 1000));

    // The int8 pass may answer instead (see knn_int8.cpp): a filter pass
    // for queries, or on lattice data within 127 units of their centre an
    // exact pass of its own, for queries and for X itself.
    if (int8_knn(X, n, d, Q, nq, k, n_extra, out_idx, out_dist, n_threads, n_workers, within,
                 mean, max_abs, exact ? unit : 0.0, options, stats))
        return stats;
    if (options.int8 == Int8Filter::only) return stats;  // unanswered

    Packed PX, PQ;
    pack(X, n, d, mean, scale, exact, sym, true, n_workers, PX);
    if (!sym) pack(Q, nq, d, mean, scale, exact, true, false, n_workers, PQ);
    const Packed& QP = sym ? PX : PQ;

    // Rows per block; the symmetric pass on several workers wants at least
    // 4 blocks per worker, so that enough pairs of blocks are disjoint (see
    // PairSchedule).
    std::int64_t S = block_rows(d + 2);
    if (sym && n_workers > 1)
        S = std::min(S, round_up((PX.n_pad + 4 * n_workers - 1) / (4 * n_workers), kAlign));
    Lists lists;
    lists.init(QP.n_pad, c, exact, sym && n_workers > 1);

    if (sym) {
        const std::int64_t nb = (PX.n_pad + S - 1) / S;
        const BlockFn off_diag = pick_block<true, false>();
        const BlockFn diag = pick_block<true, true>();
        // First the diagonal blocks (each row among the rows of its own
        // block), so that every row starts the rest from its c-th value
        // there: the c rows behind it are at most that far, so a row farther
        // than it cannot be among the c nearest. Otherwise the column side
        // of every list would fill from scratch.
        std::atomic<std::int64_t> next{0};
        parallel_for(n_workers, n_workers, 1, [&](std::int64_t, std::int64_t) {
            for (;;) {
                const std::int64_t A = next.fetch_add(1);
                if (A >= nb) break;
                const std::int64_t end = std::min(PX.n_pad, (A + 1) * S);
                diag(Block{PX.rows.data(), A * S, end, PX.panels.data(), A * S, end, PX.da},
                     lists, lists);
            }
        });
        // Then the blocks above the diagonal, each pair of blocks once.
        PairSchedule schedule(nb, n_workers > 1);
        parallel_for(n_workers, n_workers, 1, [&](std::int64_t, std::int64_t) {
            std::int64_t item = -1;
            while (schedule.next(item)) {
                const auto [A, B] = schedule.pair(item);
                try {
                    off_diag(Block{PX.rows.data(), A * S, std::min(PX.n_pad, (A + 1) * S),
                                   PX.panels.data(), B * S, std::min(PX.n_pad, (B + 1) * S),
                                   PX.da},
                             lists, lists);
                } catch (...) {
                    schedule.fail();
                    throw;
                }
            }
        });
    } else {
        // A query's threshold starts just above its bound (scaled, half
        // squared distance): tile values are lower bounds, so every row
        // within the bound passes.
        for (std::int64_t i = 0; within && i < nq; ++i)
            lists.thr[static_cast<std::size_t>(i)] =
                threshold_above(half_scaled(within[i], scale));
        const std::int64_t nb = (PX.n_pad + S - 1) / S;
        const std::int64_t SQ = query_block_rows(QP.n_pad, S, n_workers);
        const std::int64_t n_items = (QP.n_pad + SQ - 1) / SQ;
        const BlockFn fn = pick_block<false, false>();
        parallel_for(n_items, n_workers, 1, [&](std::int64_t ib, std::int64_t ie) {
            for (std::int64_t item = ib; item < ie; ++item) {
                Block blk{QP.rows.data(), item * SQ, std::min(QP.n_pad, (item + 1) * SQ),
                          PX.panels.data(), 0, 0, PX.da};
                for (std::int64_t B = 0; B < nb; ++B) {
                    blk.y_begin = B * S;
                    blk.y_end = std::min(PX.n_pad, (B + 1) * S);
                    fn(blk, lists, lists);
                }
            }
        });
    }

    // Exact re-ranking with the completeness proof. Every row outside a
    // list's first c slots has a tile value >= its c-th value `worst` (it
    // was rejected by, or pushed out of, a list whose c-th value only
    // decreases), hence a true half squared distance >= worst. If the k-th
    // exact distance among the candidates is below 2 * worst, no outside row
    // can be as close, not even a tie with a lower index: the list is the
    // exact answer. In exact arithmetic the lists already are (see Lists),
    // and no proof is needed.
    const SqDist<T> sqdist = pick_sqdist<T>();
    std::vector<std::uint8_t> unproven(static_cast<std::size_t>(nq), 0);
    parallel_for(nq, n_workers, grain_for(c * d), [&](std::int64_t begin, std::int64_t end) {
        TopK top(k);
        for (std::int64_t i = begin; i < end; ++i) {
            const T* q = sym ? X + i * d : Q + i * d;
            top.clear();
            const float* D = lists.dist.data() + i * lists.lanes;
            const std::int32_t* I = lists.idx.data() + i * lists.lanes;
            std::int64_t seen = 0;
            for (; seen < c && I[seen] >= 0; ++seen)
                top.push(sanitize(sqdist(q, X + std::int64_t{I[seen]} * d, d)), I[seen]);
            const float worst = D[c - 1];
            // With a bound, a list that never filled holds every row within
            // it: the others were rejected against the starting threshold.
            const bool short_list =
                within && std::isinf(worst) && !std::isinf(lists.thr[static_cast<std::size_t>(i)]);
            bool complete = exact || seen >= pool || short_list;
            const auto w = static_cast<std::int64_t>(top.write(out_idx + i * k, out_dist + i * k));
            if (!complete && w == k &&
                half_scaled(out_dist[i * k + k - 1], scale) < static_cast<double>(worst))
                complete = true;
            if (!complete) unproven[static_cast<std::size_t>(i)] = 1;
            finish_row(out_idx + i * k, out_dist + i * k, w, k, within ? within[i] : kNoBound);
        }
    });
    std::vector<std::int64_t> redo;
    for (std::int64_t i = 0; i < nq; ++i)
        if (unproven[static_cast<std::size_t>(i)]) redo.push_back(i);
    stats.n_tie_pass = static_cast<std::int64_t>(redo.size());
    if (!redo.empty())
        tie_pass(X, d, Q, redo, mean, scale, PX, k, out_idx, out_dist, n_workers, within);
    return stats;
}

template FusedStats fused_knn<float>(const float*, std::int64_t, std::int64_t, const float*,
                                     std::int64_t, std::int64_t, std::int64_t, std::int64_t*,
                                     double*, int, const double*, const FusedOptions&);
template FusedStats fused_knn<double>(const double*, std::int64_t, std::int64_t, const double*,
                                      std::int64_t, std::int64_t, std::int64_t, std::int64_t*,
                                      double*, int, const double*, const FusedOptions&);

}  // namespace imbfast
