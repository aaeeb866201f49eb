// Pruned exact k-NN: k-means cells and triangle-inequality bounds.
//
// The rows are cut into nlist cells (centroids from FAISS k-means, trained
// by the caller on a sample; every row then assigned to its nearest
// centroid, proven by the triangle inequality from sorted lists of nearest
// centroids, or found by the fused kernel's exact search of every centroid
// when the proof would cost more; see nearest_centroids), and each cell j gets its
// exact radius r_j: the largest distance, in double, from its centroid c_j
// to one of its rows. For a query q and any row x of cell j the triangle
// inequality gives ||q - x|| >= ||q - c_j|| - r_j. Each cell is split again
// into at most kFineMax fine cells (one k-means step from evenly spaced
// rows) with their own exact radii. The search then runs in two passes
// over the queries grouped by cell (the queries of one cell form a block;
// blocks run on the threads, each search inside a block on one thread):
//
// 1. Each block searches its own cell (and the nearest other cells when its
//    own holds fewer than k rows, or k + 1 when querying X itself) with the
//    fused exact kernel. The k-th distance found, u_q, bounds the true k-th
//    distance from above: k rows are at most that far. Querying X itself,
//    cells whose rows would search each other in the second pass anyway
//    form one block (group_cells), searched with each pair once.
// 2. A cell j can hold a neighbour of q only if ||q - c_j|| - r_j <= u_q.
//    Cells are first screened for the whole block with
//    ||c_a - c_j|| - ||q - c_a|| - r_j (centroid distances only: a lower
//    bound of ||q - c_j|| - r_j by the triangle inequality), then by fine
//    cell: for the rows of X, per group of queries sharing a fine cell g
//    (centre s_g, radius r_g, largest bound U_g) with
//    ||s_g - c|| - r - r_g <= U_g, then per query; for other queries per
//    query directly. The queries with fine cells left search the union of
//    the fine cells their block kept, with the fused kernel's `within`
//    threshold set at their first-pass k-th distance, and the two lists
//    (disjoint: the second pass never searches a first-pass cell) are
//    merged by (squared distance, index).
//
// Exactness. Every bound is computed in double on the data scaled by a
// power of two (exact; the caller picks it so the largest coordinate is
// near 1: no overflow, and underflow only below kAbsSlack) and loosened by
// the relative margin kMargin, far above its rounding error: a squared
// distance summed from d non-negative terms is within (d + 3) eps of the
// true one, and kMargin = 1e-9 covers that for d below 10^6; radii and u_q
// are enlarged by (1 + kMargin), distances to centres are reduced by
// (1 - kMargin) and by kAbsSlack. So a cell or fine cell is skipped only
// when none of its rows can be among the k nearest, ties included: a row
// at exactly the k-th distance has ||q - x|| <= u_q and is never skipped,
// whatever its index. Each pass is the fused kernel's exact search over
// rows in ascending original index (ties there go to the lower index too),
// the second pass keeps every row at squared distance <= the first pass's
// k-th, and the merge orders by (distance, index): the answer is the exact
// brute-force one, ties by the lower index, whatever the partition.
//
// The work is counted before the second pass runs, so the search can be
// asked to give up when it would compute more than a given fraction of the
// brute force's distances (how algorithm="auto" tries it without risking
// much). The blocks then run in a fixed pseudo-random order, in rounds of
// 8, 8, 16, 32, ... blocks; after each round the search gives up when the
// work so far, or the work per query so far times the number of queries,
// exceeds the budget. The rounds make the decision independent of the
// thread count.
//
// Memory: per row its cell, its place in the cell order and its fine cell
// (O(n)), the centroids and fine centres in double, each centroid's
// kAssignList nearest centroids while rows are assigned, O(nq * k) lists, the
// second pass's plan (queries and fine cells) of every block, and per
// running block the rows it gathers (and the fused kernel's copies of
// them). No float32 copy of X (rows are assigned in chunks) and no
// nlist x nlist table (a block computes its row of centroid distances).
#include "imbfast/knn_pruned.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "imbfast/dispatch.hpp"
#include "imbfast/knn.hpp"
#include "imbfast/parallel.hpp"
#include "knn_internal.hpp"

#if defined(IMBFAST_HAVE_X86_DISPATCH)
#include <immintrin.h>
#endif

namespace imbfast {

namespace {

using Index = std::int64_t;

// Relative margin of every bound: far above the rounding error of sums of
// squares in double (about d * 1e-16), far below any pruning that matters.
constexpr double kMargin = 1e-9;
// Absolute slack of the bounds (in the scaled units, where coordinates are
// below 2): covers values that underflowed when scaled.
constexpr double kAbsSlack = 1e-200;
// Extra candidates of the fused kernel's float32 pass.
constexpr Index kFusedExtra = 4;
// Fine cells: rows per fine cell aimed at, and at most this many per cell.
constexpr Index kFineRows = 32;
constexpr Index kFineMax = 32;
// With a work budget, the first round of blocks (a random sample) and the
// smallest round after it.
constexpr Index kSampleBlocks = 8;
// Searches of at most this much work (queries x rows x d) scan the rows
// exactly in double instead of calling the fused kernel, whose set-up
// (centring, packing, padding to whole tiles) costs more than such a scan.
constexpr Index kScanWork = Index{1} << 19;
// The second pass's cost of gathering and packing a row for one search, in
// queries searched over it (a search per group of queries pays it per
// group; see plan_by_fine_cells).
constexpr double kRowCost = 64.0;
// Rows per chunk when assigning rows to cells (float32 copies of a chunk).
constexpr Index kAssignChunk = Index{1} << 16;

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::size_t checked_size(Index a, Index b) {
    if (a < 0 || b < 0) throw std::invalid_argument("pruned_knn: negative size");
    if (b != 0 && a > std::numeric_limits<Index>::max() / b)
        throw std::length_error("pruned_knn: buffer size overflows");
    return static_cast<std::size_t>(a * b);
}

// Squared distance of two double vectors with four running sums (their
// order differs from sqdist's, which ranks; these are only bounds, whose
// rounding error kMargin covers for any summation order).
IMBFAST_INLINE double sq4_body(const double* __restrict a, const double* __restrict b, Index d) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    Index j = 0;
    for (; j + 4 <= d; j += 4) {
        const double e0 = a[j] - b[j], e1 = a[j + 1] - b[j + 1];
        const double e2 = a[j + 2] - b[j + 2], e3 = a[j + 3] - b[j + 3];
        s0 += e0 * e0;
        s1 += e1 * e1;
        s2 += e2 * e2;
        s3 += e3 * e3;
    }
    for (; j < d; ++j) {
        const double e = a[j] - b[j];
        s0 += e * e;
    }
    return (s0 + s1) + (s2 + s3);
}

// out[i] = squared distance from p to centre i of `centres` (m rows of d).
IMBFAST_INLINE void sq_many_body(const double* p, const double* centres, Index m, Index d,
                                 double* out) {
    for (Index i = 0; i < m; ++i) out[i] = sq4_body(p, centres + i * d, d);
}
void sq_many_generic(const double* p, const double* c, Index m, Index d, double* out) {
    sq_many_body(p, c, m, d, out);
}
IMBFAST_TARGET_AVX2 void sq_many_avx2(const double* p, const double* c, Index m, Index d,
                                      double* out) {
    sq_many_body(p, c, m, d, out);
}
IMBFAST_TARGET_AVX512 void sq_many_avx512(const double* p, const double* c, Index m, Index d,
                                          double* out) {
    sq_many_body(p, c, m, d, out);
}
using SqMany = void (*)(const double*, const double*, Index, Index, double*);
SqMany pick_sq_many() {
    return pick_by_isa(&sq_many_generic, &sq_many_avx2, &sq_many_avx512);
}

// Exact squared distances (double, summed over the coordinates in order:
// bit for bit sqdist's) from q to four rows at once: four independent sums
// instead of one dependent chain.
template <class T>
IMBFAST_INLINE void sqdist4_body(const T* __restrict q, const T* __restrict r0,
                                 const T* __restrict r1, const T* __restrict r2,
                                 const T* __restrict r3, Index d, double* out) {
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    for (Index j = 0; j < d; ++j) {
        const double x = static_cast<double>(q[j]);
        const double e0 = x - static_cast<double>(r0[j]);
        const double e1 = x - static_cast<double>(r1[j]);
        const double e2 = x - static_cast<double>(r2[j]);
        const double e3 = x - static_cast<double>(r3[j]);
        a0 += e0 * e0;
        a1 += e1 * e1;
        a2 += e2 * e2;
        a3 += e3 * e3;
    }
    out[0] = a0;
    out[1] = a1;
    out[2] = a2;
    out[3] = a3;
}
template <class T>
void sqdist4_generic(const T* q, const T* r0, const T* r1, const T* r2, const T* r3, Index d,
                     double* out) {
    sqdist4_body(q, r0, r1, r2, r3, d, out);
}
template <class T>
IMBFAST_TARGET_AVX2 void sqdist4_avx2(const T* q, const T* r0, const T* r1, const T* r2,
                                      const T* r3, Index d, double* out) {
    sqdist4_body(q, r0, r1, r2, r3, d, out);
}
template <class T>
IMBFAST_TARGET_AVX512 void sqdist4_avx512(const T* q, const T* r0, const T* r1, const T* r2,
                                          const T* r3, Index d, double* out) {
    sqdist4_body(q, r0, r1, r2, r3, d, out);
}
template <class T>
using SqDist4 = void (*)(const T*, const T*, const T*, const T*, const T*, Index, double*);
template <class T>
SqDist4<T> pick_sqdist4() {
    return pick_by_isa(&sqdist4_generic<T>, &sqdist4_avx2<T>, &sqdist4_avx512<T>);
}

// Centres per transposed panel ((d, kLanes) floats: coordinate j of the
// kLanes centres side by side), for the float32 nearest-centre estimates
// that only steer choices (the guess of the assignment, the fine cells).
constexpr Index kLanes = 16;

// The lane (panel * kLanes + l) of the smallest float32 estimate of the
// squared distance from x to the centres of n_panels transposed panels,
// the lowest lane among equal estimates; 0 when none compares (NaN). Each
// estimate is summed in two chains (even and odd coordinates) with separate
// multiplications and additions, in the same order in every ISA's version:
// the same bits, so the choices they steer do not depend on the ISA.
IMBFAST_INLINE Index nearest_lane_body(const float* x, const float* panels, Index n_panels,
                                       Index d) {
    float best = std::numeric_limits<float>::infinity();
    Index at = 0;
    for (Index p = 0; p < n_panels; ++p) {
        float a[kLanes] = {}, b[kLanes] = {};
        const float* P = panels + p * d * kLanes;
        Index j = 0;
        for (; j + 2 <= d; j += 2)
            for (Index l = 0; l < kLanes; ++l) {
                const float e = x[j] - P[j * kLanes + l];
                const float f = x[j + 1] - P[(j + 1) * kLanes + l];
                a[l] = a[l] + e * e;
                b[l] = b[l] + f * f;
            }
        if (j < d)
            for (Index l = 0; l < kLanes; ++l) {
                const float e = x[j] - P[j * kLanes + l];
                a[l] = a[l] + e * e;
            }
        for (Index l = 0; l < kLanes; ++l) {
            const float v = a[l] + b[l];
            if (v < best) {
                best = v;
                at = p * kLanes + l;
            }
        }
    }
    return at;
}
Index nearest_lane_generic(const float* x, const float* panels, Index n_panels, Index d) {
    return nearest_lane_body(x, panels, n_panels, d);
}
#if defined(IMBFAST_HAVE_X86_DISPATCH)
// The same with 256-bit vectors (compilers vectorize the loop above across
// the coordinates, with shuffles): a panel is two vectors, and every lane
// keeps its best estimate and the first panel reaching it.
IMBFAST_TARGET_AVX2 IMBFAST_INLINE Index nearest_lane_avx2_body(const float* x,
                                                               const float* panels,
                                                               Index n_panels, Index d) {
    const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
    __m256 best0 = inf, best1 = inf;
    __m256i at0 = _mm256_setzero_si256(), at1 = _mm256_setzero_si256();
    for (Index p = 0; p < n_panels; ++p) {
        const float* P = panels + p * d * kLanes;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
        Index j = 0;
        for (; j + 2 <= d; j += 2) {
            const __m256 v = _mm256_set1_ps(x[j]), w = _mm256_set1_ps(x[j + 1]);
            const __m256 e0 = _mm256_sub_ps(v, _mm256_loadu_ps(P + j * kLanes));
            const __m256 e1 = _mm256_sub_ps(v, _mm256_loadu_ps(P + j * kLanes + 8));
            const __m256 f0 = _mm256_sub_ps(w, _mm256_loadu_ps(P + (j + 1) * kLanes));
            const __m256 f1 = _mm256_sub_ps(w, _mm256_loadu_ps(P + (j + 1) * kLanes + 8));
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(e0, e0));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(e1, e1));
            b0 = _mm256_add_ps(b0, _mm256_mul_ps(f0, f0));
            b1 = _mm256_add_ps(b1, _mm256_mul_ps(f1, f1));
        }
        if (j < d) {
            const __m256 v = _mm256_set1_ps(x[j]);
            const __m256 e0 = _mm256_sub_ps(v, _mm256_loadu_ps(P + j * kLanes));
            const __m256 e1 = _mm256_sub_ps(v, _mm256_loadu_ps(P + j * kLanes + 8));
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(e0, e0));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(e1, e1));
        }
        a0 = _mm256_add_ps(a0, b0);
        a1 = _mm256_add_ps(a1, b1);
        const __m256i pv = _mm256_set1_epi32(static_cast<int>(p));
        const __m256 lt0 = _mm256_cmp_ps(a0, best0, _CMP_LT_OQ);
        const __m256 lt1 = _mm256_cmp_ps(a1, best1, _CMP_LT_OQ);
        best0 = _mm256_blendv_ps(best0, a0, lt0);
        best1 = _mm256_blendv_ps(best1, a1, lt1);
        at0 = _mm256_blendv_epi8(at0, pv, _mm256_castps_si256(lt0));
        at1 = _mm256_blendv_epi8(at1, pv, _mm256_castps_si256(lt1));
    }
    alignas(32) float bv[kLanes];
    alignas(32) std::int32_t bp[kLanes];
    _mm256_store_ps(bv, best0);
    _mm256_store_ps(bv + 8, best1);
    _mm256_store_si256(reinterpret_cast<__m256i*>(bp), at0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(bp + 8), at1);
    // The smallest estimate, and among equal ones the lowest lane overall
    // (as the scalar version's scan finds).
    float best = std::numeric_limits<float>::infinity();
    Index at = 0;
    for (Index l = 0; l < kLanes; ++l) {
        const Index lane = Index{bp[l]} * kLanes + l;
        if (bv[l] < best || (bv[l] == best && lane < at)) {
            best = bv[l];
            at = lane;
        }
    }
    return at;
}
IMBFAST_TARGET_AVX2 Index nearest_lane_avx2(const float* x, const float* panels, Index n_panels,
                                            Index d) {
    return nearest_lane_avx2_body(x, panels, n_panels, d);
}
IMBFAST_TARGET_AVX512 Index nearest_lane_avx512(const float* x, const float* panels,
                                                Index n_panels, Index d) {
    return nearest_lane_avx2_body(x, panels, n_panels, d);
}
#endif
using NearestLane = Index (*)(const float*, const float*, Index, Index);
NearestLane pick_nearest_lane() {
#if defined(IMBFAST_HAVE_X86_DISPATCH)
    return pick_by_isa(&nearest_lane_generic, &nearest_lane_avx2, &nearest_lane_avx512);
#else
    return &nearest_lane_generic;
#endif
}

// Appends the rows `ids` of the (m, d) matrix R (float32) to `panels` as
// transposed panels of kLanes, the last one padded with copies of the first
// row; `lane_id` gets each lane's id (the pads the first id).
void append_panels(const float* R, const std::vector<Index>& ids, Index d,
                   std::vector<float>& panels, std::vector<std::int32_t>& lane_id) {
    const Index m = static_cast<Index>(ids.size());
    const Index np = (m + kLanes - 1) / kLanes;
    const std::size_t base = panels.size();
    panels.resize(base + checked_size(np * kLanes, d));
    for (Index t = 0; t < np * kLanes; ++t) {
        const Index id = ids[static_cast<std::size_t>(t < m ? t : 0)];
        float* p = panels.data() + base + static_cast<std::size_t>((t / kLanes) * d * kLanes + t % kLanes);
        for (Index j = 0; j < d; ++j) p[j * kLanes] = R[id * d + j];
        lane_id.push_back(static_cast<std::int32_t>(id));
    }
}

// A lower bound of ||p - c||^2 from its computed value.
inline double lower_sq(double computed) { return computed * (1.0 - kMargin) - kAbsSlack; }

// Can a set of radius r around a centre at computed squared distance `sq`
// from p hold a point within u of p? (u + r)^2 is compared squared; see the
// exactness argument at the top.
inline bool reachable(double sq, double r, double u) {
    const double reach = u + r;
    return reach >= 0.0 && lower_sq(sq) <= reach * reach;
}

// The cells and fine cells of X, with exact radii.
struct Partition {
    Index n = 0, d = 0, nlist = 0;
    std::vector<double> C;          // (nlist, d) centroids
    std::vector<Index> cell;        // (n,) cell of each row
    std::vector<double> row_dist;   // (n,) distance from each row to its centroid
    std::vector<Index> order;       // rows grouped by cell, ascending within
    std::vector<Index> offsets;     // (nlist + 1,)
    std::vector<double> radius;     // (nlist,) -inf for an empty cell
    // Fine cells: those of cell c are fine_offsets[c]:fine_offsets[c + 1];
    // the rows of fine cell f are fine_rows[F_start[f]:F_start[f + 1]]
    // (ascending); fine_label[offsets[c] + i] is the fine cell (local to c)
    // of the row order[offsets[c] + i].
    std::vector<Index> fine_offsets;
    std::vector<double> F_centres;  // (n_fine, d)
    std::vector<double> F_radius;   // (n_fine,)
    std::vector<double> F_dist;     // (n_fine,) distance from a fine centre to its centroid
    std::vector<Index> F_start;     // (n_fine + 1,)
    std::vector<Index> fine_rows;   // (n,)
    std::vector<std::int32_t> fine_label;  // (n,)

    Index count(Index c) const { return offsets[c + 1] - offsets[c]; }
};

// Distance, in double, from every scaled row of A to its cell's centroid.
// Throws when one is not finite: NaN or infinite values, or a scale that
// does not keep the squares of the data in range.
template <class T>
void centroid_distances(const T* A, Index m, Index d, double scale, const std::vector<double>& C,
                        const Index* cell, double* out, int n_threads) {
    std::atomic<bool> bad{false};
    parallel_for(m, n_threads, grain_for(3 * d), [&](Index lo, Index hi) {
        for (Index i = lo; i < hi; ++i) {
            const T* a = A + i * d;
            const double* c = C.data() + cell[i] * d;
            double acc = 0.0;
            for (Index j = 0; j < d; ++j) {
                const double e = static_cast<double>(a[j]) * scale - c[j];
                acc += e * e;
            }
            out[i] = std::sqrt(acc);
            if (!std::isfinite(acc)) bad.store(true, std::memory_order_relaxed);
        }
    });
    if (bad.load())
        throw std::invalid_argument(
            "pruned_knn: X or Q contains NaN or infinity, or X * scale is too large (pass the "
            "power of two that brings the largest coordinate near 1)");
}

// Means of the rows of R (count x d) per label, labels without rows
// dropped; `label` is renumbered to the kept labels (in ascending order).
// Returns the number of groups.
Index group_means(const std::vector<double>& R, Index count, Index d, Index m,
                  std::vector<std::int32_t>& label, std::vector<double>& centres,
                  std::vector<Index>& sizes) {
    sizes.assign(static_cast<std::size_t>(m), 0);
    for (Index i = 0; i < count; ++i) ++sizes[label[i]];
    std::vector<std::int32_t> remap(static_cast<std::size_t>(m), -1);
    Index g = 0;
    for (Index l = 0; l < m; ++l)
        if (sizes[l] > 0) remap[l] = static_cast<std::int32_t>(g++);
    centres.assign(checked_size(g, d), 0.0);
    for (Index l = 0; l < m; ++l)
        if (sizes[l] > 0) sizes[remap[l]] = sizes[l];
    sizes.resize(static_cast<std::size_t>(g));
    for (Index i = 0; i < count; ++i) {
        label[i] = remap[label[i]];
        double* c = centres.data() + Index{label[i]} * d;
        const double* r = R.data() + i * d;
        for (Index j = 0; j < d; ++j) c[j] += r[j];
    }
    for (Index l = 0; l < g; ++l)
        for (Index j = 0; j < d; ++j) centres[l * d + j] /= static_cast<double>(sizes[l]);
    return g;
}

// Nearest centre (first of equals) of each row of R.
void nearest_centre(const std::vector<double>& R, Index count, Index d,
                    const std::vector<double>& centres, Index m, std::vector<std::int32_t>& label,
                    std::vector<double>& tmp, SqMany sq_many) {
    tmp.resize(static_cast<std::size_t>(m));
    for (Index i = 0; i < count; ++i) {
        sq_many(R.data() + i * d, centres.data(), m, d, tmp.data());
        Index best = 0;
        for (Index l = 1; l < m; ++l)
            if (tmp[l] < tmp[best]) best = l;
        label[i] = static_cast<std::int32_t>(best);
    }
}

// Nearest centre of each row of Rf (float32) by the float32 estimates of
// nearest_lane: the fine cells only need some assignment (their radii are
// exact whatever it is), and the estimates are the same on every ISA.
void nearest_centre_estimate(const std::vector<float>& Rf, Index count, Index d,
                             const std::vector<double>& centres, Index m,
                             std::vector<std::int32_t>& label, std::vector<float>& panels,
                             NearestLane nearest_lane) {
    const Index np = (m + kLanes - 1) / kLanes;
    panels.assign(checked_size(np * kLanes, d), 0.0f);
    for (Index t = 0; t < np * kLanes; ++t) {
        const Index c = t < m ? t : 0;  // pads: copies of centre 0
        float* P = panels.data() + (t / kLanes) * d * kLanes + t % kLanes;
        for (Index j = 0; j < d; ++j) P[j * kLanes] = static_cast<float>(centres[c * d + j]);
    }
    for (Index i = 0; i < count; ++i) {
        const Index lane = nearest_lane(Rf.data() + i * d, panels.data(), np, d);
        label[i] = static_cast<std::int32_t>(lane < m ? lane : 0);
    }
}

// Fine cells of one cell, written into the slots the caller reserved: m
// rows of the cell (evenly spaced in its order, which is the original order:
// a deterministic, density-following sample) are the first centres; rows go
// to the nearest centre, each centre moves to the mean of its rows and rows
// are assigned once more (one k-means step); the final centres are the means
// of their rows. A fine cell's radius is the largest distance from its
// centre to one of its rows (double, loosened by the margin).
template <class T>
Index split_cell(const T* X, double scale, Partition& P, Index c, double* centres_out,
                 double* radius_out, Index* sizes_out, NearestLane nearest_lane) {
    const Index d = P.d, lo = P.offsets[c], count = P.count(c);
    if (count == 0) return 0;
    const Index m0 = std::min(kFineMax, std::max<Index>(1, count / kFineRows));
    std::vector<double> R(checked_size(count, d));
    for (Index i = 0; i < count; ++i) {
        const T* x = X + P.order[lo + i] * d;
        for (Index j = 0; j < d; ++j) R[i * d + j] = static_cast<double>(x[j]) * scale;
    }
    std::vector<std::int32_t> label(static_cast<std::size_t>(count), 0);
    std::vector<double> centres;
    std::vector<float> Rf, panels;
    std::vector<Index> sizes;
    Index m = 1;
    if (m0 > 1) {
        Rf.resize(R.size());
        for (std::size_t i = 0; i < R.size(); ++i) Rf[i] = static_cast<float>(R[i]);
        centres.resize(checked_size(m0, d));
        for (Index l = 0; l < m0; ++l) {
            const Index at = l == m0 - 1 ? count - 1 : (l * (count - 1)) / (m0 - 1);
            std::copy(R.begin() + at * d, R.begin() + (at + 1) * d, centres.begin() + l * d);
        }
        m = m0;
        for (int step = 0; step < 2; ++step) {
            nearest_centre_estimate(Rf, count, d, centres, m, label, panels, nearest_lane);
            m = group_means(R, count, d, m, label, centres, sizes);
        }
    } else {
        m = group_means(R, count, d, 1, label, centres, sizes);
    }
    // Stable order of the cell's rows by fine cell, and exact radii.
    std::vector<Index> start(static_cast<std::size_t>(m + 1), 0);
    for (Index l = 0; l < m; ++l) start[l + 1] = start[l] + sizes[l];
    std::vector<Index> fill(start.begin(), start.end() - 1);
    std::fill(radius_out, radius_out + m, 0.0);
    for (Index i = 0; i < count; ++i) {
        const Index l = label[i];
        P.fine_rows[lo + fill[l]++] = P.order[lo + i];
        P.fine_label[lo + i] = label[i];
        const double* r = R.data() + i * d;
        const double* s = centres.data() + l * d;
        double acc = 0.0;
        for (Index j = 0; j < d; ++j) {
            const double e = r[j] - s[j];
            acc += e * e;
        }
        radius_out[l] = std::max(radius_out[l], std::sqrt(acc));
    }
    for (Index l = 0; l < m; ++l) {
        radius_out[l] *= 1.0 + kMargin;
        sizes_out[l] = sizes[l];
    }
    std::copy(centres.begin(), centres.begin() + m * d, centres_out);
    return m;
}

// Fine cells of every cell, gathered into the flat arrays of P.
template <class T>
void split_all(const T* X, double scale, Partition& P, int n_threads) {
    const Index nlist = P.nlist, d = P.d;
    P.fine_rows.assign(static_cast<std::size_t>(P.n), 0);
    P.fine_label.assign(static_cast<std::size_t>(P.n), 0);
    // Slots: at most m0 fine cells per cell.
    std::vector<Index> slot(static_cast<std::size_t>(nlist + 1), 0);
    for (Index c = 0; c < nlist; ++c) {
        const Index count = P.count(c);
        slot[c + 1] = slot[c] + (count ? std::min(kFineMax, std::max<Index>(1, count / kFineRows)) : 0);
    }
    std::vector<double> centres(checked_size(slot[nlist], d));
    std::vector<double> radius(static_cast<std::size_t>(slot[nlist]));
    std::vector<Index> sizes(static_cast<std::size_t>(slot[nlist]));
    std::vector<Index> made(static_cast<std::size_t>(nlist), 0);
    const NearestLane nearest_lane = pick_nearest_lane();
    // Work per cell: about 3 passes of rows x centres x d.
    const Index rows_per_cell = std::max<Index>(1, P.n / std::max<Index>(1, nlist));
    const Index work = 3 * rows_per_cell * std::min(kFineMax, std::max<Index>(1, rows_per_cell / kFineRows)) * d;
    parallel_for(nlist, n_threads, grain_for(work), [&](Index lo, Index hi) {
        for (Index c = lo; c < hi; ++c)
            made[c] = split_cell(X, scale, P, c, centres.data() + slot[c] * d,
                                 radius.data() + slot[c], sizes.data() + slot[c], nearest_lane);
    });
    P.fine_offsets.assign(static_cast<std::size_t>(nlist + 1), 0);
    for (Index c = 0; c < nlist; ++c) P.fine_offsets[c + 1] = P.fine_offsets[c] + made[c];
    const Index n_fine = P.fine_offsets[nlist];
    P.F_centres.resize(checked_size(n_fine, d));
    P.F_radius.resize(static_cast<std::size_t>(n_fine));
    P.F_start.assign(static_cast<std::size_t>(n_fine + 1), 0);
    for (Index c = 0; c < nlist; ++c) {
        const Index f0 = P.fine_offsets[c];
        Index at = P.offsets[c];
        for (Index l = 0; l < made[c]; ++l) {
            std::copy(centres.begin() + (slot[c] + l) * d, centres.begin() + (slot[c] + l + 1) * d,
                      P.F_centres.begin() + (f0 + l) * d);
            P.F_radius[f0 + l] = radius[slot[c] + l];
            P.F_start[f0 + l] = at;
            at += sizes[slot[c] + l];
        }
    }
    P.F_start[n_fine] = P.n;
    P.F_dist.resize(static_cast<std::size_t>(n_fine));
    for (Index c = 0; c < nlist; ++c)
        for (Index f = P.fine_offsets[c]; f < P.fine_offsets[c + 1]; ++f)
            P.F_dist[f] = std::sqrt(sq4_body(P.F_centres.data() + f * d, P.C.data() + c * d, d));
}

template <class T>
void build_partition(const T* X, Index n, Index d, const float* centroids, Index nlist,
                     double scale, Partition& P, int n_threads) {
    P.n = n;
    P.d = d;
    P.nlist = nlist;
    P.C.resize(checked_size(nlist, d));
    for (Index i = 0; i < nlist * d; ++i) P.C[i] = static_cast<double>(centroids[i]);
    P.cell.resize(static_cast<std::size_t>(n));
    nearest_centroids(X, n, d, scale, centroids, nlist, P.cell.data(), n_threads);
    P.row_dist.resize(static_cast<std::size_t>(n));
    centroid_distances(X, n, d, scale, P.C, P.cell.data(), P.row_dist.data(), n_threads);
    P.order.resize(static_cast<std::size_t>(n));
    P.offsets.resize(static_cast<std::size_t>(nlist + 1));
    cell_order(P.cell.data(), n, nlist, P.order.data(), P.offsets.data());
    // Exact radii, loosened by the margin; an empty cell is never searched.
    P.radius.assign(static_cast<std::size_t>(nlist), -std::numeric_limits<double>::infinity());
    for (Index c = 0; c < nlist; ++c) {
        if (P.count(c) == 0) continue;
        double r = 0.0;
        for (Index i = P.offsets[c]; i < P.offsets[c + 1]; ++i) r = std::max(r, P.row_dist[P.order[i]]);
        P.radius[c] = r * (1.0 + kMargin);
    }
}

// The second-pass plan of one block: the queries (original ids) that still
// search, and the fine cells they search.
struct Plan {
    std::vector<Index> queries;
    std::vector<Index> fine;
};

// Per-thread scratch of the first pass.
template <class T>
struct Scratch {
    std::vector<T> rows, queries;
    std::vector<Index> ids, idx;
    std::vector<double> dist, u, Qs, Dm, sq, centres;
    std::vector<Index> others, J, J2, fine, cand;
    std::vector<char> hit, used;
    std::vector<knn_detail::TopK> tops;
};

template <class T>
class Search {
   public:
    Search(const T* X, const T* Q, Index k, double scale, const Partition& P,
           const Index* q_order, const Index* q_offsets, const double* q_dist,
           Index* out_idx, double* out_dist)
        : X_(X), Q_(Q ? Q : X), self_(Q == nullptr), k_(k), d_(P.d), scale_(scale),
          P_(P), q_order_(q_order), q_offsets_(q_offsets), q_dist_(q_dist), out_idx_(out_idx),
          out_dist_(out_dist), sq_many_(pick_sq_many()), sqdist_(knn_detail::pick_sqdist<T>()),
          sqdist4_(pick_sqdist4<T>()) {}

    // The first pass of block a (the queries of cell a); returns the
    // distances it computed and counts the second pass's in its plans.
    Index first_pass(Index a, std::vector<Plan>& plans, Scratch<T>& s) const {
        const Index d = d_, k = k_;
        const Index q0 = q_offsets_[a], m = q_offsets_[a + 1] - q0;
        const Index* qs = q_order_ + q0;
        gather(Q_, qs, m, s.queries);
        const Index need_rows = self_ ? k + 1 : k;
        const Index own = P_.count(a);
        const Index nlist = P_.nlist;
        centroid_row(a, s);

        Index done = 0;
        // The cells searched by the first pass: a, then (only when a holds
        // too few rows) the cells with the nearest centroids until they hold
        // enough rows (ties by cell index).
        s.others.clear();
        s.others.push_back(a);
        if (self_ && own >= need_rows && m * m * d <= kScanWork) {
            // Small cell: the exact scan of its rows, each pair once, self
            // excluded by index.
            scan_self(qs, m, s);
            done = m * m / 2;
        } else if (self_ && own >= need_rows) {
            // The own cell's rows among themselves: each pair once, self
            // excluded by index (the queries are the cell's rows, ascending).
            s.idx.resize(checked_size(m, k));
            s.dist.resize(checked_size(m, k));
            fused_knn<T>(s.queries.data(), m, d, nullptr, m, k, kFusedExtra, s.idx.data(),
                         s.dist.data(), 1);
            for (Index i = 0; i < m; ++i)
                for (Index j = 0; j < k; ++j) {
                    out_idx_[qs[i] * k + j] = qs[s.idx[i * k + j]];
                    out_dist_[qs[i] * k + j] = s.dist[i * k + j];
                }
            done = m * m / 2;
        } else {
            if (own < need_rows) {
                s.cand.clear();
                for (Index j = 0; j < nlist; ++j)
                    if (j != a) s.cand.push_back(j);
                std::stable_sort(s.cand.begin(), s.cand.end(),
                                 [&](Index x, Index y) { return s.Dm[x] < s.Dm[y]; });
                Index have = own;
                for (Index j : s.cand) {
                    if (have >= need_rows) break;
                    s.others.push_back(j);
                    have += P_.count(j);
                }
            }
            s.ids.clear();
            for (Index c : s.others)
                s.ids.insert(s.ids.end(), P_.order.begin() + P_.offsets[c],
                             P_.order.begin() + P_.offsets[c + 1]);
            const Index nr = static_cast<Index>(s.ids.size());
            if (m * nr * d <= kScanWork) {
                scan(qs, m, s.ids.data(), nr, nullptr, s);
                done = nr * m;
                return plan_second(a, m, qs, done, plans, s);
            }
            // The fused kernel ranks ties by position: rows in ascending id.
            std::sort(s.ids.begin(), s.ids.end());
            gather(X_, s.ids.data(), nr, s.rows);
            s.idx.resize(checked_size(m, need_rows));
            s.dist.resize(checked_size(m, need_rows));
            fused_knn<T>(s.rows.data(), nr, d, s.queries.data(), m, need_rows, kFusedExtra,
                         s.idx.data(), s.dist.data(), 1);
            for (Index i = 0; i < m; ++i) {
                const Index* li = s.idx.data() + i * need_rows;
                const double* ld = s.dist.data() + i * need_rows;
                // Querying X itself: drop the query's own row; where
                // duplicates pushed it out of the list, drop the last entry.
                Index skip = need_rows - 1;
                if (self_) {
                    for (Index j = 0; j < need_rows; ++j)
                        if (s.ids[li[j]] == qs[i]) {
                            skip = j;
                            break;
                        }
                } else {
                    skip = need_rows;  // nothing to drop
                }
                Index w = 0;
                for (Index j = 0; j < need_rows && w < k; ++j) {
                    if (j == skip) continue;
                    out_idx_[qs[i] * k + w] = s.ids[li[j]];
                    out_dist_[qs[i] * k + w] = ld[j];
                    ++w;
                }
            }
            done = nr * m;
        }
        return plan_second(a, m, qs, done, plans, s);
    }

    // The first pass of a group of cells of X searched together (see
    // group_cells; querying X itself, every cell holding at least k + 1
    // rows): the rows of all of them among themselves, each pair once, so
    // every row's first-pass list is its exact k nearest among the group's
    // rows (u_q bounds its k-th distance as before). Then each cell's plan,
    // with the group's cells left out of its second pass (their rows were
    // all searched). Returns the distances of both passes.
    Index first_pass_group(const Index* cells, Index nc, std::vector<std::vector<Plan>>& plans,
                           Scratch<T>& s) const {
        if (nc == 1) return first_pass(cells[0], plans[cells[0]], s);
        const Index d = d_, k = k_;
        s.ids.clear();
        for (Index t = 0; t < nc; ++t)
            s.ids.insert(s.ids.end(), P_.order.begin() + P_.offsets[cells[t]],
                         P_.order.begin() + P_.offsets[cells[t] + 1]);
        // The fused kernel ranks ties by position: rows in ascending id.
        std::sort(s.ids.begin(), s.ids.end());
        const Index nr = static_cast<Index>(s.ids.size());
        if (nr * nr * d <= kScanWork) {
            scan_self(s.ids.data(), nr, s);
        } else {
            gather(X_, s.ids.data(), nr, s.rows);
            s.idx.resize(checked_size(nr, k));
            s.dist.resize(checked_size(nr, k));
            fused_knn<T>(s.rows.data(), nr, d, nullptr, nr, k, kFusedExtra, s.idx.data(),
                         s.dist.data(), 1);
            for (Index i = 0; i < nr; ++i)
                for (Index j = 0; j < k; ++j) {
                    out_idx_[s.ids[i] * k + j] = s.ids[s.idx[i * k + j]];
                    out_dist_[s.ids[i] * k + j] = s.dist[i * k + j];
                }
        }
        Index done = nr * nr / 2;
        for (Index t = 0; t < nc; ++t) {
            const Index a = cells[t];
            const Index q0 = q_offsets_[a], m = q_offsets_[a + 1] - q0;
            const Index* qs = q_order_ + q0;
            gather(Q_, qs, m, s.queries);
            centroid_row(a, s);
            s.others.assign(cells, cells + nc);
            done = plan_second(a, m, qs, done, plans[a], s);
        }
        return done;
    }

    // The second pass's plan of block a, once its first pass is done;
    // returns the work of both passes.
    Index plan_second(Index a, Index m, const Index* qs, Index done, std::vector<Plan>& plans,
                      Scratch<T>& s) const {
        const Index d = d_, k = k_, nlist = P_.nlist;
        // Upper bound on each query's k-th distance (scaled units),
        // loosened by the margin, and the block's reach:
        // ||q - c_j|| >= ||c_a - c_j|| - ||q - c_a||.
        s.u.resize(static_cast<std::size_t>(m));
        double reach = 0.0;
        for (Index i = 0; i < m; ++i) {
            s.u[i] = std::sqrt(out_dist_[qs[i] * k + k - 1]) * scale_ * (1.0 + kMargin);
            reach = std::max(reach, q_dist_[qs[i]] + s.u[i]);
        }
        reach *= 1.0 + kMargin;
        s.J.clear();
        for (Index j = 0; j < nlist; ++j) {
            if (P_.count(j) == 0 || !(s.Dm[j] - P_.radius[j] <= reach)) continue;
            if (std::find(s.others.begin(), s.others.end(), j) != s.others.end()) continue;
            s.J.push_back(j);
        }
        plans.clear();
        if (s.J.empty()) return done;
        // The block's queries, scaled, in double.
        s.Qs.resize(checked_size(m, d));
        for (Index i = 0; i < m * d; ++i) s.Qs[i] = static_cast<double>(s.queries[i]) * scale_;
        if (self_) {
            plan_by_fine_cells(a, m, s, plans);
        } else {
            plans.emplace_back();
            plan_by_queries(a, m, qs, reach, s, plans.back());
            if (plans.back().queries.empty()) plans.pop_back();
        }
        for (Plan& plan : plans) {
            for (Index& q : plan.queries) q = qs[q];
            Index rows = 0;
            for (Index f : plan.fine) rows += P_.F_start[f + 1] - P_.F_start[f];
            done += static_cast<Index>(plan.queries.size()) * rows;
        }
        return done;
    }

    // The second pass of one block: its queries search the union of its
    // fine cells, keeping rows within their first-pass k-th distance (ties
    // included: the fused kernel starts its thresholds there), and the two
    // disjoint lists are merged by (squared distance, index).
    void second_pass(const Plan& plan, Scratch<T>& s) const {
        const Index d = d_, k = k_;
        s.ids.clear();
        for (Index f : plan.fine)
            s.ids.insert(s.ids.end(), P_.fine_rows.begin() + P_.F_start[f],
                         P_.fine_rows.begin() + P_.F_start[f + 1]);
        const Index nr = static_cast<Index>(s.ids.size());
        const Index m = static_cast<Index>(plan.queries.size());
        if (m * nr * d <= kScanWork) {
            // The first-pass list and every row at most its k-th distance
            // away, ranked together by (distance, index).
            s.u.resize(static_cast<std::size_t>(m));
            for (Index i = 0; i < m; ++i) s.u[i] = out_dist_[plan.queries[i] * k + k - 1];
            scan(plan.queries.data(), m, s.ids.data(), nr, s.u.data(), s);
            return;
        }
        std::sort(s.ids.begin(), s.ids.end());
        const Index k2 = std::min(k, nr);
        gather(X_, s.ids.data(), nr, s.rows);
        gather(Q_, plan.queries.data(), m, s.queries);
        s.u.resize(static_cast<std::size_t>(m));  // the within thresholds
        for (Index i = 0; i < m; ++i) s.u[i] = out_dist_[plan.queries[i] * k + k - 1];
        s.idx.resize(checked_size(m, k2));
        s.dist.resize(checked_size(m, k2));
        fused_knn<T>(s.rows.data(), nr, d, s.queries.data(), m, k2, kFusedExtra, s.idx.data(),
                     s.dist.data(), 1, s.u.data());
        std::vector<Index> mi(static_cast<std::size_t>(k));
        std::vector<double> md(static_cast<std::size_t>(k));
        for (Index i = 0; i < m; ++i) {
            Index* oi = out_idx_ + plan.queries[i] * k;
            double* od = out_dist_ + plan.queries[i] * k;
            const Index* bi = s.idx.data() + i * k2;
            const double* bd = s.dist.data() + i * k2;
            Index x = 0, y = 0;
            for (Index w = 0; w < k; ++w) {
                const bool have_b = y < k2 && bi[y] >= 0;
                bool take_b = false;
                if (have_b) {
                    const Index gb = s.ids[bi[y]];
                    take_b = x >= k || bd[y] < od[x] || (bd[y] == od[x] && gb < oi[x]);
                }
                if (take_b) {
                    mi[w] = s.ids[bi[y]];
                    md[w] = bd[y];
                    ++y;
                } else {
                    mi[w] = oi[x];
                    md[w] = od[x];
                    ++x;
                }
            }
            std::copy(mi.begin(), mi.end(), oi);
            std::copy(md.begin(), md.end(), od);
        }
    }

   private:
    // s.Dm: distances from c_a to every centroid (lowered by the margin;
    // only used to screen cells for the block and to find near cells).
    void centroid_row(Index a, Scratch<T>& s) const {
        const Index d = d_, nlist = P_.nlist;
        s.Dm.resize(static_cast<std::size_t>(nlist));
        sq_many_(P_.C.data() + a * d, P_.C.data(), nlist, d, s.Dm.data());
        for (Index j = 0; j < nlist; ++j) s.Dm[j] = std::sqrt(std::max(lower_sq(s.Dm[j]), 0.0));
        s.Dm[a] = 0.0;
    }

    // Exact scan in double: for each query qs[i] (an id in Q, or in X when
    // querying X itself, then never its own neighbour), the k nearest of
    // the rows `ids` (any order; ties by the lower id). With `within`, the
    // query's current list takes part and only rows at squared distance
    // <= within[i] can join it (the second pass: those rows are disjoint
    // from the list's). Results go to the query's output row.
    void scan(const Index* qs, Index m, const Index* ids, Index nr, const double* within,
              Scratch<T>& s) const {
        const Index d = d_, k = k_;
        knn_detail::TopK top(k);
        for (Index i = 0; i < m; ++i) {
            const Index q = qs[i];
            const T* qp = Q_ + q * d;
            Index* oi = out_idx_ + q * k;
            double* od = out_dist_ + q * k;
            top.clear();
            const Index self = self_ ? q : -1;
            // Rows at squared distance <= w can enter (every row when
            // there is no bound).
            double w = std::numeric_limits<double>::infinity();
            if (within) {
                for (Index j = 0; j < k; ++j) top.push(od[j], oi[j]);
                w = within[i];
            }
            double d4[4];
            Index r = 0;
            for (; r + 4 <= nr; r += 4) {
                sqdist4_(qp, X_ + ids[r] * d, X_ + ids[r + 1] * d, X_ + ids[r + 2] * d,
                         X_ + ids[r + 3] * d, d, d4);
                for (Index t = 0; t < 4; ++t) {
                    const double dist = knn_detail::sanitize(d4[t]);
                    if (ids[r + t] != self && dist <= w) top.push(dist, ids[r + t]);
                }
            }
            for (; r < nr; ++r) {
                const double dist = knn_detail::sanitize(sqdist_(qp, X_ + ids[r] * d, d));
                if (ids[r] != self && dist <= w) top.push(dist, ids[r]);
            }
            top.write(oi, od);
        }
        (void)s;
    }

    // The exact scan of the rows qs (ascending ids of X) among themselves:
    // each pair's distance computed once and offered to both lists.
    void scan_self(const Index* qs, Index m, Scratch<T>& s) const {
        const Index d = d_, k = k_;
        if (static_cast<Index>(s.tops.size()) < m) s.tops.resize(static_cast<std::size_t>(m), knn_detail::TopK(k));
        for (Index i = 0; i < m; ++i) s.tops[i].clear();
        double d4[4];
        for (Index i = 0; i < m; ++i) {
            const T* qi = X_ + qs[i] * d;
            Index j = i + 1;
            for (; j + 4 <= m; j += 4) {
                sqdist4_(qi, X_ + qs[j] * d, X_ + qs[j + 1] * d, X_ + qs[j + 2] * d,
                         X_ + qs[j + 3] * d, d, d4);
                for (Index t = 0; t < 4; ++t) {
                    const double dist = knn_detail::sanitize(d4[t]);
                    s.tops[i].push(dist, qs[j + t]);
                    s.tops[j + t].push(dist, qs[i]);
                }
            }
            for (; j < m; ++j) {
                const double dist = knn_detail::sanitize(sqdist_(qi, X_ + qs[j] * d, d));
                s.tops[i].push(dist, qs[j]);
                s.tops[j].push(dist, qs[i]);
            }
        }
        for (Index i = 0; i < m; ++i) s.tops[i].write(out_idx_ + qs[i] * k, out_dist_ + qs[i] * k);
    }

    void gather(const T* A, const Index* ids, Index m, std::vector<T>& out) const {
        out.resize(checked_size(m, d_));
        for (Index i = 0; i < m; ++i) std::copy(A + ids[i] * d_, A + (ids[i] + 1) * d_, out.data() + i * d_);
    }

    // Rows the block's queries must still search, and which queries need
    // them: cells and fine cells are tested query by query (queries not
    // from X). Fine cells are first screened for the whole block by
    // ||f - c_a|| - r_f <= reach.
    void plan_by_queries(Index a, Index m, const Index* qs, double reach, Scratch<T>& s,
                         Plan& plan) const {
        const Index d = d_;
        const double* Ca = P_.C.data() + a * d;
        // Cells some query may need.
        s.J2.clear();
        for (Index j : s.J) {
            const double* c = P_.C.data() + j * d;
            for (Index i = 0; i < m; ++i) {
                if (reachable(sq4_body(s.Qs.data() + i * d, c, d), P_.radius[j], s.u[i])) {
                    s.J2.push_back(j);
                    break;
                }
            }
        }
        if (s.J2.empty()) return;
        s.fine.clear();
        s.sq.clear();
        for (Index j : s.J2)
            for (Index f = P_.fine_offsets[j]; f < P_.fine_offsets[j + 1]; ++f) {
                const double to_centre =
                    std::sqrt(sq4_body(P_.F_centres.data() + f * d, Ca, d)) * (1.0 - kMargin);
                if (to_centre - P_.F_radius[f] <= reach) {
                    s.fine.push_back(f);
                    s.sq.push_back(to_centre - P_.F_radius[f]);  // lower bound
                }
            }
        if (s.fine.empty()) return;
        // Fine cells gathered contiguously for the per-query test.
        const Index nf = static_cast<Index>(s.fine.size());
        s.centres.resize(checked_size(nf, d));
        for (Index t = 0; t < nf; ++t)
            std::copy(P_.F_centres.begin() + s.fine[t] * d, P_.F_centres.begin() + (s.fine[t] + 1) * d,
                      s.centres.begin() + t * d);
        s.used.assign(static_cast<std::size_t>(nf), 0);
        for (Index i = 0; i < m; ++i) {
            // ||q - f|| >= ||f - c_a|| - ||q - c_a||: most fine cells are
            // ruled out without their distance.
            const double* q = s.Qs.data() + i * d;
            const double dq = q_dist_[qs[i]] * (1.0 + kMargin);
            const double ui = s.u[i];
            bool hit = false;
            for (Index t = 0; t < nf; ++t) {
                if (hit && s.used[t]) continue;
                if (s.sq[t] - dq > ui) continue;  // cannot reach
                if (reachable(sq4_body(q, s.centres.data() + t * d, d), P_.F_radius[s.fine[t]],
                              ui)) {
                    s.used[t] = 1;
                    hit = true;
                }
            }
            if (hit) plan.queries.push_back(i);
        }
        for (Index t = 0; t < nf; ++t)
            if (s.used[t]) plan.fine.push_back(s.fine[t]);
    }

    // As plan_by_queries, for queries that are the rows of cell a, with a
    // plan per group. The queries are grouped by their own fine cell g
    // (centre s_g, radius r_g, largest bound U_g = max u_q + r_g): a cell
    // or fine cell (c, r) can matter to one of them only if
    // ||s_g - c|| - r <= U_g (for q in g, ||q - c|| >= ||s_g - c|| - r_g),
    // a test per group instead of per query; the queries are then tested
    // against the fine cells their group kept. The second pass then runs a
    // search for the block, or one per group over the fine cells its
    // queries may need (fewer distances where the groups look in
    // different directions: at 1M x 20 clustered rows, a quarter).
    void plan_by_fine_cells(Index a, Index m, Scratch<T>& s, std::vector<Plan>& plans) const {
        const Index d = d_;
        const Index g0 = P_.fine_offsets[a], G = P_.fine_offsets[a + 1] - g0;
        const std::int32_t* label = P_.fine_label.data() + P_.offsets[a];
        std::vector<double> U(static_cast<std::size_t>(G), 0.0);
        for (Index i = 0; i < m; ++i) U[label[i]] = std::max(U[label[i]], s.u[i]);
        // Which groups each cell of J may matter to (rg, one row per cell
        // kept), and the cells that matter to some group.
        const double* Fc = P_.F_centres.data();
        s.J2.clear();
        s.hit.clear();  // rg, reused
        std::vector<double> rgd;  // lower bounds of ||s_g - c_j||, as rg
        for (Index j : s.J) {
            const double* c = P_.C.data() + j * d;
            bool any = false;
            const std::size_t row = s.hit.size();
            s.hit.resize(row + static_cast<std::size_t>(G), 0);
            rgd.resize(row + static_cast<std::size_t>(G), 0.0);
            for (Index g = 0; g < G; ++g) {
                const double sq = sq4_body(Fc + (g0 + g) * d, c, d);
                rgd[row + g] = std::sqrt(std::max(lower_sq(sq), 0.0));
                if (reachable(sq, P_.radius[j], U[g] + P_.F_radius[g0 + g])) {
                    s.hit[row + g] = 1;
                    any = true;
                }
            }
            if (any) {
                s.J2.push_back(j);
            } else {
                s.hit.resize(row);
                rgd.resize(row);
            }
        }
        if (s.J2.empty()) return;
        std::vector<char> rg;
        rg.swap(s.hit);
        // The fine cells of J2 (contiguous per cell): t = tstart[p] + l is
        // fine cell fine_offsets[J2[p]] + l.
        const Index n2 = static_cast<Index>(s.J2.size());
        std::vector<Index> tstart(static_cast<std::size_t>(n2 + 1), 0);
        s.fine.clear();
        for (Index p = 0; p < n2; ++p) {
            const Index j = s.J2[p];
            for (Index f = P_.fine_offsets[j]; f < P_.fine_offsets[j + 1]; ++f) s.fine.push_back(f);
            tstart[p + 1] = static_cast<Index>(s.fine.size());
        }
        const Index nf = static_cast<Index>(s.fine.size());
        s.used.assign(static_cast<std::size_t>(nf), 0);
        s.hit.assign(static_cast<std::size_t>(m), 0);
        // Queries of each group: positions in the block (ascending).
        std::vector<Index> gstart(static_cast<std::size_t>(G + 1), 0);
        for (Index i = 0; i < m; ++i) ++gstart[label[i] + 1];
        for (Index g = 0; g < G; ++g) gstart[g + 1] += gstart[g];
        std::vector<Index> members(static_cast<std::size_t>(m));
        {
            std::vector<Index> fill(gstart.begin(), gstart.end() - 1);
            for (Index i = 0; i < m; ++i) members[fill[label[i]]++] = i;
        }
        std::vector<double> gsq(static_cast<std::size_t>(nf));
        std::vector<double> lo(static_cast<std::size_t>(nf)), hi(static_cast<std::size_t>(nf));
        // Each group's candidates (kept for the choice of plans below).
        std::vector<Index> cand_start(static_cast<std::size_t>(G + 1), 0);
        std::vector<Index> cands;
        for (Index g = 0; g < G; ++g) {
            const double Ug = U[g] + P_.F_radius[g0 + g];
            s.cand.clear();
            for (Index p = 0; p < n2; ++p) {
                if (!rg[static_cast<std::size_t>(p * G + g)]) continue;
                const Index t0 = tstart[p], nt = tstart[p + 1] - t0;
                // ||s_g - f|| >= ||s_g - c_j|| - ||f - c_j||: most fine
                // cells of a reachable cell are ruled out without their
                // distance (the bound loosened by the margin).
                const double dgj = rgd[static_cast<std::size_t>(p * G + g)];
                for (Index t = t0; t < t0 + nt; ++t) {
                    const Index f = s.fine[t];
                    if (dgj - P_.F_dist[f] * (1.0 + kMargin) - P_.F_radius[f] > Ug) continue;
                    gsq[t] = sq4_body(Fc + (g0 + g) * d, Fc + f * d, d);
                    if (!reachable(gsq[t], P_.F_radius[f], Ug)) continue;
                    s.cand.push_back(t);
                    // Bounds of ||s_g - f|| - r_f: the lower one loosened by
                    // the margin, the upper one only ever makes more work.
                    lo[t] = std::sqrt(std::max(lower_sq(gsq[t]), 0.0)) - P_.F_radius[s.fine[t]];
                    hi[t] = std::sqrt(gsq[t]) * (1.0 + kMargin) - P_.F_radius[s.fine[t]];
                }
            }
            cands.insert(cands.end(), s.cand.begin(), s.cand.end());
            cand_start[g + 1] = static_cast<Index>(cands.size());
            if (s.cand.empty()) continue;
            const double* sg = Fc + (g0 + g) * d;
            for (Index p = gstart[g]; p < gstart[g + 1]; ++p) {
                const Index i = members[p];
                const double* q = s.Qs.data() + i * d;
                // ||q - f|| is within ||q - s_g|| of ||s_g - f||: most pairs
                // are decided without their distance. A fine cell some query
                // of the block already needs is not tested again for a
                // query already known to search.
                const double dq = std::sqrt(sq4_body(q, sg, d)) * (1.0 + kMargin);
                const double ui = s.u[i];
                for (Index t : s.cand) {
                    if (s.used[t] && s.hit[i]) continue;
                    if (lo[t] - dq > ui) continue;  // cannot reach
                    if (hi[t] + dq <= ui ||
                        reachable(sq4_body(q, Fc + s.fine[t] * d, d),
                                  P_.F_radius[s.fine[t]], ui)) {
                        s.used[t] = 1;
                        s.hit[i] = 1;
                    }
                }
            }
        }
        // `used` now marks the fine cells some query of the block can
        // reach; a query needs only those of its group's candidates. Two
        // plans are possible: the block's (its searching queries, every
        // used fine cell) or one per group (its searching queries, its used
        // candidates: fewer distances when the groups look in different
        // directions, but a search per group, each gathering and packing
        // its rows). The cheaper one by distances plus kRowCost query
        // equivalents per row gathered is taken.
        const auto rows_of = [&](Index t) { return P_.F_start[s.fine[t] + 1] - P_.F_start[s.fine[t]]; };
        double block_rows = 0.0, group_cost = 0.0;
        Index needy = 0;
        for (Index t = 0; t < nf; ++t)
            if (s.used[t]) block_rows += static_cast<double>(rows_of(t));
        std::vector<Index> nh(static_cast<std::size_t>(G), 0);
        for (Index g = 0; g < G; ++g) {
            for (Index p = gstart[g]; p < gstart[g + 1]; ++p) nh[g] += s.hit[members[p]];
            needy += nh[g];
            if (nh[g] == 0) continue;
            double rows = 0.0;
            for (Index c = cand_start[g]; c < cand_start[g + 1]; ++c)
                if (s.used[cands[c]]) rows += static_cast<double>(rows_of(cands[c]));
            group_cost += (static_cast<double>(nh[g]) + kRowCost) * rows;
        }
        if (needy == 0) return;
        const double block_cost = (static_cast<double>(needy) + kRowCost) * block_rows;
        if (block_cost <= group_cost) {
            Plan plan;
            for (Index i = 0; i < m; ++i)
                if (s.hit[i]) plan.queries.push_back(i);
            for (Index t = 0; t < nf; ++t)
                if (s.used[t]) plan.fine.push_back(s.fine[t]);
            plans.push_back(std::move(plan));
            return;
        }
        for (Index g = 0; g < G; ++g) {
            if (nh[g] == 0) continue;
            Plan plan;
            for (Index p = gstart[g]; p < gstart[g + 1]; ++p)
                if (s.hit[members[p]]) plan.queries.push_back(members[p]);
            std::vector<Index> ts;
            for (Index c = cand_start[g]; c < cand_start[g + 1]; ++c)
                if (s.used[cands[c]]) ts.push_back(cands[c]);
            std::sort(ts.begin(), ts.end());
            for (Index t : ts) plan.fine.push_back(s.fine[t]);
            plans.push_back(std::move(plan));
        }
    }

    const T* X_;
    const T* Q_;
    bool self_;
    Index k_, d_;
    double scale_;
    const Partition& P_;
    const Index* q_order_;
    const Index* q_offsets_;
    const double* q_dist_;
    Index* out_idx_;
    double* out_dist_;
    SqMany sq_many_;
    knn_detail::SqDist<T> sqdist_;
    SqDist4<T> sqdist4_;
};

// A fixed pseudo-random permutation (splitmix64 + Fisher-Yates): the same
// on every platform.
void shuffle(std::vector<Index>& v, std::uint64_t seed) {
    std::uint64_t state = seed;
    auto next = [&]() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    for (std::size_t i = v.size(); i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(next() % i);
        std::swap(v[i - 1], v[j]);
    }
}

// Calls fn(i, scratch) for i in [0, n) on up to n_threads threads (one when
// n <= grain, as parallel_for), each thread pulling the next item when it
// is done with one, with its own Scratch: items of uneven cost (blocks of
// the passes) leave no thread idle but for the last item (parallel_for's
// chunks of several items could). What is computed does not depend on who
// computes it.
template <class T, class Fn>
void for_each_pulled(Index n, int n_threads, Index grain, Fn&& fn) {
    if (n <= 0) return;
    const Index useful = (n + std::max<Index>(grain, 1) - 1) / std::max<Index>(grain, 1);
    const Index workers = std::min<Index>(clamp_threads(n_threads), useful);
    std::atomic<Index> next{0};
    parallel_for(workers, static_cast<int>(workers), 1, [&](Index, Index) {
        Scratch<T> s;
        for (Index i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i, s);
    });
}

// ---------------------------------------------------------------------------
// Assigning rows to their nearest centroid with a proof instead of a search
// of every centroid.
//
// For a row x (scaled and rounded to float32, the values the fused search
// ranks) and any centroid c0, every centroid c has
// ||x - c|| >= ||c0 - c|| - ||x - c0|| (triangle inequality), so a centroid
// with ||c0 - c|| > 2 ||x - c0|| is strictly farther from x than c0 and can
// neither be its nearest nor tie with it. Each centroid lists its nearest
// centroids sorted by distance (itself first). A row takes a guess c0 (the
// nearest member of the nearest group of centroids, from float32
// estimates: any guess is safe, a good one makes the proof cheap); its
// nearest centroid is then in the prefix of c0's list within
// 2 ||x - c0||, and the exact double distances of that prefix (sqdist's,
// summed in the same order as the fused kernel's re-ranking) decide, ties
// by the lower index. Rows whose prefix is long (a poor guess, or a row far
// from every centroid) or reaches the end of a truncated list are searched
// by the fused kernel over every centroid, as before. Either way the answer
// is the exact brute-force one, the same as the fused search's.
//
// Rounding: the listed distances are computed in double from the float32
// centroids and stored lowered (lower_sq), ||x - c0|| is computed in double
// and raised by kMargin; both errors are about d * 1e-16 relative. A
// centroid c left out therefore has a true ||x - c|| above
// (1 + kMargin) sqrt(u0), u0 the computed ||x - c0||^2, so its computed
// squared distance exceeds u0 by far more than its rounding error.

// Below this many centroids, or fewer rows than kAssignRowsPerCell per
// centroid, the fused search of every centroid (building the lists would
// cost more than it saves).
constexpr Index kAssignMinCells = 64;
constexpr Index kAssignRowsPerCell = 16;
// Nearest centroids listed per centroid.
constexpr Index kAssignList = 128;
// Rows whose prefix is longer go to the fused search: a double distance
// costs about as much as 30 of the fused kernel's, and past this length the
// guess was poor.
constexpr Index kAssignMaxPrefix = 48;
// Lloyd steps grouping the centroids.
constexpr int kGroupSteps = 6;

// The centroids, grouped for the guess and with their sorted lists.
struct CentroidLists {
    Index nlist = 0, d = 0, L = 0;
    const float* C = nullptr;            // (nlist, d) float32 centroids
    std::vector<float> group_panels;     // the groups' centres, transposed panels
    std::vector<std::int32_t> group_of;  // group of each lane of group_panels
    Index n_group_panels = 0;
    std::vector<Index> member_start;     // (groups + 1,) in panels of member_panels
    std::vector<float> member_panels;    // each group's centroids, transposed panels
    std::vector<std::int32_t> member_id; // centroid of each lane of member_panels
    std::vector<std::int32_t> near_id;   // (nlist, L) nearest centroids, by (distance, id)
    std::vector<double> near_lo;         // (nlist, L) lower bounds of those distances
};

void build_centroid_lists(const float* centroids, Index nlist, Index d, CentroidLists& A,
                          int n_threads) {
    A.nlist = nlist;
    A.d = d;
    A.C = centroids;
    A.L = std::min(nlist, kAssignList);
    std::vector<double> Cd(checked_size(nlist, d));
    for (Index i = 0; i < nlist * d; ++i) Cd[i] = static_cast<double>(centroids[i]);
    const SqMany sq_many = pick_sq_many();
    // Sorted lists: the L smallest (distance, id) of every centroid.
    const Index L = A.L;
    A.near_id.resize(checked_size(nlist, L));
    A.near_lo.resize(checked_size(nlist, L));
    parallel_for(nlist, n_threads, grain_for(nlist * d), [&](Index lo, Index hi) {
        std::vector<double> dist(static_cast<std::size_t>(nlist));
        std::vector<std::pair<double, Index>> pairs(static_cast<std::size_t>(nlist));
        for (Index a = lo; a < hi; ++a) {
            sq_many(Cd.data() + a * d, Cd.data(), nlist, d, dist.data());
            for (Index c = 0; c < nlist; ++c) pairs[c] = {dist[c], c};
            std::partial_sort(pairs.begin(), pairs.begin() + L, pairs.end());
            for (Index t = 0; t < L; ++t) {
                A.near_id[a * L + t] = static_cast<std::int32_t>(pairs[t].second);
                A.near_lo[a * L + t] = std::sqrt(std::max(lower_sq(pairs[t].first), 0.0));
            }
        }
    });
    // Groups: about sqrt(nlist) of them, a few Lloyd steps from evenly
    // spaced centroids (they only steer the guess).
    const Index G0 = std::max<Index>(2, static_cast<Index>(std::lround(std::sqrt(static_cast<double>(nlist)))));
    std::vector<double> centres(checked_size(G0, d));
    for (Index g = 0; g < G0; ++g) {
        const Index at = (g * (nlist - 1)) / (G0 - 1);
        std::copy(Cd.begin() + at * d, Cd.begin() + (at + 1) * d, centres.begin() + g * d);
    }
    std::vector<std::int32_t> label(static_cast<std::size_t>(nlist), 0);
    std::vector<double> tmp;
    std::vector<Index> sizes;
    Index G = G0;
    for (int step = 0; step < kGroupSteps; ++step) {
        nearest_centre(Cd, nlist, d, centres, G, label, tmp, sq_many);
        G = group_means(Cd, nlist, d, G, label, centres, sizes);
    }
    std::vector<float> Gf(checked_size(G, d));
    for (Index i = 0; i < G * d; ++i) Gf[i] = static_cast<float>(centres[i]);
    std::vector<Index> ids(static_cast<std::size_t>(G));
    std::iota(ids.begin(), ids.end(), Index{0});
    append_panels(Gf.data(), ids, d, A.group_panels, A.group_of);
    A.n_group_panels = (G + kLanes - 1) / kLanes;
    std::vector<std::vector<Index>> members(static_cast<std::size_t>(G));
    for (Index c = 0; c < nlist; ++c) members[label[c]].push_back(c);
    A.member_start.assign(static_cast<std::size_t>(G + 1), 0);
    for (Index g = 0; g < G; ++g) {
        append_panels(centroids, members[g], d, A.member_panels, A.member_id);
        A.member_start[g + 1] = static_cast<Index>(A.member_id.size()) / kLanes;
    }
}

// The nearest centroid of the float32 row x by the proof above, or -1 when
// the row goes to the fused search (a long prefix, a truncated list, or a
// distance that is not finite, which the fused search reports).
Index proven_nearest(const CentroidLists& A, const float* x, NearestLane nearest_lane,
                     knn_detail::SqDist<float> sqdist, SqDist4<float> sqdist4) {
    const Index d = A.d, L = A.L;
    const Index g = A.group_of[nearest_lane(x, A.group_panels.data(), A.n_group_panels, d)];
    const Index p0 = A.member_start[g];
    const Index lane =
        nearest_lane(x, A.member_panels.data() + p0 * d * kLanes, A.member_start[g + 1] - p0, d);
    const Index c0 = A.member_id[p0 * kLanes + lane];
    const double u0 = sqdist(x, A.C + c0 * d, d);
    if (!std::isfinite(u0)) return -1;
    // Centroids whose lowered distance to c0 exceeds this are excluded.
    const double reach = 2.0 * std::sqrt(u0) * (1.0 + kMargin);
    const std::int32_t* ids = A.near_id.data() + c0 * L;
    const double* lo = A.near_lo.data() + c0 * L;
    Index s = 0;
    while (s < L && lo[s] <= reach) ++s;
    // Beyond a truncated list nothing is excluded; a long prefix costs more
    // than the fused search.
    if ((s == L && L < A.nlist) || s > kAssignMaxPrefix) return -1;
    // c0 itself (distance 0) is in the prefix; alone, it is the nearest.
    if (s == 1) return ids[0];
    double best = std::numeric_limits<double>::infinity();
    Index at = -1;
    const auto offer = [&](double v, Index c) {
        if (v < best || (v == best && c < at)) {
            best = v;
            at = c;
        }
    };
    double d4[4];
    Index t = 0;
    for (; t + 4 <= s; t += 4) {
        sqdist4(x, A.C + Index{ids[t]} * d, A.C + Index{ids[t + 1]} * d, A.C + Index{ids[t + 2]} * d,
                A.C + Index{ids[t + 3]} * d, d, d4);
        for (Index r = 0; r < 4; ++r) offer(d4[r], ids[t + r]);
    }
    for (; t < s; ++t) offer(sqdist(x, A.C + Index{ids[t]} * d, d), ids[t]);
    return at;
}

// Groups of cells searched together by the first pass (querying X itself).
// A row q of cell a leaves the first pass with its k-th distance u_q, and
// its second pass searches cell b when ||q - c_b|| - r_b <= u_q; as
// ||q - c_b|| <= r_a + ||c_a - c_b||, when ||c_a - c_b|| + |r_a - r_b| <= u
// every query of a with u_q >= u reaches b, and every query of b with
// u_q >= u reaches a. The first pass of the two cells together computes
// each pair of their rows once (the symmetric kernel) where the second
// pass would compute it up to twice, once from each side, and in narrower
// searches. u is the lower quartile of u_q estimated on a fixed sample:
// the k-th distance of kProbeRows rows of each of kProbeCells cells within
// their own cell. Groups grow greedily (cells in index order, partners by
// centroid distance) up to kGroupRows times the average cell, from cells
// of at least k + 1 rows. Any grouping gives the exact answer (see
// first_pass_group); only the work differs.
constexpr Index kProbeCells = 16;
constexpr Index kProbeRows = 32;
constexpr Index kGroupRows = 4;

template <class T>
std::vector<std::vector<Index>> group_cells(const T* X, const Partition& P, Index k, double scale,
                                            int n_threads) {
    const Index nlist = P.nlist, d = P.d;
    std::vector<std::vector<Index>> groups;
    std::vector<Index> big;  // cells that can be grouped
    Index nonempty = 0;
    for (Index c = 0; c < nlist; ++c) {
        nonempty += P.count(c) > 0;
        if (P.count(c) >= k + 1) big.push_back(c);
    }
    const auto singletons = [&]() {
        for (Index c = 0; c < nlist; ++c)
            if (P.count(c) > 0) groups.push_back({c});
        return groups;
    };
    if (big.size() < 2) return singletons();
    const Index cap = kGroupRows * ((P.n + nonempty - 1) / std::max<Index>(1, nonempty));
    // The sample of u_q, from cells that can take part in a group (which
    // also bounds the sample's cost: kProbeCells * kProbeRows * cap * d).
    std::vector<Index> probe;
    for (Index c : big)
        if (P.count(c) <= cap) probe.push_back(c);
    if (probe.empty()) return singletons();
    shuffle(probe, 1);
    probe.resize(static_cast<std::size_t>(std::min<Index>(kProbeCells, static_cast<Index>(probe.size()))));
    const knn_detail::SqDist<T> sqdist = knn_detail::pick_sqdist<T>();
    std::vector<double> us;
    knn_detail::TopK top(k);
    for (Index c : probe) {
        const Index lo = P.offsets[c], m = P.count(c);
        const Index step = std::max<Index>(1, m / kProbeRows);
        for (Index i = 0; i < m; i += step) {
            const Index q = P.order[lo + i];
            top.clear();
            for (Index j = lo; j < lo + m; ++j)
                if (P.order[j] != q)
                    top.push(knn_detail::sanitize(sqdist(X + q * d, X + P.order[j] * d, d)), P.order[j]);
            us.push_back(std::sqrt(top.worst()) * scale);
        }
    }
    std::sort(us.begin(), us.end());
    const double u = us[us.size() / 4];
    if (!(u > 0.0) || !std::isfinite(u)) return singletons();
    // Partners of each cell that can be grouped, nearest first.
    std::vector<std::vector<std::pair<double, Index>>> partners(static_cast<std::size_t>(nlist));
    const SqMany sq_many = pick_sq_many();
    parallel_for(static_cast<Index>(big.size()), n_threads, grain_for(nlist * d), [&](Index b0, Index b1) {
        std::vector<double> dist(static_cast<std::size_t>(nlist));
        for (Index t = b0; t < b1; ++t) {
            const Index a = big[t];
            sq_many(P.C.data() + a * d, P.C.data(), nlist, d, dist.data());
            auto& mine = partners[a];
            for (Index b : big) {
                if (b == a) continue;
                const double gap = std::sqrt(dist[b]) + std::fabs(P.radius[a] - P.radius[b]);
                if (gap <= u) mine.emplace_back(dist[b], b);
            }
            std::sort(mine.begin(), mine.end());
        }
    });
    std::vector<char> taken(static_cast<std::size_t>(nlist), 0);
    for (Index a = 0; a < nlist; ++a) {
        if (taken[a] || P.count(a) == 0) continue;
        taken[a] = 1;
        std::vector<Index> g{a};
        Index rows = P.count(a);
        for (const auto& [dist, b] : partners[a]) {
            if (taken[b] || rows + P.count(b) > cap) continue;
            taken[b] = 1;
            g.push_back(b);
            rows += P.count(b);
        }
        groups.push_back(std::move(g));
    }
    return groups;
}

// The nearest centroid of the rows `rows` of X (all rows when rows is
// null; m of them), by the fused exact search of every centroid, in chunks
// of float32 copies.
template <class T>
void assign_by_search(const T* X, const Index* rows, Index m, Index d, double scale,
                      const float* centroids, Index nlist, Index* out_cell, int n_threads) {
    std::vector<float> buf;
    std::vector<double> dist;
    std::vector<Index> cells;
    const bool direct = std::is_same<T, float>::value && scale == 1.0 && rows == nullptr;
    for (Index lo = 0; lo < m; lo += kAssignChunk) {
        const Index cm = std::min(kAssignChunk, m - lo);
        const float* chunk;
        if (direct) {
            chunk = reinterpret_cast<const float*>(X + lo * d);
        } else {
            buf.resize(checked_size(cm, d));
            for (Index i = 0; i < cm; ++i) {
                const T* src = X + (rows ? rows[lo + i] : lo + i) * d;
                for (Index j = 0; j < d; ++j)
                    buf[i * d + j] = static_cast<float>(static_cast<double>(src[j]) * scale);
            }
            chunk = buf.data();
        }
        dist.resize(static_cast<std::size_t>(cm));
        cells.resize(static_cast<std::size_t>(cm));
        fused_knn<float>(centroids, nlist, d, chunk, cm, 1, kFusedExtra, cells.data(), dist.data(),
                         n_threads);
        for (Index i = 0; i < cm; ++i) out_cell[rows ? rows[lo + i] : lo + i] = cells[i];
    }
}

}  // namespace

template <class T>
void nearest_centroids(const T* X, Index n, Index d, double scale, const float* centroids,
                       Index nlist, Index* out_cell, int n_threads) {
    if (n < 0 || d < 1 || nlist < 1)
        throw std::invalid_argument("nearest_centroids: need n >= 0, d >= 1, nlist >= 1");
    if (!(scale > 0.0) || !std::isfinite(scale))
        throw std::invalid_argument("nearest_centroids: scale must be positive and finite");
    if (n == 0) return;
    if (nlist == 1) {
        std::fill(out_cell, out_cell + n, Index{0});
        return;
    }
    const bool finite_centroids = std::all_of(centroids, centroids + nlist * d,
                                              [](float v) { return std::isfinite(v); });
    if (nlist < kAssignMinCells || n < kAssignRowsPerCell * nlist || !finite_centroids) {
        assign_by_search(X, nullptr, n, d, scale, centroids, nlist, out_cell, n_threads);
        return;
    }
    CentroidLists A;
    build_centroid_lists(centroids, nlist, d, A, n_threads);
    const NearestLane nearest_lane = pick_nearest_lane();
    const knn_detail::SqDist<float> sqdist = knn_detail::pick_sqdist<float>();
    const SqDist4<float> sqdist4 = pick_sqdist4<float>();
    const bool direct = std::is_same<T, float>::value && scale == 1.0;
    // Work per row: the guess (about 2 sqrt(nlist) estimates) and a few
    // exact distances.
    const Index per_row = (2 * static_cast<Index>(std::sqrt(static_cast<double>(nlist))) + 8) * d;
    parallel_for(n, n_threads, grain_for(per_row), [&](Index lo, Index hi) {
        std::vector<float> row(static_cast<std::size_t>(d));
        for (Index i = lo; i < hi; ++i) {
            const float* x;
            if (direct) {
                x = reinterpret_cast<const float*>(X + i * d);
            } else {
                for (Index j = 0; j < d; ++j)
                    row[j] = static_cast<float>(static_cast<double>(X[i * d + j]) * scale);
                x = row.data();
            }
            out_cell[i] = proven_nearest(A, x, nearest_lane, sqdist, sqdist4);
        }
    });
    // The rows left: the fused search of every centroid.
    std::vector<Index> rest;
    for (Index i = 0; i < n; ++i)
        if (out_cell[i] < 0) rest.push_back(i);
    if (!rest.empty())
        assign_by_search(X, rest.data(), static_cast<Index>(rest.size()), d, scale, centroids,
                         nlist, out_cell, n_threads);
}

void cell_order(const Index* cell, Index n, Index nlist, Index* order, Index* offsets) {
    if (n < 0 || nlist < 1) throw std::invalid_argument("cell_order: need n >= 0, nlist >= 1");
    std::fill(offsets, offsets + nlist + 1, Index{0});
    for (Index i = 0; i < n; ++i) {
        if (cell[i] < 0 || cell[i] >= nlist)
            throw std::out_of_range("cell_order: cell " + std::to_string(cell[i]) +
                                    " out of range [0, " + std::to_string(nlist) + ")");
        ++offsets[cell[i] + 1];
    }
    for (Index c = 0; c < nlist; ++c) offsets[c + 1] += offsets[c];
    std::vector<Index> fill(offsets, offsets + nlist);
    for (Index i = 0; i < n; ++i) order[fill[cell[i]]++] = i;
}

template <class T>
PrunedStats pruned_knn(const T* X, Index n, Index d, const T* Q, Index nq, const float* centroids,
                       Index nlist, double scale, Index k, double max_work, Index* out_idx,
                       double* out_dist, int n_threads) {
    knn_detail::check_sizes(n, d, Q, nq, k);
    if (nlist < 1 || nlist > std::max<Index>(n, 1))
        throw std::invalid_argument("pruned_knn: nlist must be in [1, n], got " +
                                    std::to_string(nlist));
    if (!(scale > 0.0) || !std::isfinite(scale))
        throw std::invalid_argument("pruned_knn: scale must be positive and finite");
    if (std::isnan(max_work)) throw std::invalid_argument("pruned_knn: max_work is NaN");
    for (Index i = 0; i < nlist * d; ++i)
        if (!std::isfinite(centroids[i]))
            throw std::invalid_argument("pruned_knn: centroids must be finite");
    PrunedStats stats;
    stats.nlist = nlist;
    if (nq == 0) return stats;
    if (!X || !out_idx || !out_dist) throw std::invalid_argument("pruned_knn: null buffer");
    const bool self = Q == nullptr;
    auto t0 = Clock::now();

    Partition P;
    build_partition(X, n, d, centroids, nlist, scale, P, n_threads);
    // The queries grouped by cell (for X itself, its rows).
    std::vector<Index> q_cell_own, q_order_own, q_offsets_own;
    std::vector<double> q_dist_own;
    const Index* q_order = P.order.data();
    const Index* q_offsets = P.offsets.data();
    const double* q_dist = P.row_dist.data();
    if (!self) {
        q_cell_own.resize(static_cast<std::size_t>(nq));
        nearest_centroids(Q, nq, d, scale, centroids, nlist, q_cell_own.data(), n_threads);
        q_dist_own.resize(static_cast<std::size_t>(nq));
        centroid_distances(Q, nq, d, scale, P.C, q_cell_own.data(), q_dist_own.data(), n_threads);
        q_order_own.resize(static_cast<std::size_t>(nq));
        q_offsets_own.resize(static_cast<std::size_t>(nlist + 1));
        cell_order(q_cell_own.data(), nq, nlist, q_order_own.data(), q_offsets_own.data());
        q_order = q_order_own.data();
        q_offsets = q_offsets_own.data();
        q_dist = q_dist_own.data();
    }
    stats.assign_seconds = seconds_since(t0);
    t0 = Clock::now();
    split_all(X, scale, P, n_threads);
    stats.n_fine = P.fine_offsets[nlist];
    stats.split_seconds = seconds_since(t0);
    t0 = Clock::now();

    // The first pass's blocks: groups of cells searched together (querying
    // X itself), or each cell holding queries.
    std::vector<std::vector<Index>> groups;
    if (self) {
        groups = group_cells(X, P, k, scale, n_threads);
    } else {
        for (Index a = 0; a < nlist; ++a)
            if (q_offsets[a + 1] > q_offsets[a]) groups.push_back({a});
    }
    stats.n_first_pass_blocks = static_cast<Index>(groups.size());
    std::vector<Index> blocks(groups.size());
    std::iota(blocks.begin(), blocks.end(), Index{0});
    const double total = static_cast<double>(n) * static_cast<double>(nq);
    const bool budgeted = max_work >= 0.0;
    // Brute force: each pair once for all pairs.
    const double budget = budgeted ? max_work * (self ? total / 2 : total) : 0.0;
    if (budgeted) {
        shuffle(blocks, 0);
    } else {
        // The largest blocks first, so that the last ones to finish are
        // small (threads pull one block at a time; see for_each_pulled).
        std::vector<Index> rows_of(groups.size(), 0);
        for (std::size_t g = 0; g < groups.size(); ++g)
            for (Index a : groups[g]) rows_of[g] += P.count(a);
        std::stable_sort(blocks.begin(), blocks.end(),
                         [&](Index x, Index y) { return rows_of[x] > rows_of[y]; });
    }
    // Rounds of blocks: with a budget 8, 8, 16, 32, ... (a check after
    // each), otherwise all at once.
    std::vector<Index> bounds{0};
    const Index nb = static_cast<Index>(blocks.size());
    if (budgeted) {
        Index at = std::min(nb, kSampleBlocks);
        bounds.push_back(at);
        while (at < nb) {
            at = std::min(nb, at + std::max(kSampleBlocks, at));
            bounds.push_back(at);
        }
    } else {
        bounds.push_back(nb);
    }

    Search<T> search(X, Q, k, scale, P, q_order, q_offsets, q_dist, out_idx, out_dist);
    std::vector<std::vector<Plan>> plans(static_cast<std::size_t>(nlist));
    std::atomic<Index> spent{0};
    std::atomic<bool> over{false};
    // Threads: a block's first pass computes about (rows per cell) x
    // (queries per cell) x d operations.
    const double per_block = (static_cast<double>(n) / static_cast<double>(nlist) + 1.0) *
                             (static_cast<double>(nq) / static_cast<double>(nlist) + 1.0) *
                             static_cast<double>(d);
    const Index grain = grain_for(static_cast<Index>(std::min(per_block, 1e15)));
    Index seen_queries = 0;
    for (std::size_t r = 0; r + 1 < bounds.size() && !over.load(); ++r) {
        const Index lo = bounds[r], hi = bounds[r + 1];
        for_each_pulled<T>(hi - lo, n_threads, grain, [&](Index b, Scratch<T>& s) {
            if (over.load(std::memory_order_relaxed)) return;
            const std::vector<Index>& g = groups[blocks[lo + b]];
            const Index w =
                search.first_pass_group(g.data(), static_cast<Index>(g.size()), plans, s);
            const Index now = spent.fetch_add(w) + w;
            // The total can only grow: past the budget, give up.
            if (budgeted && static_cast<double>(now) > budget) over.store(true);
        });
        if (!budgeted || over.load()) continue;
        for (Index b = lo; b < hi; ++b)
            for (Index a : groups[blocks[b]]) seen_queries += q_offsets[a + 1] - q_offsets[a];
        // Once a random sample of blocks is in, their work per query
        // predicts the rest (giving up is safe: the caller answers by
        // brute force).
        if (hi < nb && static_cast<double>(spent.load()) / static_cast<double>(seen_queries) *
                               static_cast<double>(nq) >
                           budget)
            over.store(true);
    }
    stats.first_pass_seconds = seconds_since(t0);
    if (over.load()) {
        stats.gave_up = true;
        return stats;
    }
    stats.work = spent.load();
    stats.work_fraction = total > 0 ? static_cast<double>(stats.work) / total : 0.0;

    t0 = Clock::now();
    std::vector<const Plan*> todo;
    std::vector<double> todo_work;
    double second_work = 0.0;
    for (Index a = 0; a < nlist; ++a) {
        for (const Plan& plan : plans[a]) {
            todo.push_back(&plan);
            stats.n_second_pass += static_cast<Index>(plan.queries.size());
            Index rows = 0;
            for (Index f : plan.fine) rows += P.F_start[f + 1] - P.F_start[f];
            todo_work.push_back(static_cast<double>(rows) * static_cast<double>(plan.queries.size()));
            second_work += todo_work.back();
        }
    }
    if (!todo.empty()) {
        // The largest searches first (see the first pass).
        std::vector<Index> by_work(todo.size());
        std::iota(by_work.begin(), by_work.end(), Index{0});
        std::stable_sort(by_work.begin(), by_work.end(),
                         [&](Index x, Index y) { return todo_work[x] > todo_work[y]; });
        const double avg = second_work * static_cast<double>(d) / static_cast<double>(todo.size());
        for_each_pulled<T>(static_cast<Index>(todo.size()), n_threads,
                        grain_for(static_cast<Index>(std::min(avg, 1e15))),
                        [&](Index b, Scratch<T>& s) { search.second_pass(*todo[by_work[b]], s); });
    }
    stats.second_pass_seconds = seconds_since(t0);
    return stats;
}

template void nearest_centroids<float>(const float*, Index, Index, double, const float*, Index,
                                       Index*, int);
template void nearest_centroids<double>(const double*, Index, Index, double, const float*, Index,
                                        Index*, int);
template PrunedStats pruned_knn<float>(const float*, Index, Index, const float*, Index,
                                       const float*, Index, double, Index, double, Index*,
                                       double*, int);
template PrunedStats pruned_knn<double>(const double*, Index, Index, const double*, Index,
                                        const float*, Index, double, Index, double, Index*,
                                        double*, int);

}  // namespace imbfast
