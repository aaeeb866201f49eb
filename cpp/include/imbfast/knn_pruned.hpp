// Pruned exact k-NN: k-means cells, fine cells and triangle-inequality
// bounds (the search behind algorithm="pruned"; see cpp/src/knn_pruned.cpp
// for the method and the argument that its answer is exact).
//
// The caller supplies the cell centroids (FAISS k-means on a sample, in
// Python); everything else runs here: assigning rows and queries to cells,
// exact cell radii, fine cells, the per-block plans, both search passes and
// the merge, on the core's thread pool.
#pragma once

#include <cstdint>

namespace imbfast {

// Nearest centroid of every row of X scaled by `scale` (a power of two) and
// rounded to float32, ranked by the exact squared distance in double, ties
// by the lower centroid index: with enough rows per centroid, proven for
// most rows from each centroid's sorted list of nearest centroids and the
// triangle inequality; otherwise (and for rows whose proof would cost more)
// the fused kernel's exact search of every centroid, over chunks of rows so
// that no float32 copy of X is ever held whole. The same answer either way.
// The cell partition the pruned search and the "cells" approximate engine
// share. X: (n, d); centroids: (nlist, d) float32; out_cell: (n,).
template <class T>
void nearest_centroids(const T* X, std::int64_t n, std::int64_t d, double scale,
                       const float* centroids, std::int64_t nlist, std::int64_t* out_cell,
                       int n_threads);

// Rows grouped by cell: `order` lists the rows of cell 0, then of cell 1, ...
// each group in ascending row order (a stable counting sort); the rows of
// cell c are order[offsets[c]:offsets[c + 1]]. cell: (n,) values in
// [0, nlist); order: (n,); offsets: (nlist + 1,).
void cell_order(const std::int64_t* cell, std::int64_t n, std::int64_t nlist,
                std::int64_t* order, std::int64_t* offsets);

struct PrunedStats {
    bool gave_up = false;              // the work budget was exceeded (no result)
    std::int64_t nlist = 0;            // cells
    std::int64_t n_fine = 0;           // fine cells
    std::int64_t n_first_pass_blocks = 0;  // groups of cells searched together by the first pass
    std::int64_t work = 0;             // distances computed (pairs; all pairs once)
    double work_fraction = 0.0;        // work / (n * nq)
    std::int64_t n_second_pass = 0;    // queries that searched beyond their first cells
    double assign_seconds = 0.0;       // cells, radii and ordering of rows and queries
    double split_seconds = 0.0;        // fine cells
    double first_pass_seconds = 0.0;   // first pass and plans
    double second_pass_seconds = 0.0;  // second pass and merge
};

// Exact k-NN of Q (or of X itself, self excluded by index, when Q is null
// and nq == n) with cell pruning. X: (n, d) finite rows; Q: (nq, d);
// centroids: (nlist, d) float32 centroids of X scaled by `scale` (a power of
// two; bounds are computed on the scaled data); max_work: when >= 0, give up
// (stats.gave_up, outputs unspecified) as soon as the search is known or
// predicted to compute more than this fraction of the brute force's
// distances (n * nq, halved for all pairs); negative: no budget. Results:
// (nq, k) indices and exact squared distances, nearest first, ties by the
// lower index: exactly brute_knn's answer.
template <class T>
PrunedStats pruned_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
                       const float* centroids, std::int64_t nlist, double scale, std::int64_t k,
                       double max_work, std::int64_t* out_idx, double* out_dist,
                       int n_threads);

}  // namespace imbfast
