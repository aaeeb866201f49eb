#include "imbfast/stratified.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "imbfast/dispatch.hpp"
#include "imbfast/parallel.hpp"

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

namespace imbfast {

namespace {

constexpr std::uint64_t kMaxKey = std::numeric_limits<std::uint64_t>::max();
// Rows hashed at a time: the keys of one batch stay in L1.
constexpr std::int64_t kBatch = 512;
// Rows below which a thread is not worth starting.
constexpr std::int64_t kGrainRows = 1 << 16;
// Classes times blocks above which per-block buffers would cost too much.
constexpr std::int64_t kMaxSlotBlocks = std::int64_t{1} << 22;

void require(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
}

IMBFAST_INLINE void keys_body(std::uint64_t state, std::int64_t begin, std::int64_t n,
                              std::uint64_t* __restrict out) {
    const std::uint64_t base = state + static_cast<std::uint64_t>(begin) * kGolden;
    for (std::int64_t j = 0; j < n; ++j) {
        std::uint64_t z = base + (static_cast<std::uint64_t>(j) + 1) * kGolden;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        out[j] = z ^ (z >> 31);
    }
}

void keys_generic(std::uint64_t state, std::int64_t begin, std::int64_t n, std::uint64_t* out) {
    keys_body(state, begin, n, out);
}
IMBFAST_TARGET_AVX2 void keys_avx2(std::uint64_t state, std::int64_t begin, std::int64_t n,
                                   std::uint64_t* out) {
    keys_body(state, begin, n, out);
}
IMBFAST_TARGET_AVX512 void keys_avx512(std::uint64_t state, std::int64_t begin, std::int64_t n,
                                       std::uint64_t* out) {
    keys_body(state, begin, n, out);
}

using KeysFn = void (*)(std::uint64_t, std::int64_t, std::int64_t, std::uint64_t*);

KeysFn pick_keys() {
    return pick_by_isa(&keys_generic, &keys_avx2, &keys_avx512);
}

// Keys of arbitrary rows (no gather: the row is the input of the hash).
IMBFAST_INLINE void keys_at_body(std::uint64_t state, const std::int64_t* __restrict rows,
                                 std::int64_t n, std::uint64_t* __restrict out) {
    for (std::int64_t j = 0; j < n; ++j) {
        std::uint64_t z = state + (static_cast<std::uint64_t>(rows[j]) + 1) * kGolden;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        out[j] = z ^ (z >> 31);
    }
}

void keys_at_generic(std::uint64_t state, const std::int64_t* rows, std::int64_t n,
                     std::uint64_t* out) {
    keys_at_body(state, rows, n, out);
}
IMBFAST_TARGET_AVX2 void keys_at_avx2(std::uint64_t state, const std::int64_t* rows,
                                      std::int64_t n, std::uint64_t* out) {
    keys_at_body(state, rows, n, out);
}
IMBFAST_TARGET_AVX512 void keys_at_avx512(std::uint64_t state, const std::int64_t* rows,
                                          std::int64_t n, std::uint64_t* out) {
    keys_at_body(state, rows, n, out);
}

using KeysAtFn = void (*)(std::uint64_t, const std::int64_t*, std::int64_t, std::uint64_t*);

KeysAtFn pick_keys_at() {
    return pick_by_isa(&keys_at_generic, &keys_at_avx2, &keys_at_avx512);
}

std::uint64_t mul_hi(std::uint64_t a, std::uint64_t b, std::uint64_t* lo) {
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    const u128 p = static_cast<u128>(a) * b;
    *lo = static_cast<std::uint64_t>(p);
    return static_cast<std::uint64_t>(p >> 64);
#elif defined(_MSC_VER)
    std::uint64_t hi;
    *lo = _umul128(a, b, &hi);
    return hi;
#else
    const std::uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
    const std::uint64_t b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
    const std::uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo, p3 = a_hi * b_hi;
    const std::uint64_t mid = (p0 >> 32) + (p1 & 0xFFFFFFFFULL) + (p2 & 0xFFFFFFFFULL);
    *lo = (mid << 32) | (p0 & 0xFFFFFFFFULL);
    return p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
#endif
}

// splitmix64 stream with unbiased bounded draws (Lemire's method).
class SplitMix {
   public:
    explicit SplitMix(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        state_ += kGolden;
        return mix64(state_);
    }
    // Uniform in [0, n), n > 0.
    std::uint64_t below(std::uint64_t n) {
        std::uint64_t lo;
        std::uint64_t hi = mul_hi(next(), n, &lo);
        if (lo < n) {
            const std::uint64_t t = (0 - n) % n;
            while (lo < t) hi = mul_hi(next(), n, &lo);
        }
        return hi;
    }

   private:
    std::uint64_t state_;
};

// Splits [0, n) into `blocks` consecutive ranges that start at multiples of
// kBatch (a whole number of 64-row words of a candidate bitmask).
std::int64_t block_begin(std::int64_t n, std::int64_t blocks, std::int64_t b) {
    if (b >= blocks) return n;
    const auto at = static_cast<std::int64_t>(static_cast<long double>(n) * b / blocks);
    return at / kBatch * kBatch;
}

std::int64_t n_blocks(std::int64_t n, int n_threads, std::int64_t per_thread) {
    const std::int64_t threads = clamp_threads(n_threads);
    const std::int64_t useful = std::max<std::int64_t>(1, n / kGrainRows);
    return std::max<std::int64_t>(1, std::min(threads * per_thread, useful));
}

[[noreturn]] void bad_label(std::int64_t label, std::int64_t lo, std::int64_t n_slots) {
    throw std::out_of_range("label " + std::to_string(label) + " outside the classes [" +
                            std::to_string(lo) + ", " + std::to_string(lo + n_slots - 1) + "]");
}

}  // namespace

void row_keys(std::uint64_t state, std::int64_t begin, std::int64_t n, std::uint64_t* out) {
    require(n >= 0, "row_keys: n must be non-negative");
    if (n == 0) return;
    require(out != nullptr, "row_keys: null buffer");
    static const KeysFn kernel = pick_keys();
    kernel(state, begin, n, out);
}

void row_keys_at(std::uint64_t state, const std::int64_t* rows, std::int64_t n,
                 std::uint64_t* out) {
    require(n >= 0, "row_keys_at: n must be non-negative");
    if (n == 0) return;
    require(rows != nullptr && out != nullptr, "row_keys_at: null buffer");
    for (std::int64_t j = 0; j < n; ++j)
        if (rows[j] < 0) throw std::out_of_range("row_keys_at: negative row " + std::to_string(rows[j]));
    static const KeysAtFn kernel = pick_keys_at();
    kernel(state, rows, n, out);
}

std::int64_t max_index_rows() {
    constexpr auto kItem = static_cast<std::int64_t>(sizeof(std::int64_t));
    std::int64_t limit = std::numeric_limits<std::ptrdiff_t>::max() / kItem;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0) {
        const long double bytes = static_cast<long double>(pages) * static_cast<long double>(page);
        if (bytes / kItem < static_cast<long double>(limit))
            limit = static_cast<std::int64_t>(bytes / kItem);
    }
#endif
    return limit;
}

std::vector<std::int64_t> replacement_profile(std::uint64_t seed, std::int64_t label,
                                              std::int64_t n_class, std::int64_t n_draws) {
    require(n_class >= 0 && n_draws >= 0, "replacement_profile: sizes must be non-negative");
    if (n_draws > max_index_rows())
        throw std::length_error("replacement_profile: " + std::to_string(n_draws) +
                                " draws need more row indices than this machine's memory holds (" +
                                std::to_string(max_index_rows()) + ")");
    require(n_draws == 0 || n_class > 0,
            "replacement_profile: cannot draw from class " + std::to_string(label) +
                ", which has no rows");
    SplitMix rng(mix64(seed ^ mix64(static_cast<std::uint64_t>(label) + 0x632BE59BD9B4E019ULL)));
    std::vector<std::int64_t> mult;
    mult.reserve(static_cast<std::size_t>(std::min(n_class, n_draws)));
    const auto n = static_cast<std::uint64_t>(n_class);
    for (std::int64_t i = 0; i < n_draws; ++i) {
        const std::uint64_t u = rng.below(n);
        if (u < mult.size())
            ++mult[u];
        else
            mult.push_back(1);
    }
    for (std::size_t i = mult.size(); i > 1; --i) {
        const std::uint64_t j = rng.below(i);
        std::swap(mult[i - 1], mult[j]);
    }
    return mult;
}

std::uint64_t key_threshold(std::int64_t want, std::int64_t n, double sigmas) {
    require(want >= 0 && n > 0, "key_threshold: want >= 0 and n > 0 required");
    require(std::isfinite(sigmas), "key_threshold: sigmas must be finite");
    const long double w = static_cast<long double>(want);
    const long double bound = w + sigmas * std::sqrt(w) + std::max(0.0, sigmas * sigmas);
    const long double frac = bound / static_cast<long double>(n);
    if (frac >= 1.0L) return kMaxKey;
    if (frac <= 0.0L) return 0;
    return static_cast<std::uint64_t>(frac * 18446744073709551616.0L);
}

StratifiedSelector::StratifiedSelector(std::int64_t lo, std::vector<std::int64_t> want,
                                       std::vector<std::uint64_t> threshold, std::uint64_t seed)
    : lo_(lo), want_(std::move(want)), threshold_(std::move(threshold)), state_(key_state(seed)) {
    const std::size_t n_slots = want_.size();
    require(n_slots > 0, "StratifiedSelector: at least one class is needed");
    require(n_slots <= static_cast<std::size_t>(kMaxSlotBlocks),
            "StratifiedSelector: too many classes");
    require(lo <= std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(n_slots),
            "StratifiedSelector: label range overflows");
    if (threshold_.empty()) threshold_.assign(n_slots, kMaxKey);
    require(threshold_.size() == n_slots,
            "StratifiedSelector: threshold needs one entry per class");
    mode_.resize(n_slots);
    for (std::size_t s = 0; s < n_slots; ++s) {
        require(want_[s] >= -1, "StratifiedSelector: want must be -1, 0 or a positive count");
        mode_[s] = want_[s] == -1 ? keep_all : (want_[s] == 0 ? skip : select);
        if (mode_[s] == select) any_select_ = true;
    }
    keys_.resize(n_slots);
    rows_.resize(n_slots);
    seen_.assign(n_slots, 0);
}

void StratifiedSelector::compact(std::size_t s, std::size_t keep) {
    auto& keys = keys_[s];
    auto& rows = rows_[s];
    if (keys.size() <= keep) return;
    if (keep == 0) {
        keys.clear();
        rows.clear();
        threshold_[s] = 0;
        return;
    }
    std::vector<std::uint64_t> tmp(keys);
    std::nth_element(tmp.begin(), tmp.begin() + static_cast<std::ptrdiff_t>(keep - 1), tmp.end());
    const std::uint64_t cut = tmp[keep - 1];
    std::vector<std::uint64_t>().swap(tmp);
    // Keys are distinct, so exactly `keep` entries have key <= cut; the
    // filter is stable and keeps the rows in the order they came in.
    std::size_t out = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (keys[i] <= cut) {
            keys[out] = keys[i];
            rows[out] = rows[i];
            ++out;
        }
    }
    keys.resize(out);
    rows.resize(out);
    threshold_[s] = std::min(threshold_[s], cut);
}

template <class L>
void StratifiedSelector::add(const L* y, std::int64_t n, std::int64_t offset, int n_threads) {
    require(!finished_, "StratifiedSelector: already finished");
    require(n >= 0 && offset >= 0, "StratifiedSelector.add: offset and size must be non-negative");
    require(offset <= std::numeric_limits<std::int64_t>::max() - n - 1,
            "StratifiedSelector.add: row indices overflow");
    if (n == 0) return;
    require(y != nullptr, "StratifiedSelector.add: null buffer");
    const std::int64_t end_row = offset + n;
    // Chunks must not overlap: a row fed twice would be counted twice.
    auto it = std::lower_bound(chunks_.begin(), chunks_.end(), std::make_pair(offset, end_row));
    if ((it != chunks_.end() && it->first < end_row) ||
        (it != chunks_.begin() && std::prev(it)->second > offset))
        throw std::invalid_argument("StratifiedSelector.add: rows " + std::to_string(offset) +
                                    ".." + std::to_string(end_row - 1) +
                                    " overlap rows fed before");

    const auto n_slots = static_cast<std::int64_t>(want_.size());
    std::int64_t blocks = n_blocks(n, n_threads, 4);
    blocks = std::max<std::int64_t>(1, std::min(blocks, kMaxSlotBlocks / n_slots));
    struct Local {
        std::vector<std::vector<std::uint64_t>> keys;
        std::vector<std::vector<std::int64_t>> rows;
        std::vector<std::int64_t> seen;
    };
    std::vector<Local> local(static_cast<std::size_t>(blocks));
    const KeysFn keys_fn = pick_keys();
    const std::uint64_t* thr = threshold_.data();
    const std::uint8_t* mode = mode_.data();
    const std::int64_t lo = lo_;
    const std::uint64_t state = state_;
    const bool hash = any_select_;

    parallel_for(blocks, n_threads, 1, [&](std::int64_t b0, std::int64_t b1) {
        std::uint64_t kbuf[kBatch];
        for (std::int64_t b = b0; b < b1; ++b) {
            Local& loc = local[static_cast<std::size_t>(b)];
            loc.keys.resize(static_cast<std::size_t>(n_slots));
            loc.rows.resize(static_cast<std::size_t>(n_slots));
            loc.seen.assign(static_cast<std::size_t>(n_slots), 0);
            const std::int64_t begin = block_begin(n, blocks, b), end = block_begin(n, blocks, b + 1);
            for (std::int64_t i0 = begin; i0 < end; i0 += kBatch) {
                const std::int64_t m = std::min(kBatch, end - i0);
                if (hash) keys_fn(state, offset + i0, m, kbuf);
                for (std::int64_t j = 0; j < m; ++j) {
                    const L label = y[i0 + j];
                    const std::uint64_t s =
                        static_cast<std::uint64_t>(static_cast<std::int64_t>(label)) -
                        static_cast<std::uint64_t>(lo);
                    if (s >= static_cast<std::uint64_t>(n_slots)) bad_label(label, lo, n_slots);
                    ++loc.seen[s];
                    const std::uint8_t md = mode[s];
                    if (md == select) {
                        if (kbuf[j] <= thr[s]) {
                            loc.keys[s].push_back(kbuf[j]);
                            loc.rows[s].push_back(offset + i0 + j);
                        }
                    } else if (md == keep_all) {
                        loc.rows[s].push_back(offset + i0 + j);
                    }
                }
            }
        }
    });

    // Nothing has changed so far: a bad label leaves the selector as it was.
    chunks_.insert(it, std::make_pair(offset, end_row));
    if (offset < last_end_) in_order_ = false;
    last_end_ = std::max(last_end_, end_row);
    for (std::int64_t s = 0; s < n_slots; ++s) {
        const auto su = static_cast<std::size_t>(s);
        std::size_t extra = 0;
        for (auto& loc : local) {
            seen_[su] += loc.seen[su];
            extra += loc.rows[su].size();
        }
        if (extra == 0) continue;
        rows_[su].reserve(rows_[su].size() + extra);
        if (mode_[su] == select) keys_[su].reserve(keys_[su].size() + extra);
        for (auto& loc : local) {
            rows_[su].insert(rows_[su].end(), loc.rows[su].begin(), loc.rows[su].end());
            std::vector<std::int64_t>().swap(loc.rows[su]);
            if (mode_[su] == select) {
                keys_[su].insert(keys_[su].end(), loc.keys[su].begin(), loc.keys[su].end());
                std::vector<std::uint64_t>().swap(loc.keys[su]);
            }
        }
        const auto w = static_cast<std::size_t>(want_[su]);
        if (mode_[su] == select && keys_[su].size() > 2 * w + 1024) compact(su, w);
    }
}

std::vector<std::pair<std::int64_t, std::int64_t>> StratifiedSelector::shortfall() const {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (std::size_t s = 0; s < want_.size(); ++s)
        if (mode_[s] == select && static_cast<std::int64_t>(keys_[s].size()) < want_[s])
            out.emplace_back(static_cast<std::int64_t>(s), static_cast<std::int64_t>(keys_[s].size()));
    return out;
}

void StratifiedSelector::finish(std::vector<std::int64_t>& rows, std::vector<std::int64_t>& sizes,
                                bool complete) {
    require(!finished_, "StratifiedSelector: already finished");
    const auto short_classes = complete ? shortfall() : decltype(shortfall()){};
    if (!short_classes.empty()) {
        const auto s = static_cast<std::size_t>(short_classes.front().first);
        throw std::invalid_argument(
            "class " + std::to_string(lo_ + static_cast<std::int64_t>(s)) + ": " +
            std::to_string(want_[s]) + " rows requested but only " +
            std::to_string(seen_[s]) + " rows of it were seen" +
            (seen_[s] >= want_[s] ? " (candidates fell below a caller-given threshold)" : ""));
    }
    finished_ = true;
    std::size_t total = 0;
    for (std::size_t s = 0; s < want_.size(); ++s) {
        if (mode_[s] == select) compact(s, static_cast<std::size_t>(want_[s]));
        std::vector<std::uint64_t>().swap(keys_[s]);
        if (!in_order_) std::sort(rows_[s].begin(), rows_[s].end());
        total += rows_[s].size();
    }
    rows.clear();
    rows.reserve(total);
    sizes.assign(want_.size(), 0);
    for (std::size_t s = 0; s < want_.size(); ++s) {
        sizes[s] = static_cast<std::int64_t>(rows_[s].size());
        rows.insert(rows.end(), rows_[s].begin(), rows_[s].end());
        std::vector<std::int64_t>().swap(rows_[s]);
    }
}

namespace {

// Up to this many classes, the per-row loops run once per class over a batch
// (compares the compiler vectorizes) instead of indexing per-class tables.
constexpr std::int64_t kFewSlots = 8;

// Slot of a label: label - lo, in unsigned arithmetic (no signed overflow
// whatever the label); a label outside [lo, lo + n_slots) gives >= n_slots.
template <class L>
IMBFAST_INLINE std::uint64_t slot_of(L label, std::int64_t lo) {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(label)) -
           static_cast<std::uint64_t>(lo);
}

// Rows of y[0..m) whose label is outside [lo, lo + n_slots) (vectorized).
template <class L>
IMBFAST_INLINE std::int64_t count_outside(const L* __restrict y, std::int64_t m, std::int64_t lo,
                                          std::uint64_t slots) {
    std::int64_t c = 0;
    for (std::int64_t j = 0; j < m; ++j)
        c += static_cast<std::int64_t>(slot_of(y[j], lo) >= slots);
    return c;
}

// flag[j] = y[j] == v, for label v of type L.
template <class L>
IMBFAST_INLINE void class_flags(const L* __restrict y, std::int64_t m, L v,
                                std::uint8_t* __restrict flag) {
    for (std::int64_t j = 0; j < m; ++j) flag[j] = static_cast<std::uint8_t>(y[j] == v);
}

// Bit j of the result is flag[j] != 0, for 64 flags of 0 or 1.
inline std::uint64_t pack_flags(const std::uint8_t* flag) {
    std::uint64_t bits = 0;
    for (int w = 0; w < 8; ++w) {
        std::uint64_t x;
        std::memcpy(&x, flag + 8 * w, sizeof x);
        // Byte k (0 or 1) lands in bit k of the top byte: no carries.
        bits |= ((x * 0x0102040810204080ULL) >> 56) << (8 * w);
    }
    return bits;
}

inline int lowest_bit(std::uint64_t x) {
#if defined(_MSC_VER) && !defined(__clang__)
    unsigned long i;
    _BitScanForward64(&i, x);
    return static_cast<int>(i);
#else
    return __builtin_ctzll(x);
#endif
}

// The label of slot s as an L, or false when no L has that value.
template <class L>
bool slot_label(std::int64_t lo, std::int64_t s, L& v) {
    const std::int64_t label = lo + s;
    if (label < static_cast<std::int64_t>(std::numeric_limits<L>::min()) ||
        label > static_cast<std::int64_t>(std::numeric_limits<L>::max()))
        return false;
    v = static_cast<L>(label);
    return true;
}

// Smallest and largest label of y[0..m) outside [lo, lo + n_slots), into
// `outside` (rare: the caller's range came from a sample).
template <class L>
void note_outside(const L* y, std::int64_t m, std::int64_t lo, std::uint64_t slots,
                  LabelScan& outside) {
    for (std::int64_t j = 0; j < m; ++j) {
        const auto label = static_cast<std::int64_t>(y[j]);
        if (slot_of(y[j], lo) < slots) continue;
        outside.outside_min = outside.outside ? std::min(outside.outside_min, label) : label;
        outside.outside_max = outside.outside ? std::max(outside.outside_max, label) : label;
        ++outside.outside;
    }
}

template <class L>
[[noreturn]] void first_outside(const L* y, std::int64_t m, std::int64_t lo, std::int64_t n_slots) {
    for (std::int64_t j = 0; j < m; ++j)
        if (slot_of(y[j], lo) >= static_cast<std::uint64_t>(n_slots))
            bad_label(y[j], lo, n_slots);
    throw std::logic_error("first_outside: no label outside the classes");
}

// Per block: rows and candidates per class, and the candidate bitmask (bit
// i % 64 of bits[i / 64] is set for a candidate row i). Few classes:
// t[2 * s] rows, t[2 * s + 1] candidates. Otherwise `ways` interleaved
// tables of those (t[(j % ways) * 2 * n_slots + 2 * s]) so consecutive rows
// of one class do not wait on each other's increments.
template <class L>
IMBFAST_INLINE void scan_body(const L* y, std::int64_t begin, std::int64_t end, std::int64_t lo,
                              std::int64_t n_slots, const std::uint64_t* __restrict bound,
                              bool hash, std::uint64_t state, std::int64_t ways,
                              std::int64_t* __restrict t, std::uint64_t* __restrict bits,
                              LabelScan& outside) {
    alignas(64) std::uint64_t kbuf[kBatch] = {};
    alignas(64) std::uint8_t cand_flag[kBatch];
    const auto slots = static_cast<std::uint64_t>(n_slots);
    for (std::int64_t i0 = begin; i0 < end; i0 += kBatch) {
        const std::int64_t m = std::min(kBatch, end - i0);
        if (hash) keys_body(state, i0, m, kbuf);
        const L* __restrict yb = y + i0;
        if (count_outside(yb, m, lo, slots) != 0) note_outside(yb, m, lo, slots, outside);
        const std::int64_t padded = (m + 63) / 64 * 64;
        std::fill(cand_flag, cand_flag + padded, std::uint8_t{0});
        if (n_slots <= kFewSlots) {
            for (std::int64_t s = 0; s < n_slots; ++s) {
                L v;
                if (!slot_label(lo, s, v)) continue;
                const std::uint64_t b = bound[s];
                std::int64_t rows = 0, cand = 0;
                for (std::int64_t j = 0; j < m; ++j) {
                    const bool eq = yb[j] == v;
                    const bool c = eq & (kbuf[j] <= b);
                    rows += eq;
                    cand += c;
                    cand_flag[j] |= static_cast<std::uint8_t>(c);
                }
                t[2 * s] += rows;
                t[2 * s + 1] += cand;
            }
        } else {
            for (std::int64_t j = 0; j < m; ++j) {
                const std::uint64_t s = slot_of(yb[j], lo);
                if (s >= slots) continue;
                const bool c = kbuf[j] <= bound[s];
                std::int64_t* row = t + (j & (ways - 1)) * 2 * n_slots + 2 * static_cast<std::int64_t>(s);
                row[0] += 1;
                row[1] += static_cast<std::int64_t>(c);
                cand_flag[j] = static_cast<std::uint8_t>(c);
            }
        }
        for (std::int64_t w = 0; w < padded; w += 64) bits[(i0 + w) / 64] = pack_flags(cand_flag + w);
    }
}

// Writes the rows taken at pos[s]++ (< lim[s]): none of class s when
// take[s] = 0, all when 1, its candidates (set in bits) when 2.
template <class L>
IMBFAST_INLINE void gather_body(const L* y, std::int64_t begin, std::int64_t end, std::int64_t lo,
                                std::int64_t n_slots, const std::uint8_t* __restrict take,
                                const std::uint64_t* __restrict bits, std::int64_t* __restrict pos,
                                const std::int64_t* __restrict lim, std::int64_t* __restrict out) {
    alignas(64) std::uint8_t flag[kBatch];
    std::int32_t jbuf[kBatch];
    std::uint32_t sbuf[kBatch];
    const auto slots = static_cast<std::uint64_t>(n_slots);
    const auto mismatch = [] {
        throw std::invalid_argument("stratified_gather: the labels do not match the scan");
    };
    for (std::int64_t i0 = begin; i0 < end; i0 += kBatch) {
        const std::int64_t m = std::min(kBatch, end - i0);
        const L* __restrict yb = y + i0;
        const std::uint64_t* __restrict wb = bits + i0 / 64;
        if (count_outside(yb, m, lo, slots) != 0) first_outside(yb, m, lo, n_slots);
        if (n_slots <= kFewSlots) {
            // Per class: label flags packed into 64-bit masks, and with the
            // candidate bits; the set bits are the rows to write.
            const std::int64_t padded = (m + 63) / 64 * 64;
            for (std::int64_t s = 0; s < n_slots; ++s) {
                L v;
                if (take[s] == 0 || !slot_label(lo, s, v)) continue;
                class_flags(yb, m, v, flag);
                std::fill(flag + m, flag + padded, std::uint8_t{0});
                const std::uint64_t all = take[s] == 1 ? ~std::uint64_t{0} : 0;
                std::int64_t p = pos[s];
                const std::int64_t stop = lim[s];
                for (std::int64_t w = 0; w < padded; w += 64) {
                    for (std::uint64_t mask = pack_flags(flag + w) & (all | wb[w / 64]); mask != 0;
                         mask &= mask - 1) {
                        if (p == stop) mismatch();
                        out[p++] = i0 + w + lowest_bit(mask);
                    }
                }
                pos[s] = p;
            }
            continue;
        }
        // Compact the rows taken (branch-free), then place them: only those
        // touch the per-class positions.
        std::int64_t k = 0;
        for (std::int64_t j = 0; j < m; ++j) {
            const std::uint64_t s = slot_of(yb[j], lo);
            const auto cand = static_cast<std::uint8_t>((wb[j / 64] >> (j % 64)) & 1);
            jbuf[k] = static_cast<std::int32_t>(j);
            sbuf[k] = static_cast<std::uint32_t>(s);
            k += (take[s] & 1) | ((take[s] >> 1) & cand);
        }
        for (std::int64_t q = 0; q < k; ++q) {
            const std::uint32_t s = sbuf[q];
            if (pos[s] == lim[s]) mismatch();
            out[pos[s]++] = i0 + jbuf[q];
        }
    }
}

template <class L>
using ScanFn = void (*)(const L*, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                        const std::uint64_t*, bool, std::uint64_t, std::int64_t, std::int64_t*,
                        std::uint64_t*, LabelScan&);
template <class L>
using GatherFn = void (*)(const L*, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                          const std::uint8_t*, const std::uint64_t*, std::int64_t*,
                          const std::int64_t*, std::int64_t*);

#define IMBFAST_BLOCK_KERNELS(SUFFIX, TARGET)                                                    \
    template <class L>                                                                           \
    TARGET void scan_##SUFFIX(const L* y, std::int64_t begin, std::int64_t end, std::int64_t lo, \
                              std::int64_t n_slots, const std::uint64_t* bound, bool hash,       \
                              std::uint64_t state, std::int64_t ways, std::int64_t* t,           \
                              std::uint64_t* bits, LabelScan& outside) {                         \
        scan_body(y, begin, end, lo, n_slots, bound, hash, state, ways, t, bits, outside);       \
    }                                                                                            \
    template <class L>                                                                           \
    TARGET void gather_##SUFFIX(const L* y, std::int64_t begin, std::int64_t end,                \
                                std::int64_t lo, std::int64_t n_slots, const std::uint8_t* take, \
                                const std::uint64_t* bits, std::int64_t* pos,                    \
                                const std::int64_t* lim, std::int64_t* out) {                    \
        gather_body(y, begin, end, lo, n_slots, take, bits, pos, lim, out);                      \
    }

IMBFAST_BLOCK_KERNELS(generic, )
IMBFAST_BLOCK_KERNELS(avx2, IMBFAST_TARGET_AVX2)
IMBFAST_BLOCK_KERNELS(avx512, IMBFAST_TARGET_AVX512)
#undef IMBFAST_BLOCK_KERNELS

template <class L>
ScanFn<L> pick_scan() {
    return pick_by_isa(&scan_generic<L>, &scan_avx2<L>, &scan_avx512<L>);
}

template <class L>
GatherFn<L> pick_gather() {
    return pick_by_isa(&gather_generic<L>, &gather_avx2<L>, &gather_avx512<L>);
}

// Keeps, in place and in order, the `want` rows of rows[0..m) with the
// smallest keys (all keys are at most `bound`); returns want. The keys are
// uniform below the bound: a histogram of their top 16 bits finds the
// bucket holding the want-th smallest, and only that bucket is sorted.
std::int64_t trim_class(std::int64_t* rows, std::int64_t m, std::int64_t want, std::uint64_t bound,
                        std::uint64_t state, KeysAtFn keys_at) {
    int bits = 0;
    while (bits < 64 && (bound >> bits) != 0) ++bits;
    const int shift = bits > 16 ? bits - 16 : 0;
    std::vector<std::int64_t> hist(static_cast<std::size_t>((bound >> shift) + 1), 0);
    std::uint64_t kbuf[kBatch];
    for (std::int64_t i0 = 0; i0 < m; i0 += kBatch) {
        const std::int64_t mm = std::min(kBatch, m - i0);
        keys_at(state, rows + i0, mm, kbuf);
        for (std::int64_t j = 0; j < mm; ++j) {
            if (kbuf[j] > bound)
                throw std::invalid_argument("stratified_gather: bits and bound do not match the scan");
            ++hist[kbuf[j] >> shift];
        }
    }
    std::size_t bucket = 0;
    std::int64_t before = 0;
    while (before + hist[bucket] < want) before += hist[bucket++];
    std::vector<std::uint64_t> in_bucket;
    in_bucket.reserve(static_cast<std::size_t>(hist[bucket]));
    for (std::int64_t i0 = 0; i0 < m; i0 += kBatch) {
        const std::int64_t mm = std::min(kBatch, m - i0);
        keys_at(state, rows + i0, mm, kbuf);
        for (std::int64_t j = 0; j < mm; ++j)
            if ((kbuf[j] >> shift) == bucket) in_bucket.push_back(kbuf[j]);
    }
    const auto rank = static_cast<std::ptrdiff_t>(want - before - 1);
    std::nth_element(in_bucket.begin(), in_bucket.begin() + rank, in_bucket.end());
    const std::uint64_t cut = in_bucket[static_cast<std::size_t>(rank)];
    // Keys are distinct: exactly `want` are <= cut. Writes never pass reads.
    std::int64_t kept = 0;
    for (std::int64_t i0 = 0; i0 < m; i0 += kBatch) {
        const std::int64_t mm = std::min(kBatch, m - i0);
        keys_at(state, rows + i0, mm, kbuf);
        for (std::int64_t j = 0; j < mm; ++j) {
            rows[kept] = rows[i0 + j];
            kept += static_cast<std::int64_t>(kbuf[j] <= cut);
        }
    }
    return kept;
}

RowBuffer allocate_rows(std::int64_t count) {
    const std::size_t bytes =
        static_cast<std::size_t>(std::max<std::int64_t>(count, 1)) * sizeof(std::int64_t);
    void* p = nullptr;
#if defined(__linux__)
    // Touching fresh 4 KiB pages costs far more than writing them; 2 MiB
    // pages cut the faults 512-fold. The advice is only a hint.
    constexpr std::size_t kHuge = std::size_t{1} << 21;
    if (bytes >= 2 * kHuge) {
        if (posix_memalign(&p, kHuge, bytes) != 0) p = nullptr;
        if (p != nullptr) madvise(p, bytes, MADV_HUGEPAGE);
    } else {
        p = std::malloc(bytes);
    }
#else
    p = std::malloc(bytes);
#endif
    if (p == nullptr) throw std::bad_alloc();
    return RowBuffer(static_cast<std::int64_t*>(p));
}

}  // namespace

void FreeDeleter::operator()(std::int64_t* p) const noexcept { std::free(p); }

template <class L>
LabelScan stratified_scan(const L* y, std::int64_t n, std::int64_t lo,
                          const std::vector<std::uint64_t>& bound, std::uint64_t seed,
                          int n_threads, std::uint64_t* bits) {
    require(n >= 0 && (n == 0 || (y != nullptr && bits != nullptr)),
            "stratified_scan: bad label or bitmask buffer");
    const auto n_slots = static_cast<std::int64_t>(bound.size());
    require(n_slots > 0 && n_slots <= kMaxSlotBlocks,
            "stratified_scan: between 1 and 2^22 classes are needed");
    require(lo <= std::numeric_limits<std::int64_t>::max() - n_slots,
            "stratified_scan: label range overflows");
    const std::int64_t ways = n_slots <= 256 ? 4 : 1;
    LabelScan scan;
    scan.blocks = std::max<std::int64_t>(
        1, std::min(n_blocks(n, n_threads, 4), kMaxSlotBlocks / (ways * n_slots)));
    const auto cells = static_cast<std::size_t>(scan.blocks * n_slots);
    scan.counts.assign(cells, 0);
    scan.candidates.assign(cells, 0);
    const bool hash = std::any_of(bound.begin(), bound.end(), [](std::uint64_t b) { return b != kMaxKey; });
    const std::uint64_t state = key_state(seed);
    const ScanFn<L> scan_fn = pick_scan<L>();
    std::vector<LabelScan> outside(static_cast<std::size_t>(scan.blocks));
    parallel_for(scan.blocks, n_threads, 1, [&](std::int64_t b0, std::int64_t b1) {
        std::vector<std::int64_t> t(static_cast<std::size_t>(ways * 2 * n_slots));
        for (std::int64_t b = b0; b < b1; ++b) {
            std::fill(t.begin(), t.end(), std::int64_t{0});
            scan_fn(y, block_begin(n, scan.blocks, b), block_begin(n, scan.blocks, b + 1), lo,
                    n_slots, bound.data(), hash, state, ways, t.data(), bits,
                    outside[static_cast<std::size_t>(b)]);
            for (std::int64_t s = 0; s < n_slots; ++s) {
                std::int64_t rows = 0, cand = 0;
                for (std::int64_t w = 0; w < ways; ++w) {
                    rows += t[static_cast<std::size_t>((w * n_slots + s) * 2)];
                    cand += t[static_cast<std::size_t>((w * n_slots + s) * 2 + 1)];
                }
                scan.counts[static_cast<std::size_t>(b * n_slots + s)] = rows;
                scan.candidates[static_cast<std::size_t>(b * n_slots + s)] = cand;
            }
        }
    });
    for (const auto& o : outside) {
        if (o.outside == 0) continue;
        scan.outside_min = scan.outside ? std::min(scan.outside_min, o.outside_min) : o.outside_min;
        scan.outside_max = scan.outside ? std::max(scan.outside_max, o.outside_max) : o.outside_max;
        scan.outside += o.outside;
    }
    return scan;
}

template <class L>
void stratified_gather(const L* y, std::int64_t n, std::int64_t lo,
                       const std::vector<std::int64_t>& want,
                       const std::vector<std::uint64_t>& bound, std::int64_t blocks,
                       const std::vector<std::int64_t>& counts,
                       const std::vector<std::int64_t>& candidates, const std::uint64_t* bits,
                       std::uint64_t seed, int n_threads, RowBuffer& out, std::int64_t& n_out,
                       std::vector<std::int64_t>& sizes) {
    require(n >= 0 && (n == 0 || (y != nullptr && bits != nullptr)),
            "stratified_gather: bad label or bitmask buffer");
    const auto n_slots = static_cast<std::int64_t>(want.size());
    require(n_slots > 0 && n_slots <= kMaxSlotBlocks && bound.size() == want.size(),
            "stratified_gather: want and bound need one entry per class");
    require(lo <= std::numeric_limits<std::int64_t>::max() - n_slots,
            "stratified_gather: label range overflows");
    require(blocks >= 1 && blocks <= std::max<std::int64_t>(n, 1) &&
                blocks <= kMaxSlotBlocks / n_slots &&
                counts.size() == static_cast<std::size_t>(blocks * n_slots) &&
                candidates.size() == counts.size(),
            "stratified_gather: counts and candidates must be a scan of these labels");
    // take[b * n_slots + s]: rows block b gives class s.
    std::vector<std::int64_t> take(counts.size());
    std::vector<std::int64_t> total(want.size(), 0);
    std::vector<std::uint8_t> rule(want.size());  // 0 none, 1 all, 2 the candidates
    std::int64_t rows_seen = 0;
    for (std::int64_t s = 0; s < n_slots; ++s) {
        const std::int64_t w = want[s];
        require(w >= -1, "stratified_gather: want must be -1, 0 or a positive count");
        rule[s] = w == -1 ? 1 : (w == 0 ? 0 : 2);
        std::int64_t rows = 0;
        for (std::int64_t b = 0; b < blocks; ++b) {
            const auto i = static_cast<std::size_t>(b * n_slots + s);
            require(counts[i] >= 0 && candidates[i] >= 0 && candidates[i] <= counts[i] &&
                        counts[i] <= n - rows_seen,
                    "stratified_gather: counts and candidates must be a scan of these labels");
            rows_seen += counts[i];
            rows += counts[i];
            take[i] = w == -1 ? counts[i] : (w == 0 ? 0 : candidates[i]);
            total[s] += take[i];
        }
        const std::int64_t label = lo + s;
        require(w <= rows, "stratified_gather: class " + std::to_string(label) + " has " +
                               std::to_string(rows) + " rows, " + std::to_string(w) +
                               " requested");
        require(w <= total[s] || w == -1,
                "stratified_gather: class " + std::to_string(label) + " has only " +
                    std::to_string(total[s]) + " candidates under its bound, " +
                    std::to_string(w) + " requested");
    }
    require(rows_seen == n, "stratified_gather: counts and candidates must be a scan of these labels");
    // Class s goes to [start[s], start[s + 1]), block by block.
    std::vector<std::int64_t> start(want.size() + 1, 0);
    for (std::int64_t s = 0; s < n_slots; ++s) start[s + 1] = start[s] + total[s];
    std::vector<std::int64_t> pos(counts.size()), lim(counts.size());
    for (std::int64_t s = 0; s < n_slots; ++s) {
        std::int64_t p = start[s];
        for (std::int64_t b = 0; b < blocks; ++b) {
            const auto i = static_cast<std::size_t>(b * n_slots + s);
            pos[i] = p;
            p += take[i];
            lim[i] = p;
        }
    }
    // Uninitialised on purpose: the gather writes every entry, in parallel.
    out = allocate_rows(start[want.size()]);
    const GatherFn<L> gather_fn = pick_gather<L>();
    parallel_for(blocks, n_threads, 1, [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t b = b0; b < b1; ++b) {
            const auto i = static_cast<std::size_t>(b * n_slots);
            gather_fn(y, block_begin(n, blocks, b), block_begin(n, blocks, b + 1), lo, n_slots,
                      rule.data(), bits, pos.data() + i, lim.data() + i, out.get());
            for (std::int64_t s = 0; s < n_slots; ++s)
                if (pos[i + s] != lim[i + s])
                    throw std::invalid_argument("stratified_gather: the labels do not match the scan");
        }
    });
    // Per selected class, keep the want smallest keys among its candidates
    // (few more: the bound sits a little above the quota); then close the
    // gaps between classes.
    sizes = total;
    const KeysAtFn keys_at = pick_keys_at();
    const std::uint64_t state = key_state(seed);
    std::vector<std::int64_t> trimmed;
    for (std::int64_t s = 0; s < n_slots; ++s)
        if (want[s] > 0 && total[s] > want[s]) trimmed.push_back(s);
    parallel_for(static_cast<std::int64_t>(trimmed.size()), n_threads, 1,
                 [&](std::int64_t c0, std::int64_t c1) {
                     for (std::int64_t c = c0; c < c1; ++c) {
                         const std::int64_t s = trimmed[static_cast<std::size_t>(c)];
                         sizes[s] = trim_class(out.get() + start[s], total[s], want[s],
                                               bound[s], state, keys_at);
                     }
                 });
    std::int64_t write = 0;
    for (std::int64_t s = 0; s < n_slots; ++s) {
        if (write != start[s] && sizes[s] > 0)
            std::memmove(out.get() + write, out.get() + start[s],
                         static_cast<std::size_t>(sizes[s]) * sizeof(std::int64_t));
        write += sizes[s];
    }
    n_out = write;
}

#define IMBFAST_INSTANTIATE(L)                                                                  \
    template void StratifiedSelector::add<L>(const L*, std::int64_t, std::int64_t, int);        \
    template LabelScan stratified_scan<L>(const L*, std::int64_t, std::int64_t,                 \
                                          const std::vector<std::uint64_t>&, std::uint64_t, int, \
                                          std::uint64_t*);                                        \
    template void stratified_gather<L>(                                                         \
        const L*, std::int64_t, std::int64_t, const std::vector<std::int64_t>&,                 \
        const std::vector<std::uint64_t>&, std::int64_t, const std::vector<std::int64_t>&,      \
        const std::vector<std::int64_t>&, const std::uint64_t*, std::uint64_t, int, RowBuffer&, \
        std::int64_t&,                                                                          \
        std::vector<std::int64_t>&);

IMBFAST_INSTANTIATE(std::int32_t)
IMBFAST_INSTANTIATE(std::int64_t)

#undef IMBFAST_INSTANTIATE

}  // namespace imbfast
