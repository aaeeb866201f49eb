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

}  // namespace imbfast
