#include "imbfast/categorical.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
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

// Queries handled together, so that a tile of candidate rows is read from
// cache once per block rather than once per query.
constexpr std::int64_t kQueryBlock = 16;
// Candidate rows per tile of the brute-force searches.
constexpr std::int64_t kTile = 256;
// New rows per thread chunk in the vote and mode kernels.
constexpr std::int64_t kRowGrain = 2048;
// A feature's level-pair VDM table is precomputed up to this many levels.
constexpr std::int64_t kPairTableMaxLevels = 256;

void check_index(std::int64_t id, std::int64_t n, const char* what) {
    if (id < 0 || id >= n)
        throw std::out_of_range(std::string(what) + " holds index " + std::to_string(id) +
                                ", outside [0, " + std::to_string(n) + ")");
}

void check_indices(const std::int64_t* ids, std::int64_t count, std::int64_t n,
                   const char* what) {
    for (std::int64_t i = 0; i < count; ++i) check_index(ids[i], n, what);
}

// Bounded list of the best (distance, index) pairs of one query: a max-heap
// on (distance, index). Candidates arrive in increasing index order, so a
// newcomer only replaces the worst when strictly closer: ties keep the lower
// index.
class TopK {
   public:
    explicit TopK(std::int64_t k) : k_(static_cast<std::size_t>(k)) { heap_.reserve(k_); }

    double worst() const {
        return heap_.size() < k_ ? std::numeric_limits<double>::infinity() : heap_.front().first;
    }
    bool full() const { return heap_.size() >= k_; }

    void offer(double dist, std::int64_t idx) {
        if (heap_.size() < k_) {
            heap_.emplace_back(dist, idx);
            std::push_heap(heap_.begin(), heap_.end());
        } else if (dist < heap_.front().first) {
            std::pop_heap(heap_.begin(), heap_.end());
            heap_.back() = {dist, idx};
            std::push_heap(heap_.begin(), heap_.end());
        }
    }

    // For candidates in any order: keeps the k smallest (distance, index).
    void offer_any(double dist, std::int64_t idx) {
        const std::pair<double, std::int64_t> item{dist, idx};
        if (heap_.size() < k_) {
            heap_.push_back(item);
            std::push_heap(heap_.begin(), heap_.end());
        } else if (item < heap_.front()) {
            std::pop_heap(heap_.begin(), heap_.end());
            heap_.back() = item;
            std::push_heap(heap_.begin(), heap_.end());
        }
    }

    // Writes the list nearest first and empties it.
    void drain(std::int64_t* idx, double* dist) {
        std::sort(heap_.begin(), heap_.end());
        for (std::size_t j = 0; j < heap_.size(); ++j) {
            idx[j] = heap_[j].second;
            if (dist != nullptr) dist[j] = heap_[j].first;
        }
        heap_.clear();
    }

   private:
    std::size_t k_;
    std::vector<std::pair<double, std::int64_t>> heap_;
};

// ------------------------------------------------------------ the search

// SMOTE-NC distances from query q to the tile [j0, j0 + len) of the
// column-major class: squared continuous differences (feature order), then
// cat_weight per differing category. One body compiled per ISA; with
// -ffp-contract=off every ISA computes the same doubles.
IMBFAST_INLINE void mixed_tile_body(const double* cont_t, const std::int32_t* codes_t,
                                    std::int64_t n, std::int64_t n_cont, std::int64_t n_cat,
                                    std::int64_t q, std::int64_t j0, std::int64_t len,
                                    double cat_weight, double* __restrict dist) {
    for (std::int64_t t = 0; t < len; ++t) dist[t] = 0.0;
    for (std::int64_t f = 0; f < n_cont; ++f) {
        const double qv = cont_t[f * n + q];
        const double* __restrict col = cont_t + f * n + j0;
        for (std::int64_t t = 0; t < len; ++t) {
            const double diff = col[t] - qv;
            dist[t] += diff * diff;
        }
    }
    for (std::int64_t g = 0; g < n_cat; ++g) {
        const std::int32_t qc = codes_t[g * n + q];
        const std::int32_t* __restrict col = codes_t + g * n + j0;
        for (std::int64_t t = 0; t < len; ++t) dist[t] += col[t] != qc ? cat_weight : 0.0;
    }
}

using MixedTileFn = void (*)(const double*, const std::int32_t*, std::int64_t, std::int64_t,
                             std::int64_t, std::int64_t, std::int64_t, std::int64_t, double,
                             double*);

void mixed_tile_generic(const double* cont_t, const std::int32_t* codes_t, std::int64_t n,
                        std::int64_t n_cont, std::int64_t n_cat, std::int64_t q, std::int64_t j0,
                        std::int64_t len, double cat_weight, double* dist) {
    mixed_tile_body(cont_t, codes_t, n, n_cont, n_cat, q, j0, len, cat_weight, dist);
}

IMBFAST_TARGET_AVX2 void mixed_tile_avx2(const double* cont_t, const std::int32_t* codes_t,
                                         std::int64_t n, std::int64_t n_cont, std::int64_t n_cat,
                                         std::int64_t q, std::int64_t j0, std::int64_t len,
                                         double cat_weight, double* dist) {
    mixed_tile_body(cont_t, codes_t, n, n_cont, n_cat, q, j0, len, cat_weight, dist);
}

IMBFAST_TARGET_AVX512 void mixed_tile_avx512(const double* cont_t, const std::int32_t* codes_t,
                                             std::int64_t n, std::int64_t n_cont,
                                             std::int64_t n_cat, std::int64_t q, std::int64_t j0,
                                             std::int64_t len, double cat_weight, double* dist) {
    mixed_tile_body(cont_t, codes_t, n, n_cont, n_cat, q, j0, len, cat_weight, dist);
}

MixedTileFn pick_mixed_tile() {
    return pick_by_isa(&mixed_tile_generic, &mixed_tile_avx2, &mixed_tile_avx512);
}

// ------------------------------------------------------------ the vote

// Candidate columns of one new row for one feature block, in column order.
template <class T>
struct VoteScratch {
    std::vector<std::pair<std::int64_t, T>> sums;  // (column, sum) in first-seen order
    std::vector<std::int64_t> candidates;          // columns, ascending
};

template <class T>
void row_candidates(const std::int64_t* indptr, const std::int64_t* indices, const T* data,
                    std::int64_t block_start, std::int64_t block_end, const std::int64_t* nbrs,
                    std::int64_t k, VoteScratch<T>& s) {
    s.sums.clear();
    s.candidates.clear();
    // Sums per column, each accumulated in neighbour order (0 + v0 + v1 ...),
    // as NumPy reduces a (k, L) slice along its first axis.
    for (std::int64_t p = 0; p < k; ++p) {
        const std::int64_t nb = nbrs[p];
        for (std::int64_t e = indptr[nb]; e < indptr[nb + 1]; ++e) {
            const std::int64_t col = indices[e];
            if (col < block_start || col >= block_end) continue;
            auto it = std::find_if(s.sums.begin(), s.sums.end(),
                                   [col](const auto& cs) { return cs.first == col; });
            if (it == s.sums.end()) {
                s.sums.emplace_back(col, static_cast<T>(T(0) + data[e]));
            } else {
                it->second = static_cast<T>(it->second + data[e]);
            }
        }
    }
    const std::int64_t width = block_end - block_start;
    const bool has_zero_column = static_cast<std::int64_t>(s.sums.size()) < width;
    T top = has_zero_column ? T(0) : std::numeric_limits<T>::lowest();
    for (const auto& cs : s.sums) top = std::max(top, cs.second);
    // numpy.isclose(s, top) with its default tolerances, in T.
    const T tol = static_cast<T>(static_cast<T>(1e-8) + static_cast<T>(static_cast<T>(1e-5) * std::abs(top)));
    auto close = [&](T v) { return v == top || std::abs(static_cast<T>(v - top)) <= tol; };
    if (has_zero_column && close(T(0))) {
        // Columns no neighbour holds tie too: every column of the block is
        // looked at (only when the largest sum is itself within tolerance of 0).
        for (std::int64_t col = block_start; col < block_end; ++col) {
            T v = T(0);
            for (const auto& cs : s.sums)
                if (cs.first == col) v = cs.second;
            if (close(v)) s.candidates.push_back(col);
        }
        return;
    }
    for (const auto& cs : s.sums)
        if (close(cs.second)) s.candidates.push_back(cs.first);
    std::sort(s.candidates.begin(), s.candidates.end());
}

template <class T>
void check_vote_inputs(const std::int64_t* indptr, const std::int64_t* indices, std::int64_t n_rows,
                       std::int64_t nnz, std::int64_t block_start, std::int64_t block_end,
                       const std::int64_t* nns, std::int64_t k, const std::int64_t* base_rows,
                       std::int64_t n_new) {
    if (n_rows < 0 || nnz < 0 || k < 1 || n_new < 0)
        throw std::invalid_argument("categorical vote: negative sizes or k < 1");
    if (block_start < 0 || block_end <= block_start)
        throw std::invalid_argument("categorical vote: empty or negative column block");
    if (indptr[0] != 0 || indptr[n_rows] != nnz)
        throw std::invalid_argument("categorical vote: indptr must start at 0 and end at nnz");
    for (std::int64_t r = 0; r < n_rows; ++r)
        if (indptr[r + 1] < indptr[r])
            throw std::invalid_argument("categorical vote: indptr must be non-decreasing");
    for (std::int64_t e = 0; e < nnz; ++e)
        if (indices[e] < 0) throw std::out_of_range("categorical vote: negative column index");
    check_indices(nns, n_rows * k, n_rows, "nns");
    check_indices(base_rows, n_new, n_rows, "base_rows");
}

// ------------------------------------------------------------ VDM

// NumPy's pairwise summation of a contiguous run (what np.sum does along the
// last axis), for the absolute differences of two probability rows.
double pairwise_abs_diff(const double* a, const double* b, std::int64_t n) {
    if (n < 8) {
        double res = -0.0;
        for (std::int64_t i = 0; i < n; ++i) res += std::abs(b[i] - a[i]);
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; ++j) r[j] = std::abs(b[j] - a[j]);
        std::int64_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; ++j) r[j] += std::abs(b[i + j] - a[i + j]);
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += std::abs(b[i] - a[i]);
        return res;
    }
    std::int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_abs_diff(a, b, n2) + pairwise_abs_diff(a + n2, b + n2, n - n2);
}

// One feature's contribution (sum_c |P[a, c] - P[b, c]|)^2, reduced as
// np.sum(..., axis=-1) does (identity 0 plus the pairwise sum) and squared.
inline double feature_term(const double* table, std::int64_t n_classes, std::int32_t a,
                           std::int32_t b) {
    const double s = 0.0 + pairwise_abs_diff(table + static_cast<std::int64_t>(a) * n_classes,
                                             table + static_cast<std::int64_t>(b) * n_classes,
                                             n_classes);
    return s * s;
}

// The VDM of a set of rows: per-feature tables and, for features with few
// levels, every level pair's term precomputed (the same double values).
class Vdm {
   public:
    Vdm(const double* tables, std::int64_t d, std::int64_t n_classes,
        const std::int64_t* n_categories)
        : tables_(tables), d_(d), n_classes_(n_classes), n_categories_(n_categories) {
        if (d < 0 || n_classes < 1) throw std::invalid_argument("vdm: d < 0 or n_classes < 1");
        offsets_.assign(static_cast<std::size_t>(d + 1), 0);
        pair_offsets_.assign(static_cast<std::size_t>(d), -1);
        std::int64_t pair_total = 0;
        for (std::int64_t f = 0; f < d; ++f) {
            if (n_categories[f] < 1)
                throw std::invalid_argument("vdm: every feature needs at least one category");
            offsets_[f + 1] = offsets_[f] + n_categories[f] * n_classes;
            if (n_categories[f] <= kPairTableMaxLevels) {
                pair_offsets_[f] = pair_total;
                pair_total += n_categories[f] * n_categories[f];
            }
        }
        pairs_.resize(static_cast<std::size_t>(pair_total));
        for (std::int64_t f = 0; f < d; ++f) {
            if (pair_offsets_[f] < 0) continue;
            const std::int64_t L = n_categories[f];
            double* out = pairs_.data() + pair_offsets_[f];
            for (std::int64_t a = 0; a < L; ++a)
                for (std::int64_t b = 0; b < L; ++b)
                    out[a * L + b] = feature_term(tables_ + offsets_[f], n_classes_,
                                                  static_cast<std::int32_t>(a),
                                                  static_cast<std::int32_t>(b));
        }
    }

    void check_codes(const std::int32_t* codes, std::int64_t n) const {
        for (std::int64_t i = 0; i < n; ++i)
            for (std::int64_t f = 0; f < d_; ++f) {
                const std::int32_t c = codes[i * d_ + f];
                if (c < 0 || c >= n_categories_[f])
                    throw std::out_of_range("vdm: category code " + std::to_string(c) +
                                            " of feature " + std::to_string(f) +
                                            " outside [0, " + std::to_string(n_categories_[f]) +
                                            ")");
            }
    }

    double distance(const std::int32_t* a, const std::int32_t* b) const {
        double dist = 0.0;
        for (std::int64_t f = 0; f < d_; ++f) {
            const std::int64_t po = pair_offsets_[f];
            if (po >= 0) {
                dist += pairs_[static_cast<std::size_t>(po + a[f] * n_categories_[f] + b[f])];
            } else {
                dist += feature_term(tables_ + offsets_[f], n_classes_, a[f], b[f]);
            }
        }
        return dist;
    }

   private:
    const double* tables_;
    std::int64_t d_;
    std::int64_t n_classes_;
    const std::int64_t* n_categories_;
    std::vector<std::int64_t> offsets_;
    std::vector<std::int64_t> pair_offsets_;
    std::vector<double> pairs_;
};

}  // namespace

// ---------------------------------------------------------------- SMOTENC

namespace {

// The brute force over the column-major class for the given query rows (all
// rows when `queries` is null), writing row q's list at out_idx + q * k.
void tiled_search(const std::vector<double>& cont_t, const std::vector<std::int32_t>& codes_t,
                  std::int64_t n, std::int64_t n_cont, std::int64_t n_cat, double cat_weight,
                  std::int64_t k, const std::int64_t* queries, std::int64_t n_queries,
                  std::int64_t* out_idx, double* out_dist, int n_threads) {
    const MixedTileFn tile = pick_mixed_tile();
    const std::int64_t n_blocks = (n_queries + kQueryBlock - 1) / kQueryBlock;
    parallel_for(n_blocks, n_threads, 1, [&](std::int64_t b_begin, std::int64_t b_end) {
        std::vector<TopK> tops;
        for (std::int64_t q = 0; q < kQueryBlock; ++q) tops.emplace_back(k);
        std::vector<double> buf(static_cast<std::size_t>(kTile));
        for (std::int64_t blk = b_begin; blk < b_end; ++blk) {
            const std::int64_t p0 = blk * kQueryBlock;
            const std::int64_t p1 = std::min(n_queries, p0 + kQueryBlock);
            for (std::int64_t j0 = 0; j0 < n; j0 += kTile) {
                const std::int64_t len = std::min(kTile, n - j0);
                for (std::int64_t p = p0; p < p1; ++p) {
                    const std::int64_t q = queries == nullptr ? p : queries[p];
                    double* dist = buf.data();
                    tile(cont_t.data(), codes_t.data(), n, n_cont, n_cat, q, j0, len,
                         cat_weight, dist);
                    TopK& top = tops[static_cast<std::size_t>(p - p0)];
                    const double worst = top.worst();
                    // Once the list is full most tiles hold nothing closer
                    // than its worst: one branch-free pass tells.
                    int closer = 0;
                    for (std::int64_t t = 0; t < len; ++t) closer |= dist[t] < worst;
                    if (!closer) continue;
                    for (std::int64_t t = 0; t < len; ++t) {
                        const std::int64_t j = j0 + t;
                        if (j == q || !(dist[t] < worst)) continue;
                        top.offer(dist[t], j);
                    }
                }
            }
            for (std::int64_t p = p0; p < p1; ++p) {
                const std::int64_t q = queries == nullptr ? p : queries[p];
                tops[static_cast<std::size_t>(p - p0)].drain(out_idx + q * k, out_dist + q * k);
            }
        }
    });
}

}  // namespace

template <class T>
void mixed_knn(const T* cont, std::int64_t n, std::int64_t n_cont, const std::int32_t* codes,
               std::int64_t n_cat, double cat_weight, std::int64_t k, std::int64_t* out_idx,
               double* out_dist, int n_threads) {
    if (n < 0 || n_cont < 0 || n_cat < 0) throw std::invalid_argument("mixed_knn: negative sizes");
    if (k < 1) throw std::invalid_argument("mixed_knn: k must be >= 1");
    if (k > n - 1)
        throw std::invalid_argument("mixed_knn: k = " + std::to_string(k) +
                                    " neighbours requested among " + std::to_string(n - 1) +
                                    " other rows");
    if (!std::isfinite(cat_weight) || cat_weight < 0)
        throw std::invalid_argument("mixed_knn: cat_weight must be finite and >= 0");
    // Column-major copies of the class: a tile of candidates is then a few
    // contiguous runs the compiler vectorises over.
    std::vector<double> cont_t(static_cast<std::size_t>(n * n_cont));
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t f = 0; f < n_cont; ++f) {
            const double v = static_cast<double>(cont[i * n_cont + f]);
            if (!std::isfinite(v)) throw std::invalid_argument("mixed_knn: non-finite value");
            cont_t[static_cast<std::size_t>(f * n + i)] = v;
        }
    std::vector<std::int32_t> codes_t(static_cast<std::size_t>(n * n_cat));
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t g = 0; g < n_cat; ++g)
            codes_t[static_cast<std::size_t>(g * n + i)] = codes[i * n_cat + g];

    tiled_search(cont_t, codes_t, n, n_cont, n_cat, cat_weight, k, nullptr, n, out_idx, out_dist,
                 n_threads);
}

namespace {

// One SMOTE-NC distance with the tile kernel's arithmetic (continuous
// squared differences in feature order from 0, then the category weights).
inline double mixed_distance(const std::vector<double>& cont_t,
                             const std::vector<std::int32_t>& codes_t, std::int64_t n,
                             std::int64_t n_cont, std::int64_t n_cat, double cat_weight,
                             std::int64_t q, std::int64_t j) {
    double dist = 0.0;
    for (std::int64_t f = 0; f < n_cont; ++f) {
        const double diff = cont_t[static_cast<std::size_t>(f * n + j)] -
                            cont_t[static_cast<std::size_t>(f * n + q)];
        dist += diff * diff;
    }
    for (std::int64_t g = 0; g < n_cat; ++g)
        dist += codes_t[static_cast<std::size_t>(g * n + j)] !=
                        codes_t[static_cast<std::size_t>(g * n + q)]
                    ? cat_weight
                    : 0.0;
    return dist;
}

}  // namespace

template <class T>
std::int64_t mixed_knn_pruned(const T* cont, std::int64_t n, std::int64_t n_cont,
                              const std::int32_t* codes, std::int64_t n_cat, double cat_weight,
                              std::int64_t k, const std::int64_t* cand, const double* cand_sq,
                              std::int64_t kc, std::int64_t max_shared, std::int64_t* out_idx,
                              double* out_dist, int n_threads) {
    // cand_sq holds one number per row: the squared continuous distance of
    // its kc-th candidate.
    if (n < 0 || n_cont < 0 || n_cat < 0) throw std::invalid_argument("mixed_knn: negative sizes");
    if (k < 1 || k > n - 1)
        throw std::invalid_argument("mixed_knn: k = " + std::to_string(k) +
                                    " neighbours requested among " + std::to_string(n - 1) +
                                    " other rows");
    if (kc < k || kc > n - 1)
        throw std::invalid_argument("mixed_knn_pruned: kc must be in [k, n - 1]");
    if (!std::isfinite(cat_weight) || cat_weight < 0)
        throw std::invalid_argument("mixed_knn: cat_weight must be finite and >= 0");
    check_indices(cand, n * kc, n, "cand");
    std::vector<double> cont_t(static_cast<std::size_t>(n * n_cont));
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t f = 0; f < n_cont; ++f) {
            const double v = static_cast<double>(cont[i * n_cont + f]);
            if (!std::isfinite(v)) throw std::invalid_argument("mixed_knn: non-finite value");
            cont_t[static_cast<std::size_t>(f * n + i)] = v;
        }
    std::vector<std::int32_t> codes_t(static_cast<std::size_t>(n * n_cat));
    // Inverted lists: rows by (feature, category), as offsets into `rows`.
    std::vector<std::int64_t> level_start(static_cast<std::size_t>(n_cat + 1), 0);
    for (std::int64_t g = 0; g < n_cat; ++g) {
        std::int32_t top = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const std::int32_t c = codes[i * n_cat + g];
            if (c < 0) throw std::out_of_range("mixed_knn_pruned: negative category code");
            codes_t[static_cast<std::size_t>(g * n + i)] = c;
            top = std::max(top, c);
        }
        level_start[g + 1] = level_start[g] + (n > 0 ? top + 2 : 1);
    }
    std::vector<std::int64_t> bucket(static_cast<std::size_t>(level_start[n_cat]), 0);
    for (std::int64_t g = 0; g < n_cat; ++g) {
        std::int64_t* b = bucket.data() + level_start[g];
        for (std::int64_t i = 0; i < n; ++i) ++b[codes_t[static_cast<std::size_t>(g * n + i)] + 1];
        for (std::int64_t c = 1; c < level_start[g + 1] - level_start[g]; ++c) b[c] += b[c - 1];
    }
    std::vector<std::int64_t> rows(static_cast<std::size_t>(n * n_cat));
    {
        std::vector<std::int64_t> fill(bucket);
        for (std::int64_t g = 0; g < n_cat; ++g) {
            std::int64_t* b = fill.data() + level_start[g];
            for (std::int64_t i = 0; i < n; ++i) {
                const std::int32_t c = codes_t[static_cast<std::size_t>(g * n + i)];
                rows[static_cast<std::size_t>(g * n + b[c]++)] = i;
            }
        }
    }
    // Rows whose candidates do not prove their list: answered by the tiled
    // brute force afterwards (flagged here, collected in row order).
    std::vector<std::uint8_t> failed(static_cast<std::size_t>(n), 0);
    parallel_for(n, n_threads, 64, [&](std::int64_t begin, std::int64_t end) {
        TopK top(k);
        std::vector<std::int64_t> stamp(static_cast<std::size_t>(n), -1);
        for (std::int64_t q = begin; q < end; ++q) {
            std::int64_t shared = 0;
            for (std::int64_t g = 0; g < n_cat; ++g) {
                const std::int64_t* b = bucket.data() + level_start[g];
                const std::int32_t c = codes_t[static_cast<std::size_t>(g * n + q)];
                shared += b[c + 1] - b[c];
            }
            bool exact = shared <= max_shared;
            if (exact) {
                stamp[static_cast<std::size_t>(q)] = q;
                auto visit = [&](std::int64_t j) {
                    if (stamp[static_cast<std::size_t>(j)] == q) return;
                    stamp[static_cast<std::size_t>(j)] = q;
                    top.offer_any(mixed_distance(cont_t, codes_t, n, n_cont, n_cat, cat_weight, q, j),
                                  j);
                };
                for (std::int64_t c = 0; c < kc; ++c) visit(cand[q * kc + c]);
                for (std::int64_t g = 0; g < n_cat; ++g) {
                    const std::int64_t* b = bucket.data() + level_start[g];
                    const std::int32_t c = codes_t[static_cast<std::size_t>(g * n + q)];
                    for (std::int64_t e = b[c]; e < b[c + 1]; ++e)
                        visit(rows[static_cast<std::size_t>(g * n + e)]);
                }
                const double bound =
                    (cand_sq[q] + cat_weight * static_cast<double>(n_cat)) *
                    (1.0 - 1e-9);
                exact = top.full() && top.worst() < bound;
            }
            // Written either way (an unproven list is overwritten below).
            top.drain(out_idx + q * k, out_dist + q * k);
            failed[static_cast<std::size_t>(q)] = exact ? 0 : 1;
        }
    });
    std::vector<std::int64_t> rescan;
    for (std::int64_t q = 0; q < n; ++q)
        if (failed[static_cast<std::size_t>(q)]) rescan.push_back(q);
    tiled_search(cont_t, codes_t, n, n_cont, n_cat, cat_weight, k, rescan.data(),
                 static_cast<std::int64_t>(rescan.size()), out_idx, out_dist, n_threads);
    return static_cast<std::int64_t>(rescan.size());
}

template <class T>
void vote_candidates(const std::int64_t* indptr, const std::int64_t* indices, const T* data,
                     std::int64_t n_rows, std::int64_t nnz, std::int64_t block_start,
                     std::int64_t block_end, const std::int64_t* nns, std::int64_t k,
                     const std::int64_t* base_rows, std::int64_t n_new, std::int64_t* offsets,
                     int n_threads) {
    check_vote_inputs<T>(indptr, indices, n_rows, nnz, block_start, block_end, nns, k, base_rows,
                         n_new);
    offsets[0] = 0;
    parallel_for(n_new, n_threads, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
        VoteScratch<T> s;
        for (std::int64_t i = begin; i < end; ++i) {
            row_candidates<T>(indptr, indices, data, block_start, block_end,
                              nns + base_rows[i] * k, k, s);
            offsets[i + 1] = static_cast<std::int64_t>(s.candidates.size());
        }
    });
    for (std::int64_t i = 0; i < n_new; ++i) offsets[i + 1] += offsets[i];
}

template <class T>
void vote_resolve(const std::int64_t* indptr, const std::int64_t* indices, const T* data,
                  std::int64_t n_rows, std::int64_t nnz, std::int64_t block_start,
                  std::int64_t block_end, const std::int64_t* nns, std::int64_t k,
                  const std::int64_t* base_rows, std::int64_t n_new, const std::int64_t* offsets,
                  const std::int64_t* perm, std::int64_t n_perm, std::int64_t* codes_out,
                  int n_threads) {
    check_vote_inputs<T>(indptr, indices, n_rows, nnz, block_start, block_end, nns, k, base_rows,
                         n_new);
    if (offsets[0] != 0 || offsets[n_new] != n_perm)
        throw std::invalid_argument("vote_resolve: offsets do not cover the permutation");
    for (std::int64_t i = 0; i < n_new; ++i)
        if (offsets[i + 1] < offsets[i])
            throw std::invalid_argument("vote_resolve: offsets must be non-decreasing");
    // Each row keeps the candidate that comes first in the shuffled order
    // (what np.unique(..., return_index=True) picks from the permuted
    // candidate list): its rank among the row's candidates.
    std::vector<std::int64_t> rank(static_cast<std::size_t>(n_new), -1);
    if (n_perm <= std::numeric_limits<std::int32_t>::max()) {
        // Where each candidate landed (int32, filled in parallel), then the
        // smallest position per row. A repeated or missing value of perm
        // leaves some candidate without a position.
        std::unique_ptr<std::atomic<std::int32_t>[]> pos(
            new std::atomic<std::int32_t>[static_cast<std::size_t>(n_perm)]);
        parallel_for(n_perm, n_threads, 1 << 16, [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t c = b; c < e; ++c) pos[c].store(-1, std::memory_order_relaxed);
        });
        parallel_for(n_perm, n_threads, 1 << 16, [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t q = b; q < e; ++q) {
                check_index(perm[q], n_perm, "perm");
                pos[perm[q]].store(static_cast<std::int32_t>(q), std::memory_order_relaxed);
            }
        });
        parallel_for(n_new, n_threads, kRowGrain, [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t i = b; i < e; ++i) {
                std::int32_t best = std::numeric_limits<std::int32_t>::max();
                for (std::int64_t c = offsets[i]; c < offsets[i + 1]; ++c) {
                    const std::int32_t p = pos[c].load(std::memory_order_relaxed);
                    if (p < 0 || perm[p] != c)
                        throw std::invalid_argument("vote_resolve: perm is not a permutation");
                    if (p < best) {
                        best = p;
                        rank[static_cast<std::size_t>(i)] = c - offsets[i];
                    }
                }
            }
        });
    } else {
        // Over 2^31 candidates: one sequential pass over perm instead, one
        // byte per candidate.
        std::vector<std::uint8_t> seen(static_cast<std::size_t>(n_perm), 0);
        std::int64_t assigned = 0;
        for (std::int64_t q = 0; q < n_perm && assigned < n_new; ++q) {
            const std::int64_t c = perm[q];
            check_index(c, n_perm, "perm");
            if (seen[static_cast<std::size_t>(c)])
                throw std::invalid_argument("vote_resolve: perm is not a permutation");
            seen[static_cast<std::size_t>(c)] = 1;
            const std::int64_t i = static_cast<std::int64_t>(
                                       std::upper_bound(offsets, offsets + n_new + 1, c) -
                                       offsets) -
                                   1;
            if (rank[static_cast<std::size_t>(i)] < 0) {
                rank[static_cast<std::size_t>(i)] = c - offsets[i];
                ++assigned;
            }
        }
    }
    parallel_for(n_new, n_threads, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
        VoteScratch<T> s;
        for (std::int64_t i = begin; i < end; ++i) {
            row_candidates<T>(indptr, indices, data, block_start, block_end,
                              nns + base_rows[i] * k, k, s);
            if (offsets[i + 1] - offsets[i] != static_cast<std::int64_t>(s.candidates.size()))
                throw std::invalid_argument("vote_resolve: offsets do not match the candidates");
            const std::int64_t r = rank[static_cast<std::size_t>(i)];
            codes_out[i] = r < 0 ? -1 : s.candidates[static_cast<std::size_t>(r)] - block_start;
        }
    });
}

// ---------------------------------------------------------------- SMOTEN

std::int64_t vdm_tables_size(std::int64_t d, std::int64_t n_classes,
                             const std::int64_t* n_categories) {
    std::int64_t total = 0;
    for (std::int64_t f = 0; f < d; ++f) {
        if (n_categories[f] < 1)
            throw std::invalid_argument("vdm: every feature needs at least one category");
        total += n_categories[f] * n_classes;
    }
    return total;
}

void vdm_tables(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                const std::int64_t* class_codes, std::int64_t n_classes,
                const std::int64_t* n_categories, double* tables, int n_threads) {
    if (n < 0 || d < 0 || n_classes < 1) throw std::invalid_argument("vdm_tables: bad sizes");
    std::vector<std::int64_t> offsets(static_cast<std::size_t>(d + 1), 0);
    for (std::int64_t f = 0; f < d; ++f) {
        if (n_categories[f] < 1)
            throw std::invalid_argument("vdm: every feature needs at least one category");
        offsets[f + 1] = offsets[f] + n_categories[f] * n_classes;
    }
    for (std::int64_t i = 0; i < n; ++i) check_index(class_codes[i], n_classes, "class_codes");
    // Features are independent: one thread counts a feature from start to end.
    parallel_for(d, n_threads, 1, [&](std::int64_t f_begin, std::int64_t f_end) {
        for (std::int64_t f = f_begin; f < f_end; ++f) {
            double* t = tables + offsets[f];
            const std::int64_t L = n_categories[f];
            std::fill(t, t + L * n_classes, 0.0);
            for (std::int64_t i = 0; i < n; ++i) {
                const std::int32_t c = codes[i * d + f];
                if (c < 0 || c >= L)
                    throw std::out_of_range("vdm_tables: category code " + std::to_string(c) +
                                            " of feature " + std::to_string(f) + " outside [0, " +
                                            std::to_string(L) + ")");
                t[c * n_classes + class_codes[i]] += 1.0;
            }
            for (std::int64_t c = 0; c < L; ++c) {
                double total = 0.0;  // integer counts: exact in any order
                for (std::int64_t j = 0; j < n_classes; ++j) total += t[c * n_classes + j];
                for (std::int64_t j = 0; j < n_classes; ++j)
                    t[c * n_classes + j] = total > 0.0 ? t[c * n_classes + j] / total : 0.0;
            }
        }
    });
}

void vdm_knn(const std::int32_t* codes, std::int64_t n, std::int64_t d, const double* tables,
             std::int64_t n_classes, const std::int64_t* n_categories, std::int64_t k,
             std::int64_t* out_idx, int n_threads) {
    if (n < 0 || k < 1) throw std::invalid_argument("vdm_knn: n < 0 or k < 1");
    if (k > n)
        throw std::invalid_argument("vdm_knn: k = " + std::to_string(k) +
                                    " neighbours requested among " + std::to_string(n) + " rows");
    const Vdm vdm(tables, d, n_classes, n_categories);
    vdm.check_codes(codes, n);
    const std::int64_t n_blocks = (n + kQueryBlock - 1) / kQueryBlock;
    parallel_for(n_blocks, n_threads, 1, [&](std::int64_t b_begin, std::int64_t b_end) {
        std::vector<TopK> tops;
        for (std::int64_t q = 0; q < kQueryBlock; ++q) tops.emplace_back(k);
        for (std::int64_t blk = b_begin; blk < b_end; ++blk) {
            const std::int64_t q0 = blk * kQueryBlock;
            const std::int64_t q1 = std::min(n, q0 + kQueryBlock);
            for (std::int64_t j0 = 0; j0 < n; j0 += kTile) {
                const std::int64_t j1 = std::min(n, j0 + kTile);
                for (std::int64_t q = q0; q < q1; ++q) {
                    TopK& top = tops[static_cast<std::size_t>(q - q0)];
                    const std::int32_t* a = codes + q * d;
                    for (std::int64_t j = j0; j < j1; ++j)
                        top.offer(vdm.distance(a, codes + j * d), j);
                }
            }
            for (std::int64_t q = q0; q < q1; ++q)
                tops[static_cast<std::size_t>(q - q0)].drain(out_idx + q * k, nullptr);
        }
    });
}

void vdm_pairwise(const std::int32_t* codes_a, std::int64_t n_a, const std::int32_t* codes_b,
                  std::int64_t n_b, std::int64_t d, const double* tables,
                  std::int64_t n_classes, const std::int64_t* n_categories, double* out,
                  int n_threads) {
    if (n_a < 0 || n_b < 0) throw std::invalid_argument("vdm_pairwise: negative sizes");
    const Vdm vdm(tables, d, n_classes, n_categories);
    vdm.check_codes(codes_a, n_a);
    vdm.check_codes(codes_b, n_b);
    parallel_for(n_a, n_threads, 64, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i)
            for (std::int64_t j = 0; j < n_b; ++j)
                out[i * n_b + j] = vdm.distance(codes_a + i * d, codes_b + j * d);
    });
}

void neighbourhood_mode(const std::int32_t* codes, std::int64_t n, std::int64_t d,
                        const std::int64_t* nn, std::int64_t k, const std::int64_t* rows,
                        std::int64_t n_out, std::int32_t* out, int n_threads) {
    if (n < 0 || d < 0 || k < 1 || n_out < 0)
        throw std::invalid_argument("neighbourhood_mode: bad sizes");
    check_indices(nn, n * k, n, "nn");
    check_indices(rows, n_out, n, "rows");
    parallel_for(n_out, n_threads, kRowGrain, [&](std::int64_t begin, std::int64_t end) {
        std::vector<std::int32_t> vals(static_cast<std::size_t>(k));
        for (std::int64_t i = begin; i < end; ++i) {
            const std::int64_t* nbrs = nn + rows[i] * k;
            for (std::int64_t f = 0; f < d; ++f) {
                for (std::int64_t j = 0; j < k; ++j)
                    vals[static_cast<std::size_t>(j)] = codes[nbrs[j] * d + f];
                std::sort(vals.begin(), vals.end());
                // Longest run; the first (smallest) value wins a tie.
                std::int32_t best = vals[0];
                std::int64_t best_count = 0, run = 0;
                for (std::int64_t j = 0; j < k; ++j) {
                    run = (j > 0 && vals[j] == vals[j - 1]) ? run + 1 : 1;
                    if (run > best_count) {
                        best_count = run;
                        best = vals[j];
                    }
                }
                out[i * d + f] = best;
            }
        }
    });
}

#define IMBFAST_INSTANTIATE_CATEGORICAL(T)                                                       \
    template void mixed_knn<T>(const T*, std::int64_t, std::int64_t, const std::int32_t*,        \
                               std::int64_t, double, std::int64_t, std::int64_t*, double*, int); \
    template std::int64_t mixed_knn_pruned<T>(                                                    \
        const T*, std::int64_t, std::int64_t, const std::int32_t*, std::int64_t, double,         \
        std::int64_t, const std::int64_t*, const double*, std::int64_t, std::int64_t,            \
        std::int64_t*, double*, int);                                                            \
    template void vote_candidates<T>(const std::int64_t*, const std::int64_t*, const T*,          \
                                     std::int64_t, std::int64_t, std::int64_t, std::int64_t,     \
                                     const std::int64_t*, std::int64_t, const std::int64_t*,     \
                                     std::int64_t, std::int64_t*, int);                          \
    template void vote_resolve<T>(const std::int64_t*, const std::int64_t*, const T*,             \
                                  std::int64_t, std::int64_t, std::int64_t, std::int64_t,        \
                                  const std::int64_t*, std::int64_t, const std::int64_t*,        \
                                  std::int64_t, const std::int64_t*, const std::int64_t*,        \
                                  std::int64_t, std::int64_t*, int);

IMBFAST_INSTANTIATE_CATEGORICAL(float)
IMBFAST_INSTANTIATE_CATEGORICAL(double)

#undef IMBFAST_INSTANTIATE_CATEGORICAL

}  // namespace imbfast
