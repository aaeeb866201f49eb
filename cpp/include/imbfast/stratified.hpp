// Exact stratified sampling that does not depend on how the rows are split.
//
// Every row i gets a key: the splitmix64 output for the state
// mix(seed) + (i + 1) * golden (see row_key). For a fixed seed, i -> key is a
// bijection on 64-bit integers, so keys never tie, and it looks like a
// uniformly random permutation of the rows. Per class, the sample is the
// `want` rows with the smallest keys: a uniform random subset of that size,
// and a function of (seed, global row index, label) only. Whole-array runs,
// chunked streams fed in any order, and any number of threads therefore
// select the same rows.
//
// StratifiedSelector keeps, per class, the candidates whose key is at most a
// threshold. When a class holds more than twice its quota the candidates are
// compacted to the `want` smallest and the threshold drops to the largest key
// kept, so memory stays O(want) per class however long the stream. A caller
// that knows the class sizes can start from a tighter threshold (an upper
// quantile of the want-th smallest of n uniform keys): candidates then
// barely exceed the quota and nothing is compacted.
//
// With replacement (replacement_profile): drawing k rows i.i.d. from a class
// of n is simulated on abstract slots numbered in order of first appearance
// (draw u uniform in [0, n): u < d hits existing slot u, else opens slot d),
// which yields the multiplicity of every distinct row drawn. The profile is
// shuffled and given, in row order, to the d rows with the smallest keys.
// Since those rows are a uniform d-subset independent of the shuffled
// profile, the result has the law of k i.i.d. draws, and it depends only on
// (seed, label, n, k), never on the partitioning.
//
// All functions validate their inputs and throw std::invalid_argument or
// std::out_of_range; they never abort.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace imbfast {

// splitmix64's output function (Stafford's mix13): a bijection on 64 bits.
inline std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

// The state the keys of `seed` start from.
inline std::uint64_t key_state(std::uint64_t seed) { return mix64(seed + kGolden); }

// Key of global row `row` for the state returned by key_state(seed).
inline std::uint64_t row_key(std::uint64_t state, std::int64_t row) {
    return mix64(state + (static_cast<std::uint64_t>(row) + 1) * kGolden);
}

// out[j] = row_key(state, begin + j) for j < n, vectorized (AVX2 / AVX-512
// chosen at run time).
void row_keys(std::uint64_t state, std::int64_t begin, std::int64_t n, std::uint64_t* out);

// out[j] = row_key(state, rows[j]) for arbitrary (non-negative) rows, e.g.
// rows gathered from several partitions; vectorized like row_keys.
void row_keys_at(std::uint64_t state, const std::int64_t* rows, std::int64_t n,
                 std::uint64_t* out);

// Multiplicities of the distinct rows of a with-replacement draw of
// `n_draws` rows from a class of `n_class` rows (see the file comment),
// shuffled; its length is the number of distinct rows drawn. `label`
// decorrelates the classes' streams. More draws than max_index_rows() is a
// std::length_error, thrown at once (the draws are O(n_draws) work).
std::vector<std::int64_t> replacement_profile(std::uint64_t seed, std::int64_t label,
                                              std::int64_t n_class, std::int64_t n_draws);

// The most row indices (int64) an index array can hold on this machine:
// its physical memory / 8 where known, at most PTRDIFF_MAX / 8.
std::int64_t max_index_rows();

// Upper bound that the want-th smallest of n uniform 64-bit keys stays
// below except with a probability of about exp(-sigmas^2 / 2). sigmas
// must be finite.
std::uint64_t key_threshold(std::int64_t want, std::int64_t n, double sigmas);

class StratifiedSelector {
   public:
    // What to do with the rows of a class.
    enum Mode : std::uint8_t { skip = 0, keep_all = 1, select = 2 };

    // Classes are the labels lo, lo + 1, ..., lo + want.size() - 1. want[s]:
    // -1 keeps every row of the class, 0 none, w > 0 the w rows with the
    // smallest keys. threshold (empty, or one per class): initial key bound
    // of the selected classes; rows with larger keys are never candidates,
    // so a caller passing a bound must check shortfall() at the end.
    StratifiedSelector(std::int64_t lo, std::vector<std::int64_t> want,
                       std::vector<std::uint64_t> threshold, std::uint64_t seed);

    // Feed labels y[0..n) of global rows offset .. offset + n - 1. Chunks may
    // come in any order but must not overlap.
    template <class L>
    void add(const L* y, std::int64_t n, std::int64_t offset, int n_threads);

    // Rows seen per class so far.
    const std::vector<std::int64_t>& seen() const { return seen_; }

    // Classes whose candidates are fewer than wanted (with their candidate
    // count), e.g. the class has fewer rows than asked for.
    std::vector<std::pair<std::int64_t, std::int64_t>> shortfall() const;

    // The selected rows, per class ascending, classes in label order;
    // sizes[s] = rows of class s. With `complete`, a shortfall is an
    // std::invalid_argument; without, a class may come back short (a
    // partition's share: its candidates, to be merged with the others').
    // The selector cannot be fed afterwards.
    void finish(std::vector<std::int64_t>& rows, std::vector<std::int64_t>& sizes,
                bool complete = true);

   private:
    void compact(std::size_t s, std::size_t keep);

    std::int64_t lo_;
    std::vector<std::int64_t> want_;
    std::vector<std::uint8_t> mode_;
    std::vector<std::uint64_t> threshold_;
    std::uint64_t state_;
    std::vector<std::vector<std::uint64_t>> keys_;
    std::vector<std::vector<std::int64_t>> rows_;
    std::vector<std::int64_t> seen_;
    std::vector<std::pair<std::int64_t, std::int64_t>> chunks_;  // [begin, end) fed so far
    bool in_order_ = true;  // every chunk started at or after the end of the previous one
    std::int64_t last_end_ = 0;
    bool finished_ = false;
    bool any_select_ = false;
};

// Whole arrays are selected in two passes over the labels; the only large
// allocations are the output and one bit per row:
//
// stratified_scan counts, per block of rows and class, the rows and the
// candidates (rows whose key is at most the class's bound), and marks the
// candidates in a bitmask (bit i % 64 of bits[i / 64]; (n + 63) / 64 words,
// all written), so the keys are computed once. The caller learns the exact
// class sizes from it, decides how many rows each class keeps, and checks
// every selected class has at least that many candidates (if not, its bound
// was too tight: scan again with a looser one). stratified_gather then
// writes the rows kept to their final places and drops, per selected
// class, the candidates beyond the want smallest keys.
//
// The bounds only decide how much work is done, never which rows come out.
struct LabelScan {
    std::int64_t blocks = 0;
    std::vector<std::int64_t> counts;      // blocks x n_slots, block-major: rows per class
    std::vector<std::int64_t> candidates;  // blocks x n_slots: rows with key <= bound[s]
    // Labels outside [lo, lo + n_slots): they are not counted; the smallest
    // and largest of them tell the caller the range to scan again with.
    std::int64_t outside = 0;
    std::int64_t outside_min = 0;
    std::int64_t outside_max = 0;
};

template <class L>
LabelScan stratified_scan(const L* y, std::int64_t n, std::int64_t lo,
                          const std::vector<std::uint64_t>& bound, std::uint64_t seed,
                          int n_threads, std::uint64_t* bits);

// Memory handed to the caller, released with std::free (large buffers are
// advised to use transparent huge pages: far fewer page faults).
struct FreeDeleter {
    void operator()(std::int64_t* p) const noexcept;
};
using RowBuffer = std::unique_ptr<std::int64_t[], FreeDeleter>;

// want[s]: -1 keeps every row of class lo + s, 0 none, w > 0 the w rows with
// the smallest keys (all among its candidates for bound[s]). counts,
// candidates and bits are a stratified_scan of the same labels with the
// same bounds.
// out gets n_out rows, classes in label order, rows ascending; sizes[s] the
// rows of class s.
template <class L>
void stratified_gather(const L* y, std::int64_t n, std::int64_t lo,
                       const std::vector<std::int64_t>& want,
                       const std::vector<std::uint64_t>& bound, std::int64_t blocks,
                       const std::vector<std::int64_t>& counts,
                       const std::vector<std::int64_t>& candidates, const std::uint64_t* bits,
                       std::uint64_t seed, int n_threads, RowBuffer& out, std::int64_t& n_out,
                       std::vector<std::int64_t>& sizes);

}  // namespace imbfast
