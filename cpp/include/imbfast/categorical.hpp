// Kernels for the categorical SMOTE variants (SMOTENC, SMOTEN).
//
// Nothing here builds a one-hot matrix, a (new rows, k, categories) array or
// an (n, n) distance matrix: every kernel streams over its rows and keeps
// O(rows * k) state. All functions validate their arguments and throw
// std::invalid_argument or std::out_of_range; they never abort. Results never
// depend on n_threads.
#pragma once

#include <cstdint>

namespace imbfast {

// ---------------------------------------------------------------- SMOTENC

// Exact k nearest neighbours of every row among the other rows of a class,
// under SMOTENC's distance on the one-hot-scaled matrix:
//     d(a, b) = sum_f (cont[a, f] - cont[b, f])^2 + cat_weight * #{g : codes[a, g] != codes[b, g]}
// (cat_weight = 2 v^2 when each category's one-hot cell holds v). `cont` is
// (n, n_cont) row-major, `codes` (n, n_cat) row-major. A row is never its own
// neighbour (excluded by index); equal distances go to the lower index.
// out_idx and out_dist are (n, k); out_dist holds the distances in double.
template <class T>
void mixed_knn(const T* cont, std::int64_t n, std::int64_t n_cont, const std::int32_t* codes,
               std::int64_t n_cat, double cat_weight, std::int64_t k, std::int64_t* out_idx,
               double* out_dist, int n_threads);

// The same neighbours as mixed_knn, found from candidates: for every row,
// its kc nearest rows under the continuous part alone (cand (n, kc), self
// excluded; cand_sq (n) the squared continuous distance of the kc-th) plus
// every row sharing at least one category with it (inverted lists built
// here). A row outside both sets differs in every category and is at least
// cand_sq[q] away in the continuous part, so the k best candidates
// are the answer when the k-th is closer than
// cand_sq[q] + cat_weight * n_cat (with a relative margin of 1e-9 for
// the rounding of the two computations); otherwise, or when the shared
// categories list more than max_shared rows, the row is answered by the full
// scan. Distances are computed with mixed_knn's arithmetic, so the output
// equals mixed_knn's. Returns the number of rows answered by the full scan.
template <class T>
std::int64_t mixed_knn_pruned(const T* cont, std::int64_t n, std::int64_t n_cont,
                              const std::int32_t* codes, std::int64_t n_cat, double cat_weight,
                              std::int64_t k, const std::int64_t* cand, const double* cand_sq,
                              std::int64_t kc, std::int64_t max_shared, std::int64_t* out_idx,
                              double* out_dist, int n_threads);

// The category vote of imbalanced-learn's SMOTENC for one categorical
// feature, in two passes so that the caller can draw the tie-breaking
// permutation with NumPy in between.
//
// The class's one-hot matrix is given as CSR (indptr (n_rows + 1), indices
// and data of nnz entries); the feature's columns are [block_start, block_end). New row i is
// built from class row base_rows[i]; its k neighbours are nns[base_rows[i], :].
// Per column of the block, the neighbours' values are summed in neighbour
// order in T (as NumPy sums a (k, L) slice along k); a column is a candidate
// when its sum is close to the largest, with numpy.isclose's rule computed in
// T: |s - max| <= 1e-8 + 1e-5 * |max|. Candidates are numbered row by row,
// in column order (numpy.argwhere's order).
//
// vote_candidates fills offsets (n_new + 1): offsets[i] is the number of the
// first candidate of row i, offsets[n_new] the total.
template <class T>
void vote_candidates(const std::int64_t* indptr, const std::int64_t* indices, const T* data,
                     std::int64_t n_rows, std::int64_t nnz, std::int64_t block_start, std::int64_t block_end,
                     const std::int64_t* nns, std::int64_t k, const std::int64_t* base_rows,
                     std::int64_t n_new, std::int64_t* offsets, int n_threads);

// vote_resolve picks, for every new row, the candidate placed first by
// `perm` (a permutation of [0, offsets[n_new]), the order in which NumPy's
// rng.permutation shuffled all candidates) and writes its position within
// the block (the category code) to codes_out (n_new).
template <class T>
void vote_resolve(const std::int64_t* indptr, const std::int64_t* indices, const T* data,
                  std::int64_t n_rows, std::int64_t nnz, std::int64_t block_start, std::int64_t block_end,
                  const std::int64_t* nns, std::int64_t k, const std::int64_t* base_rows,
                  std::int64_t n_new, const std::int64_t* offsets, const std::int64_t* perm,
                  std::int64_t n_perm, std::int64_t* codes_out, int n_threads);

// ---------------------------------------------------------------- SMOTEN

// Value Difference Metric tables. codes is (n, d) row-major, codes[i, f] in
// [0, n_categories[f]); class_codes (n) in [0, n_classes). tables receives,
// feature after feature, an (n_categories[f], n_classes) row-major block:
// P(class | category) = count / row total, 0 for a category never seen.
void vdm_tables(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                const std::int64_t* class_codes, std::int64_t n_classes,
                const std::int64_t* n_categories, double* tables, int n_threads);

// Number of doubles vdm_tables writes (sum of n_categories[f] * n_classes).
std::int64_t vdm_tables_size(std::int64_t d, std::int64_t n_classes,
                             const std::int64_t* n_categories);

// VDM distance (k=1, r=2, as imbalanced-learn's ValueDifferenceMetric):
//     D(a, b) = sum_f (sum_c |P_f[a_f, c] - P_f[b_f, c]|)^2
// with the inner sum formed as NumPy sums a contiguous row (pairwise
// summation) and the outer sum accumulated feature after feature from 0.
//
// vdm_knn: the k nearest rows (the row itself included, as imbalanced-learn's
// precomputed search does) of every row of `codes` (n, d) among the same
// rows, brute force streamed over the rows (no n x n matrix); equal distances
// go to the lower index. out_idx is (n, k).
void vdm_knn(const std::int32_t* codes, std::int64_t n, std::int64_t d, const double* tables,
             std::int64_t n_classes, const std::int64_t* n_categories, std::int64_t k,
             std::int64_t* out_idx, int n_threads);

// vdm_pairwise: the full (n_a, n_b) matrix between the rows of codes_a and
// codes_b, for callers that hand it to a neighbours object (as
// imbalanced-learn does); out is (n_a, n_b) row-major.
void vdm_pairwise(const std::int32_t* codes_a, std::int64_t n_a, const std::int32_t* codes_b,
                  std::int64_t n_b, std::int64_t d, const double* tables,
                  std::int64_t n_classes, const std::int64_t* n_categories, double* out,
                  int n_threads);

// Feature-wise mode of the neighbourhood of each drawn row (SMOTEN's new
// samples): out[i, f] is the most frequent value of codes[nn[rows[i], j], f]
// over j < k, ties to the smallest code (scipy.stats.mode's rule).
void neighbourhood_mode(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                        const std::int64_t* nn, std::int64_t k, const std::int64_t* rows,
                        std::int64_t n_out, std::int32_t* out, int n_threads);

}  // namespace imbfast
