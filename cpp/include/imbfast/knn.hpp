// Exact k-nearest-neighbour refinement.
//
// A fast float32 search (FAISS) proposes `c` candidates per query together
// with their approximate squared distances. refine_knn re-ranks them with
// exact squared Euclidean distances accumulated in double, breaks ties by the
// lower row index, and proves the result exact: every row outside the
// candidate list has approximate distance >= the largest candidate's, so its
// true distance is at least that minus the error bound of the approximate
// search. When the proof fails for a query, that query is answered by an
// exact scan over all rows. The answer therefore always equals an exact
// brute-force search with the (distance, index) order.
#pragma once

#include <cstdint>
#include <memory>

namespace imbfast {

struct RefineStats {
    std::int64_t n_fallback = 0;  // queries that needed the exact scan
};

// X: row-major (n, d) database. Q: row-major (nq, d) queries, or null to
// query the rows of X themselves (then nq must equal n and row i never
// counts as a neighbour of itself). cand/cand_dist: (nq, c) candidates from
// the approximate search, sorted by cand_dist; entries < 0 are padding.
// bound: (nq,) error bound of cand_dist for each query. Results: (nq, k)
// indices and exact squared distances, nearest first.
template <class T>
RefineStats refine_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
                       const std::int64_t* cand, const float* cand_dist, std::int64_t c,
                       const double* bound, std::int64_t k, std::int64_t* out_idx,
                       double* out_dist, int n_threads);

// Exact brute-force k-NN (the reference the refinement falls back to), same
// conventions as refine_knn.
template <class T>
void brute_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
               std::int64_t k, std::int64_t* out_idx, double* out_dist, int n_threads);

struct FusedStats {
    std::int64_t n_tie_pass = 0;   // queries searched again by the tie pass
    std::int64_t n_candidates = 0; // candidates kept per query by the float32 pass
    bool symmetric = false;        // all-pairs pass that computed each pair once
    bool exact_arithmetic = false; // lattice data: every float32 value exact, no proof needed
    bool int8_filter = false;      // the queries were answered by the int8 filter pass
    std::int64_t n_int8_fallback = 0;  // of those, queries the float32 pass answered
    double int8_probe_hits = -1.0; // mean rows collected per probe query (-1: no probe)
    std::int64_t n_unanswered = 0; // queries left out by keep_smallest_sums
};

// The int8 filter pass of the query search (see fused_knn): never, decided
// by a probe (the default; only with AVX-512 VNNI, see vnni_active()),
// always (whatever the CPU: a portable kernel stands in for VNNI), or
// only: decided as automatic, but when the pass is not taken fused_knn
// returns without answering (FusedStats::int8_filter false), so that the
// caller can choose another engine without having paid for the float32
// pass's set-up.
enum class Int8Filter { never = 0, automatic = 1, always = 2, only = 3 };

struct FusedOptions {
    Int8Filter int8 = Int8Filter::automatic;
    // The probe's cost model (see int8_worthwhile in knn_int8.cpp): the cost
    // of one collected row, in units of one 16-row int8 dot product step.
    double int8_hit_cost = 24.0;
    // The int8 pass is taken when its modelled cost is below this share of
    // the float32 pass's.
    double int8_max_cost = 0.8;
    // "automatic" does not even probe when the largest |x - mean| is above
    // this many times the median column's RMS deviation (the grid would be
    // too coarse for most columns).
    double int8_max_range = 64.0;
    // The caller keeps only the `keep_smallest_sums` queries whose k
    // distances (not squared) sum smallest, as NearMiss-1 does: the int8
    // pass may leave unanswered (indices -1, distances +inf) a query whose
    // sum it proves larger than that many others' (see SumSelect in
    // knn_int8.cpp). 0: every query answered.
    std::int64_t keep_smallest_sums = 0;
};

// Exact k-NN with a fused float32 brute-force pass.
//
// The rows are centred on the mean of X, scaled by a power of two (exact)
// so the largest coordinate is in [1, 2), and copied to float32, the
// database packed in transposed panels of 16 rows. Register-blocked SIMD
// tiles of 6 queries x 16 rows compute a LOWER BOUND of each half squared
// distance (the float32 error of every pair is subtracted through the packed
// norms) and keep, per query, the `k + n_extra` smallest in a list sorted by
// (value, row), whose c-th value is the running threshold, so most tiles are
// rejected by one vector compare; no distance matrix is ever stored. When
// querying X itself each pair is computed once and offered to both rows'
// lists. The candidates are then re-ranked with exact double distances (ties
// by lower index); the list is proven complete when its k-th exact distance
// is below every excluded row's lower bound. A query whose proof fails (more
// rows tie at the k-th distance than the list holds, or distances below
// float32's resolution) goes to the tie pass: one more float32 pass with its
// threshold fixed at its k-th exact distance, every row under it ranked
// exactly, in O(k) memory however many rows tie. Lattice data (every value a
// small multiple of one power of two: integer, binary, one-hot, count data)
// is centred on a lattice point instead, and the pass is exact arithmetic:
// the lists of k entries are the answer, no proof, no tie pass
// (exact_arithmetic in the stats). Same conventions and result as brute_knn;
// no query is ever answered by a scalar scan.
// Memory: X's float32 copy (twice: rows and panels), O(nq * (k + n_extra))
// lists, per thread when querying X itself; the tie pass copies its queries.
//
// Queries (Q given) may instead take the int8 filter pass (options.int8):
// rows and queries are rounded to int8 on one global grid, the quantized
// squared distances are exact in int32 (VPDPBUSD), and every row whose
// quantized distance lies within a window that provably contains the k
// nearest (residual norms of the rounding, see knn_int8.cpp) is collected
// and ranked by its exact double distance; queries that collect too many
// rows take the float32 pass. Same result, bit for bit. Memory: X's int8
// copy (ceil(d / 4) + 1 words per row) and, per thread, up to 512 queries'
// collected rows (272 + 16 k places each); no float32 copy.
//
// within (optional, queries only): a squared distance per query. The search
// then returns, for each query, the k nearest rows among those at squared
// distance <= within[i] (exact, ties by index), padded with index -1 and
// distance +inf when fewer rows are that close. The float32 pass starts each
// query's threshold just above within[i] (tile values are lower bounds), so
// rows that cannot qualify never enter a list; a list that stays short is
// complete by construction.
template <class T>
FusedStats fused_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
                     std::int64_t k, std::int64_t n_extra, std::int64_t* out_idx,
                     double* out_dist, int n_threads, const double* within = nullptr,
                     const FusedOptions& options = FusedOptions{});

// Exact k-NN with a KD-tree (median splits on the widest coordinate, exact
// box pruning in double); same conventions and result as brute_knn. Fast
// for low-dimensional data. Memory: a double copy of X plus O(n) nodes.
template <class T>
void kdtree_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
                std::int64_t k, std::int64_t* out_idx, double* out_dist, int n_threads);

// The same KD-tree, built once (a double copy of X, in tree order) and
// queried any number of times, from any number of threads at once (query
// is const). kdtree_knn builds one and queries it. Q null: the fitted rows
// query themselves (nq == rows(), each excluded from its own list).
class KDTree {
   public:
    template <class T>
    KDTree(const T* X, std::int64_t n, std::int64_t d);
    ~KDTree();
    KDTree(KDTree&&) noexcept;
    KDTree& operator=(KDTree&&) noexcept;
    KDTree(const KDTree&) = delete;
    KDTree& operator=(const KDTree&) = delete;

    template <class T>
    void query(const T* Q, std::int64_t nq, std::int64_t k, std::int64_t* out_idx,
               double* out_dist, int n_threads) const;
    std::int64_t rows() const;
    std::int64_t dims() const;

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace imbfast
