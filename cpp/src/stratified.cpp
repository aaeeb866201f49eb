#include "imbfast/stratified.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

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
    switch (active_isa()) {
        case Isa::avx512:
            return &keys_avx512;
        case Isa::avx2:
            return &keys_avx2;
        default:
            return &keys_generic;
    }
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

// Splits [0, n) into `blocks` consecutive ranges.
std::int64_t block_begin(std::int64_t n, std::int64_t blocks, std::int64_t b) {
    return static_cast<std::int64_t>(static_cast<long double>(n) * b / blocks);
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
    for (std::int64_t j = 0; j < n; ++j) {
        if (rows[j] < 0) throw std::out_of_range("row_keys_at: negative row " + std::to_string(rows[j]));
        out[j] = row_key(state, rows[j]);
    }
}

template <class L>
std::pair<std::int64_t, std::int64_t> label_range(const L* y, std::int64_t n, int n_threads) {
    require(n > 0 && y != nullptr, "label_range: needs at least one label");
    const std::int64_t blocks = n_blocks(n, n_threads, 1);
    std::vector<std::int64_t> lo(blocks), hi(blocks);
    parallel_for(blocks, n_threads, 1, [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t b = b0; b < b1; ++b) {
            const std::int64_t begin = block_begin(n, blocks, b), end = block_begin(n, blocks, b + 1);
            L mn = y[begin], mx = y[begin];
            for (std::int64_t i = begin; i < end; ++i) {
                mn = std::min(mn, y[i]);
                mx = std::max(mx, y[i]);
            }
            lo[b] = static_cast<std::int64_t>(mn);
            hi[b] = static_cast<std::int64_t>(mx);
        }
    });
    return {*std::min_element(lo.begin(), lo.end()), *std::max_element(hi.begin(), hi.end())};
}

template <class L>
void label_counts(const L* y, std::int64_t n, std::int64_t lo, std::int64_t n_slots,
                  std::int64_t* counts, int n_threads) {
    require(n >= 0 && n_slots > 0, "label_counts: sizes must be positive");
    require(counts != nullptr && (n == 0 || y != nullptr), "label_counts: null buffer");
    std::fill(counts, counts + n_slots, std::int64_t{0});
    if (n == 0) return;
    std::int64_t blocks = n_blocks(n, n_threads, 1);
    blocks = std::max<std::int64_t>(1, std::min(blocks, kMaxSlotBlocks / (4 * n_slots)));
    std::vector<std::vector<std::int64_t>> local(blocks);
    parallel_for(blocks, n_threads, 1, [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t b = b0; b < b1; ++b) {
            // Four interleaved tables: consecutive rows of one class do not
            // wait on each other's increments.
            std::vector<std::int64_t> c(static_cast<std::size_t>(4 * n_slots), 0);
            const std::int64_t begin = block_begin(n, blocks, b), end = block_begin(n, blocks, b + 1);
            for (std::int64_t i = begin; i < end; ++i) {
                const std::uint64_t s =
                    static_cast<std::uint64_t>(static_cast<std::int64_t>(y[i])) -
                    static_cast<std::uint64_t>(lo);
                if (s >= static_cast<std::uint64_t>(n_slots)) bad_label(y[i], lo, n_slots);
                ++c[static_cast<std::size_t>((i & 3) * n_slots) + s];
            }
            for (std::int64_t s = 0; s < n_slots; ++s)
                c[s] += c[n_slots + s] + c[2 * n_slots + s] + c[3 * n_slots + s];
            c.resize(static_cast<std::size_t>(n_slots));
            local[b] = std::move(c);
        }
    });
    for (const auto& c : local)
        for (std::int64_t s = 0; s < n_slots; ++s) counts[s] += c[s];
}

std::vector<std::int64_t> replacement_profile(std::uint64_t seed, std::int64_t label,
                                              std::int64_t n_class, std::int64_t n_draws) {
    require(n_class >= 0 && n_draws >= 0, "replacement_profile: sizes must be non-negative");
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

// Per block and class: how many candidates (pass 1), or where the next one
// goes (pass 2). Rows are taken when their class is kept whole, or selected
// and their key is at most the class's threshold.
template <class L, bool Write>
void select_pass(const L* y, std::int64_t n, std::int64_t lo, std::int64_t n_slots,
                 const std::uint8_t* mode, const std::uint64_t* thr, std::uint64_t state,
                 bool hash, std::int64_t blocks, std::vector<std::int64_t>& slot_pos,
                 std::int64_t* out, int n_threads) {
    const KeysFn keys_fn = pick_keys();
    // Branch-free test per row: take = on[s] & (key <= bound[s]); a class
    // kept whole has bound = max, a skipped one on = 0.
    std::vector<std::uint64_t> bound(static_cast<std::size_t>(n_slots));
    std::vector<std::int64_t> on(static_cast<std::size_t>(n_slots));
    for (std::int64_t s = 0; s < n_slots; ++s) {
        on[s] = mode[s] != StratifiedSelector::skip;
        bound[s] = mode[s] == StratifiedSelector::select ? thr[s] : kMaxKey;
    }
    parallel_for(blocks, n_threads, 1, [&](std::int64_t b0, std::int64_t b1) {
        std::uint64_t kbuf[kBatch] = {};
        std::int64_t scratch = 0;
        const std::uint64_t* __restrict bnd = bound.data();
        const std::int64_t* __restrict use = on.data();
        for (std::int64_t b = b0; b < b1; ++b) {
            std::int64_t* __restrict pos = slot_pos.data() + b * n_slots;
            // Pass 1 counts into four interleaved tables: consecutive rows of
            // one class then do not wait on each other's increments.
            std::vector<std::int64_t> cnt(Write ? 0 : static_cast<std::size_t>(4 * n_slots), 0);
            std::int64_t* __restrict c = cnt.data();
            std::int64_t* __restrict dst_base = out;
            const std::int64_t begin = block_begin(n, blocks, b), end = block_begin(n, blocks, b + 1);
            for (std::int64_t i0 = begin; i0 < end; i0 += kBatch) {
                const std::int64_t m = std::min(kBatch, end - i0);
                if (hash) keys_fn(state, i0, m, kbuf);
                const L* __restrict yb = y + i0;
                for (std::int64_t j = 0; j < m; ++j) {
                    const std::uint64_t s =
                        static_cast<std::uint64_t>(static_cast<std::int64_t>(yb[j])) -
                        static_cast<std::uint64_t>(lo);
                    if (s >= static_cast<std::uint64_t>(n_slots)) bad_label(yb[j], lo, n_slots);
                    const std::int64_t take = use[s] & static_cast<std::int64_t>(kbuf[j] <= bnd[s]);
                    if constexpr (Write) {
                        std::int64_t* dst = take ? dst_base + pos[s] : &scratch;
                        *dst = i0 + j;
                        pos[s] += take;
                    } else {
                        c[static_cast<std::size_t>((j & 3) * n_slots) + s] += take;
                    }
                }
            }
            if constexpr (!Write) {
                for (std::int64_t s = 0; s < n_slots; ++s)
                    pos[s] = c[s] + c[n_slots + s] + c[2 * n_slots + s] + c[3 * n_slots + s];
            }
        }
    });
}

// Largest `keep` keys of rows[0..m) for `state`, as a min-heap.
std::vector<std::uint64_t> largest_keys(const std::int64_t* rows, std::int64_t m,
                                        std::size_t keep, std::uint64_t state) {
    std::vector<std::uint64_t> heap;
    heap.reserve(keep);
    const auto greater = std::greater<std::uint64_t>();
    for (std::int64_t i = 0; i < m; ++i) {
        const std::uint64_t k = row_key(state, rows[i]);
        if (heap.size() < keep) {
            heap.push_back(k);
            std::push_heap(heap.begin(), heap.end(), greater);
        } else if (k > heap.front()) {
            std::pop_heap(heap.begin(), heap.end(), greater);
            heap.back() = k;
            std::push_heap(heap.begin(), heap.end(), greater);
        }
    }
    return heap;
}

}  // namespace

template <class L>
void stratified_select(const L* y, std::int64_t n, std::int64_t lo,
                       const std::vector<std::int64_t>& want,
                       const std::vector<std::int64_t>& counts, std::uint64_t seed,
                       double sigmas, int n_threads, std::vector<std::int64_t>& rows,
                       std::vector<std::int64_t>& sizes) {
    std::unique_ptr<std::int64_t[]> buffer;
    std::int64_t total = 0;
    stratified_select_into(y, n, lo, want, counts, seed, sigmas, n_threads, buffer, total, sizes);
    rows.assign(buffer.get(), buffer.get() + total);
}

template <class L>
void stratified_select_into(const L* y, std::int64_t n, std::int64_t lo,
                            const std::vector<std::int64_t>& want,
                            const std::vector<std::int64_t>& counts, std::uint64_t seed,
                            double sigmas, int n_threads, std::unique_ptr<std::int64_t[]>& out,
                            std::int64_t& n_out, std::vector<std::int64_t>& sizes) {
    require(n >= 0 && (n == 0 || y != nullptr), "stratified_select: bad label buffer");
    require(!want.empty() && want.size() == counts.size(),
            "stratified_select: want and counts must have one entry per class");
    const auto n_slots = static_cast<std::int64_t>(want.size());
    require(n_slots <= kMaxSlotBlocks, "stratified_select: too many classes");
    std::vector<std::uint8_t> mode(want.size());
    std::vector<std::uint64_t> thr(want.size(), kMaxKey);
    std::int64_t total_counts = 0;
    bool hash = false;
    for (std::size_t s = 0; s < want.size(); ++s) {
        const std::int64_t label = lo + static_cast<std::int64_t>(s);
        require(counts[s] >= 0, "stratified_select: counts must be non-negative");
        require(want[s] >= -1, "stratified_select: want must be -1, 0 or a positive count");
        require(want[s] <= counts[s], "stratified_select: class " + std::to_string(label) +
                                          " has " + std::to_string(counts[s]) + " rows, " +
                                          std::to_string(want[s]) + " requested");
        total_counts += counts[s];
        // A class taken whole needs no keys.
        if (want[s] == -1 || (want[s] > 0 && want[s] == counts[s])) {
            mode[s] = StratifiedSelector::keep_all;
        } else if (want[s] == 0) {
            mode[s] = StratifiedSelector::skip;
        } else {
            mode[s] = StratifiedSelector::select;
            thr[s] = key_threshold(want[s], counts[s], sigmas);
            hash = true;
        }
    }
    require(total_counts == n, "stratified_select: counts do not add up to the number of labels");
    const std::uint64_t state = key_state(seed);
    std::int64_t blocks = n_blocks(n, n_threads, 4);
    blocks = std::max<std::int64_t>(1, std::min(blocks, kMaxSlotBlocks / (4 * n_slots)));
    std::vector<std::int64_t> pos(static_cast<std::size_t>(blocks * n_slots), 0);
    std::vector<std::int64_t> cand(want.size(), 0);

    for (;;) {
        select_pass<L, false>(y, n, lo, n_slots, mode.data(), thr.data(), state, hash, blocks, pos,
                              nullptr, n_threads);
        std::fill(cand.begin(), cand.end(), 0);
        for (std::int64_t b = 0; b < blocks; ++b)
            for (std::int64_t s = 0; s < n_slots; ++s) cand[s] += pos[b * n_slots + s];
        bool short_any = false;
        for (std::size_t s = 0; s < want.size(); ++s) {
            if (mode[s] == StratifiedSelector::select && cand[s] < want[s]) {
                // The bound was too tight for this class (rare): redo without it.
                require(thr[s] != kMaxKey, "stratified_select: counts do not match the labels");
                thr[s] = kMaxKey;
                short_any = true;
            } else if (mode[s] == StratifiedSelector::keep_all) {
                require(cand[s] == counts[s], "stratified_select: counts do not match the labels");
            }
        }
        if (!short_any) break;
    }

    // Candidates of class s go to [start[s], start[s] + cand[s]), block by block.
    std::vector<std::int64_t> start(want.size() + 1, 0);
    for (std::int64_t s = 0; s < n_slots; ++s) start[s + 1] = start[s] + cand[s];
    for (std::int64_t s = 0; s < n_slots; ++s) {
        std::int64_t p = start[s];
        for (std::int64_t b = 0; b < blocks; ++b) {
            const std::int64_t c = pos[b * n_slots + s];
            pos[b * n_slots + s] = p;
            p += c;
        }
    }
    const std::int64_t n_cand = start[want.size()];
    // Uninitialised on purpose: pass 2 writes every entry, in parallel.
    out.reset(new std::int64_t[static_cast<std::size_t>(std::max<std::int64_t>(n_cand, 1))]);
    select_pass<L, true>(y, n, lo, n_slots, mode.data(), thr.data(), state, hash, blocks, pos,
                         out.get(), n_threads);

    // Per selected class, drop the candidates above the want-th smallest key
    // (few: the threshold sits a few standard deviations above the quota),
    // keeping row order; then close the gaps between classes.
    sizes.assign(want.size(), 0);
    std::int64_t write = 0;
    for (std::size_t s = 0; s < want.size(); ++s) {
        std::int64_t* region = out.get() + start[s];
        std::int64_t m = cand[s];
        if (mode[s] == StratifiedSelector::select && m > want[s]) {
            const auto excess = static_cast<std::size_t>(m - want[s]);
            // The (excess + 1)-th largest key is the want-th smallest.
            const std::uint64_t cut = largest_keys(region, m, excess + 1, state).front();
            std::int64_t kept = 0;
            for (std::int64_t i = 0; i < m; ++i)
                if (row_key(state, region[i]) <= cut) out[write + kept++] = region[i];
            m = kept;
        } else if (write != start[s]) {
            std::memmove(out.get() + write, region, static_cast<std::size_t>(m) * sizeof(std::int64_t));
        }
        sizes[s] = m;
        write += m;
    }
    n_out = write;
}

#define IMBFAST_INSTANTIATE(L)                                                                 \
    template std::pair<std::int64_t, std::int64_t> label_range<L>(const L*, std::int64_t, int); \
    template void label_counts<L>(const L*, std::int64_t, std::int64_t, std::int64_t,           \
                                  std::int64_t*, int);                                         \
    template void StratifiedSelector::add<L>(const L*, std::int64_t, std::int64_t, int);       \
    template void stratified_select<L>(const L*, std::int64_t, std::int64_t,                   \
                                       const std::vector<std::int64_t>&,                       \
                                       const std::vector<std::int64_t>&, std::uint64_t, double, \
                                       int, std::vector<std::int64_t>&,                        \
                                       std::vector<std::int64_t>&);                            \
    template void stratified_select_into<L>(                                                   \
        const L*, std::int64_t, std::int64_t, const std::vector<std::int64_t>&,                \
        const std::vector<std::int64_t>&, std::uint64_t, double, int,                          \
        std::unique_ptr<std::int64_t[]>&, std::int64_t&, std::vector<std::int64_t>&);

IMBFAST_INSTANTIATE(std::int32_t)
IMBFAST_INSTANTIATE(std::int64_t)

#undef IMBFAST_INSTANTIATE

}  // namespace imbfast
