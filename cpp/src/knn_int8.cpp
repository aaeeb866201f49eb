// Int8 filter pass of the exact query search (see fused_knn in knn.hpp).
//
// Quantization. Every row x of X and Q is centred on c (the float32 pass's
// centre) and rounded on ONE grid of step s = max|x - c| / 127, so
// Euclidean geometry is kept up to the rounding: q_x = round((x - c) / s),
// an int8 vector, with residual e_x = (x - c) - s q_x, whose norm is bounded
// above by r_x (computed in double and rounded up, see quantize_row). By the
// triangle inequality, for every pair
//     s ||q_x - q_y|| - r_x - r_y  <=  ||x - y||  <=  s ||q_x - q_y|| + r_x + r_y.
// The quantized squared distance D(x, y) = ||q_x - q_y||^2 is an integer,
// computed EXACTLY in int32 by VPDPBUSD (unsigned x signed bytes): database
// rows are stored as q_y + 128 (unsigned), queries as q_x (signed), and the
// accumulator starts at -ceil(|q_y|^2 / 2), so it ends at
//     acc = <q_x, q_y> + 128 sum(q_x) - ceil(|q_y|^2 / 2),
// from which D = |q_x|^2 + |q_y|^2 - 2 <q_x, q_y> follows exactly.
//
// The window. For each query, the pass keeps the k smallest D seen so far
// (D_k) and collects every row with D <= W, a window that provably holds
// every row that can be among the k nearest, ties included. The k rows
// behind D_k are at true distance at most rho = s sqrt(D_k) + r_x + r_max
// (r_max: the largest residual of X), so the k-th nearest distance is at
// most rho; with a bound `within`, only rows with squared distance <=
// within count. Let R = min(rho, sqrt(within)), widened by the relative
// error of the double distances the answer is ranked by. A row with
// s sqrt(D) - r_x - r_max > R is farther than R: it can be neither among
// the k nearest nor tie with the k-th. So W = floor(((R + r_x + r_max) / s)^2),
// rounded up, suffices, and as D_k only decreases, a row rejected by an
// earlier (larger) window is rejected by the final one too. At the end the
// collected rows within the final window are ranked by their exact double
// distances, ties by lower index (TopK): the exact answer, bit for bit,
// with no proof that can fail. A query whose window holds too many rows
// (many ties or duplicates, a grid too coarse for its neighbours) keeps
// only the nearest of them (see compact) and, if its final window needs
// more, is answered by the float32 pass instead.
//
// The tile: 12 query rows x 2 panels of 16 database rows, 24 512-bit int32
// accumulators, one VPDPBUSD per 4 coordinates and 16 rows (five for
// d = 20, against 22 float32 FMAs per 8 rows in the float32 pass). A
// query's filter compares acc with one integer threshold derived from W
// (see set_window); a tile with no hit costs 24 compares.
//
// Lattice mode. Lattice data (see exact_lattice in knn_fused.cpp: every
// value a multiple of one power-of-two unit) within 127 units of their
// lattice centre are their own int8 values: on the grid of that unit there
// is no rounding (r_x = 0) and D is the exact squared distance in units. The
// pass then needs no window: it keeps each query's k smallest (D, row),
// offering rows in increasing order and only a D strictly below the k-th,
// so ties go to the lower index however many there are (the seed sweep
// over every panel, with rows). It serves X itself too, each query
// skipping its own row.
#include "knn_int8.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "imbfast/dispatch.hpp"
#include "imbfast/parallel.hpp"
#include "knn_internal.hpp"

#if defined(IMBFAST_HAVE_X86_DISPATCH)
#include <immintrin.h>
#endif

namespace imbfast {
namespace knn_detail {

namespace {

constexpr int kPanel = 16;                   // database rows per panel (16 int32 lanes)
constexpr int kMR = 12;                      // query rows per tile
constexpr int kNP = 2;                       // panels per tile
constexpr std::int64_t kRowAlign = kPanel * kNP;
constexpr std::int64_t kMaxDim = 4096;       // keeps every int32 value far from overflow
constexpr std::int64_t kMaxK = 256;          // larger k: the float32 pass
// The probe's sample: 1/32 of the queries, 64 to 256 (a probe that says no
// costs its queries' int8 search and the int8 copy of X, a few per cent).
constexpr std::int64_t kProbeMin = 64, kProbeMax = 256, kProbeShare = 32;
// Below this much work (pairs x features) the float32 pass is kept: the
// probe and the int8 copy would not pay.
constexpr double kMinWork = 268435456.0;  // 2^28
// The lattice mode's set-up (the int8 copy of X) costs what the float32
// pass's does; from about 2^22 pairs x features the mode is as fast or
// faster (`benchmarks/int8_filter.py --lattice`, counts d = 9 and flags
// d = 24, all pairs and 1/10 of the rows as queries, 300 to 30k rows, CPU
// time on one thread: 0.97-1.26x below 2^22, 0.98-1.89x up to 2^28,
// 1.2-2.3x above).
constexpr double kLatticeMinWork = 4194304.0;  // 2^22
// Filter thresholds: acc > thr passes. Real rows always have
// |acc| <= 40450 d < 2^28 for d <= kMaxDim (see the header comment), so a
// threshold clamped up to kFloor still lets every row pass, padding rows
// (accumulator start kPadStart, |change| <= 128 * 127 * d < 2^26) never do,
// and kStop stops a query (padding queries).
constexpr std::int32_t kFloor = -(std::int32_t{1} << 29);
constexpr std::int32_t kPadStart = -(std::int32_t{1} << 29) - (std::int32_t{1} << 27);
constexpr std::int32_t kStop = std::int32_t{1} << 30;
constexpr std::int32_t kNever = std::numeric_limits<std::int32_t>::max();  // an empty D slot
// Relative slack for every rounding of the bound: the double distances the
// answer is ranked by have relative error <= (d + 3) 2^-53 < 2^-40 for
// d <= kMaxDim, the bound's own few double operations less still; 2^-30 at
// each step covers both with a wide margin and costs nothing measurable.
constexpr double kUp = 1.0 + 1.0 / 1073741824.0;
constexpr double kInf = std::numeric_limits<double>::infinity();

std::int64_t round_up(std::int64_t v, std::int64_t m) { return (v + m - 1) / m * m; }

// floor(v / 2) for any int64 v.
std::int64_t floor_half(std::int64_t v) { return v >= 0 ? v / 2 : -((1 - v) / 2); }

// 64-byte aligned int32 storage (panel loads never split cache lines).
class AlignedWords {
   public:
    void assign(std::size_t size, std::int32_t value) {
        storage_.assign(size + 16, value);
        const auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
        data_ = storage_.data() + ((64 - addr % 64) % 64) / sizeof(std::int32_t);
    }
    std::int32_t* data() { return data_; }
    const std::int32_t* data() const { return data_; }

   private:
    std::vector<std::int32_t> storage_;
    std::int32_t* data_ = nullptr;
};

// The grid: x -> round((x - centre) / scale), clamped to [-127, 127].
struct Grid {
    const std::vector<double>* centre = nullptr;
    double scale = 1.0, inv = 1.0, max_abs = 0.0;
};

// x rounded to the nearest integer, ties to even (std::nearbyint under the
// default rounding mode) for |x| < 2^51: adding and subtracting 1.5 2^52
// leaves no fraction bits. std::nearbyint is a libm call on baseline x86-64
// (no SSE4.1 roundsd): quantize_row was 2.6% of NearMiss-1's search, 1.3 ms
// of packing its 10.4k x 20 minority rows. (Clamping to [-127, 127] first
// gives the same integers.)
IMBFAST_INLINE double round_even(double x) {
    constexpr double kShift = 0x1.8p52;
    return (x + kShift) - kShift;
}

// Quantizes one row into q (d bytes) and returns an upper bound of its
// residual norm ||(x - c) - s q||. The computed residual coordinate
// e' = fl(fl(x - c) - fl(s a)) differs from the true one by at most
// u (|x - c| + |s a| + |e'|) <= 4 u max_abs (u = 2^-53; |s a| <= max_abs + s),
// so the true norm is at most ||e'|| + sqrt(d) 4 u max_abs, and the computed
// ||e'|| is within (d + 2) u of its value: kUp and d max_abs 2^-50 cover both.
template <class T>
double quantize_row(const T* x, std::int64_t d, const Grid& g, std::int8_t* q,
                    std::int64_t& norm, std::int64_t& sum) {
    // Locals throughout: q's byte stores may alias anything, so through the
    // references and g the compiler reloaded and stored every one of them
    // per value.
    const double* c = g.centre->data();
    const double inv = g.inv, scale = g.scale;
    double e2 = 0.0;
    std::int64_t n2 = 0, total = 0;
    for (std::int64_t j = 0; j < d; ++j) {
        const double v = static_cast<double>(x[j]) - c[j];
        const double a = round_even(std::clamp(v * inv, -127.0, 127.0));
        const double e = v - scale * a;
        e2 += e * e;
        const auto qi = static_cast<std::int32_t>(a);
        q[j] = static_cast<std::int8_t>(qi);
        n2 += qi * qi;
        total += qi;
    }
    norm = n2;
    sum = total;
    return std::sqrt(e2) * kUp + g.max_abs * static_cast<double>(d + 1) * 0x1p-50;
}

// Rows are quantized in cell order, scattered over X: each loads the row
// kAhead places ahead (one row's quantization is too short to hide a
// cache miss).
constexpr std::int64_t kAhead = 8;
template <class T>
IMBFAST_INLINE void prefetch_row(const T* row, std::int64_t d) {
    const auto* bytes = reinterpret_cast<const char*>(row);
    const std::int64_t n_bytes = d * static_cast<std::int64_t>(sizeof(T));
    for (std::int64_t off = 0; off < n_bytes; off += 64) IMBFAST_PREFETCH(bytes + off);
    IMBFAST_PREFETCH(bytes + n_bytes - 1);
}

// Four bytes as one int32 word, in memory order (both sides use the same
// order, so VPDPBUSD pairs byte i of a row with byte i of a query).
std::int32_t word_of(const std::uint8_t* b) {
    std::int32_t w;
    std::memcpy(&w, b, sizeof w);
    return w;
}

// The database: panels of 16 rows, each `words` words per row stored
// transposed ([words][16]) and then the 16 accumulator starts.
struct Rows {
    std::int64_t n = 0, n_pad = 0, words = 0, stride = 0;  // stride: words per panel
    AlignedWords panels;
    std::vector<std::int32_t> norm;  // |q_y|^2
    double r_max = 0.0;              // the largest residual bound
    // The row of X at each position (n_pad of them, padding -1): X is
    // packed in this order, cell by cell when there are cells (see Cells),
    // and the search collects and reports rows, not positions.
    std::vector<std::int32_t> ids;
};

// Packs X in the order R.ids (rows in increasing order when R.ids is
// empty).
template <class T>
void pack_rows(const T* X, std::int64_t n, std::int64_t d, const Grid& g, int n_workers,
               Rows& R) {
    R.n = n;
    R.words = (d + 3) / 4;
    R.stride = (R.words + 1) * kPanel;
    R.n_pad = round_up(std::max<std::int64_t>(n, 1), kRowAlign);
    if (R.ids.empty()) {
        R.ids.resize(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i)
            R.ids[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i);
    }
    R.ids.resize(static_cast<std::size_t>(R.n_pad), -1);
    R.panels.assign(static_cast<std::size_t>(R.n_pad / kPanel * R.stride), 0);
    R.norm.assign(static_cast<std::size_t>(R.n_pad), 0);
    std::mutex mutex;
    double r_max = 0.0;
    // (About 16 cycles' worth per value: rounding, the residual, the packing
    // and a cache miss per scattered row. Measured 1.3 ms for NearMiss-1's
    // 10.4k x 20 minority rows, which 8 per value kept on one thread.)
    parallel_for(R.n_pad, n_workers, grain_for(16 * d), [&](std::int64_t begin, std::int64_t end) {
        std::vector<std::int8_t> q(static_cast<std::size_t>(R.words * 4), 0);
        std::vector<std::uint8_t> u(q.size());
        double most = 0.0;
        for (std::int64_t i = begin; i < end; ++i) {
            std::int32_t* P = R.panels.data() + (i / kPanel) * R.stride + i % kPanel;
            std::int64_t norm = 0, sum = 0;
            std::fill(q.begin(), q.end(), std::int8_t{0});
            if (i + kAhead < n) prefetch_row(X + std::int64_t{R.ids[static_cast<std::size_t>(i + kAhead)]} * d, d);
            if (i < n) {
                const std::int64_t row = R.ids[static_cast<std::size_t>(i)];
                most = std::max(most, quantize_row(X + row * d, d, g, q.data(), norm, sum));
            }
            for (std::size_t j = 0; j < q.size(); ++j)
                u[j] = static_cast<std::uint8_t>(q[j] + 128);
            for (std::int64_t w = 0; w < R.words; ++w) P[w * kPanel] = word_of(u.data() + 4 * w);
            P[R.words * kPanel] =
                i < n ? -static_cast<std::int32_t>((norm + 1) / 2) : kPadStart;
            R.norm[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(norm);
        }
        std::lock_guard<std::mutex> lock(mutex);
        r_max = std::max(r_max, most);
    });
    R.r_max = r_max;
}

// Cells (see "Seeding"). Each row of X and each query goes to the nearest of
// C rows of X spread evenly over it (by float32 distance: only the search's
// speed depends on the choice, never its answer), X is packed cell by cell,
// and the queries are searched cell by cell, so a block of queries seeds its
// k smallest D from the rows of its own cell, the rows most likely nearest.
constexpr std::int64_t kCellRows = 256;  // rows per cell, at least
constexpr int kMaxCells = 32;
constexpr std::int64_t kMinCells = 4;  // fewer: the strided seed sample

struct Cells {
    std::int64_t count = 0, d = 0;
    std::vector<float> centre_t;      // d x kMaxCells, transposed
    std::vector<float> half_norm;     // |c|^2 / 2 per cell (padding: +inf)
    std::vector<std::int64_t> begin;  // first position of each cell in the packed X, and n
};

// A value on the grid's scale, (x - centre) / s: within [-127, 127] for
// every row of X, so float holds it (queries may lie farther: clamped).
template <class T>
IMBFAST_INLINE float on_grid(T x, std::int64_t t, const Grid& g) {
    const double v = (static_cast<double>(x) - (*g.centre)[static_cast<std::size_t>(t)]) * g.inv;
    return static_cast<float>(std::clamp(v, -1e30, 1e30));
}

// The nearest cell's index: argmin over the cells of |c|^2 / 2 - <x, c>
// (on the grid's scale).
template <class T>
std::int32_t nearest_cell_generic(const T* x, const Grid& g, const Cells& c) {
    std::array<float, kMaxCells> score{};
    std::copy(c.half_norm.begin(), c.half_norm.end(), score.begin());
    for (std::int64_t t = 0; t < c.d; ++t) {
        const float v = on_grid(x[t], t, g);
        const float* ct = c.centre_t.data() + t * kMaxCells;
        for (std::size_t j = 0; j < kMaxCells; ++j) score[j] -= v * ct[j];
    }
    return static_cast<std::int32_t>(std::min_element(score.begin(), score.end()) - score.begin());
}

#if defined(IMBFAST_HAVE_X86_DISPATCH)
static_assert(kMaxCells == 32, "two 16-lane vectors of cells");
template <class T>
IMBFAST_TARGET_AVX512 std::int32_t nearest_cell_avx512(const T* x, const Grid& g, const Cells& c) {
    __m512 s0 = _mm512_loadu_ps(c.half_norm.data());
    __m512 s1 = _mm512_loadu_ps(c.half_norm.data() + 16);
    const float* ct = c.centre_t.data();
    for (std::int64_t t = 0; t < c.d; ++t, ct += kMaxCells) {
        const __m512 v = _mm512_set1_ps(on_grid(x[t], t, g));
        s0 = _mm512_fnmadd_ps(v, _mm512_loadu_ps(ct), s0);
        s1 = _mm512_fnmadd_ps(v, _mm512_loadu_ps(ct + 16), s1);
    }
    const __m512 least =
        _mm512_set1_ps(std::min(_mm512_reduce_min_ps(s0), _mm512_reduce_min_ps(s1)));
    const unsigned at = _mm512_cmp_ps_mask(s0, least, _CMP_EQ_OQ) |
                        static_cast<unsigned>(_mm512_cmp_ps_mask(s1, least, _CMP_EQ_OQ)) << 16;
    return at ? __builtin_ctz(at) : 0;
}
#endif

// The cell of each row of A (m rows).
template <class T>
void assign_cells(const T* A, std::int64_t m, std::int64_t d, const Grid& g, const Cells& c,
                  int n_workers, std::int32_t* out) {
    std::int32_t (*nearest)(const T*, const Grid&, const Cells&) = &nearest_cell_generic<T>;
#if defined(IMBFAST_HAVE_X86_DISPATCH)
    if (active_isa() == Isa::avx512) nearest = &nearest_cell_avx512<T>;
#endif
    parallel_for(m, n_workers, grain_for(kMaxCells * d), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) out[i] = nearest(A + i * d, g, c);
    });
}

// Cells of X and the packing order R.ids; no cells (count 0) when X is
// too small for kMinCells of them.
template <class T>
Cells make_cells(const T* X, std::int64_t n, std::int64_t d, const Grid& g, int n_workers,
                 Rows& R) {
    Cells c;
    const std::int64_t count = std::min<std::int64_t>(kMaxCells, n / kCellRows);
    if (count < kMinCells || n > std::numeric_limits<std::int32_t>::max()) return c;
    c.count = count;
    c.d = d;
    c.centre_t.assign(static_cast<std::size_t>(d * kMaxCells), 0.0f);
    c.half_norm.assign(kMaxCells, std::numeric_limits<float>::infinity());
    for (std::int64_t j = 0; j < count; ++j) {
        const T* row = X + (j * n / count) * d;
        double norm = 0.0;
        for (std::int64_t t = 0; t < d; ++t) {
            const float v = on_grid(row[t], t, g);
            c.centre_t[static_cast<std::size_t>(t * kMaxCells + j)] = v;
            norm += static_cast<double>(v) * static_cast<double>(v);
        }
        c.half_norm[static_cast<std::size_t>(j)] = static_cast<float>(norm / 2.0);
    }
    std::vector<std::int32_t> cell(static_cast<std::size_t>(n));
    assign_cells(X, n, d, g, c, n_workers, cell.data());
    // Counting sort: positions cell by cell, rows in increasing order.
    c.begin.assign(static_cast<std::size_t>(count + 1), 0);
    for (const std::int32_t j : cell) ++c.begin[static_cast<std::size_t>(j + 1)];
    for (std::int64_t j = 0; j < count; ++j)
        c.begin[static_cast<std::size_t>(j + 1)] += c.begin[static_cast<std::size_t>(j)];
    std::vector<std::int64_t> next(c.begin.begin(), c.begin.end() - 1);
    R.ids.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        const auto j = static_cast<std::size_t>(cell[static_cast<std::size_t>(i)]);
        R.ids[static_cast<std::size_t>(next[j]++)] = static_cast<std::int32_t>(i);
    }
    return c;
}

// The queries of one block and their search state. Each query has `slots`
// places for collected rows (row, D), the last 16 of them slack for the
// vector stores of take_vnni.
struct Block {
    std::int64_t count = 0, rows = 0, k = 0, words = 0, cap = 0, slots = 0;
    std::vector<std::int32_t> qwords;  // rows x words (signed bytes)
    std::vector<std::int32_t> thr;     // filter: acc > thr passes
    std::vector<std::int32_t> nx, sx;  // |q_x|^2 and sum(q_x)
    std::vector<double> margin;        // (r_x + r_max) / s, rounded up
    std::vector<double> bound;         // sqrt(within) / s, rounded up (inf: none)
    std::vector<std::int32_t> need;    // W (clamped to int32: every D is below)
    std::vector<std::int32_t> cut;     // collect only D <= cut (see compact)
    std::vector<std::int32_t> window;  // min(need, cut): the filter's window
    std::vector<std::int32_t> top;     // rows x k smallest D, ascending, kNever = empty
    std::vector<std::int32_t> top_row; // their rows (the answer in lattice mode; -1: a
                                       // row of the seed sample, see "Seeding")
    std::vector<std::int32_t> self;    // the query's own row when querying X, else -1
    std::vector<std::int32_t> hit_row, hit_dq;  // rows x slots
    std::vector<std::int32_t> n_hit;
    std::int64_t n_hits = 0;  // rows collected, over the block
    // The seed sample: every seed_step-th panel pair of [seed_begin,
    // seed_end) (see "Seeding").
    std::int64_t seed_begin = 0, seed_end = 0, seed_step = 1;
    // The seed pass's lanes: per query, the `levels` smallest D of each of
    // the 16 lanes (rows x levels x 16, ascending per lane), and its bound
    // (the k-th smallest of them; kNever: none).
    std::int64_t levels = 1;
    std::vector<std::int32_t> lanes;
    std::vector<std::int32_t> seed_dk;
    const Rows* R = nullptr;
    std::vector<std::int32_t> scratch;
};

// W and the filter threshold of query r from its D_k and bound (see the
// header comment), in grid units: with rho' = (sqrt(D_k) + m) (m = (r_x +
// r_max) / s, a bound of the k-th distance over s) or the bound if lower,
// W = floor((rho' + m)^2), every step rounded up by kUp. The filter passes
// acc > thr; D <= W needs
//     2 acc + (2 ceil(ny / 2) - ny) >= P = |q_x|^2 - W + 256 sum(q_x),
// and as the bracket is 0 or 1, acc >= ceil((P - 1) / 2) = floor(P / 2):
// thr = floor(P / 2) - 1 lets every such row through (and perhaps D = W + 1,
// which take rejects).
void set_window(Block& b, std::int64_t r) {
    const auto ri = static_cast<std::size_t>(r);
    const std::int32_t dk = std::min(
        b.top[ri * static_cast<std::size_t>(b.k) + static_cast<std::size_t>(b.k - 1)],
        b.seed_dk[ri]);
    double rho = kInf;
    if (dk != kNever) rho = (std::sqrt(static_cast<double>(dk)) + b.margin[ri]) * kUp;
    rho = std::min(rho, b.bound[ri]);
    std::int64_t W = std::numeric_limits<std::int32_t>::max();
    if (rho < kInf) {
        const double w = (rho + b.margin[ri]) * kUp;
        const double w2 = w * w * kUp;
        if (w2 < static_cast<double>(W)) W = static_cast<std::int64_t>(w2);  // floor: w2 >= 0
    }
    b.need[ri] = static_cast<std::int32_t>(W);
    W = std::min<std::int64_t>(W, b.cut[ri]);
    b.window[ri] = static_cast<std::int32_t>(W);
    const std::int64_t P = std::int64_t{b.nx[ri]} - W + 256 * std::int64_t{b.sx[ri]};
    const std::int64_t t = floor_half(P) - 1;
    b.thr[ri] = static_cast<std::int32_t>(
        std::clamp<std::int64_t>(t, kFloor, std::int64_t{kStop} - 1));
}

// Whether query r's k-th smallest D is below its seed bound, so that a
// change of it moves the window (which follows the smaller of the two).
bool lowers_window(const Block& b, std::int64_t r) {
    const auto ri = static_cast<std::size_t>(r);
    return b.top[ri * static_cast<std::size_t>(b.k) + static_cast<std::size_t>(b.k - 1)] <
           b.seed_dk[ri];
}

// Drops the collected rows outside query r's window. When more than half
// its places stay in use (many rows tie, or lie, within the window so far),
// only the rows below the (cap/2)-th smallest D, v, are kept, and the query
// collects D <= cut = v - 1 from then on. Its answer is still complete if
// the window it needs in the end is within the cut (every row with D <= cut
// was kept or collected later); otherwise the float32 pass answers it. The
// k smallest D stay valid upper bounds: their rows exist, collected or not.
void compact(Block& b, std::int64_t r, std::vector<std::int32_t>& scratch) {
    const auto ri = static_cast<std::size_t>(r);
    std::int32_t* rows = b.hit_row.data() + ri * static_cast<std::size_t>(b.slots);
    std::int32_t* dq = b.hit_dq.data() + ri * static_cast<std::size_t>(b.slots);
    std::int32_t W = b.window[ri];
    const auto half = static_cast<std::int32_t>(b.cap / 2);
    std::int32_t kept = 0;
    for (int pass = 0; pass < 2; ++pass) {
        kept = 0;
        for (std::int32_t i = 0; i < b.n_hit[ri]; ++i)
            if (dq[i] <= W) {
                rows[kept] = rows[i];
                dq[kept] = dq[i];
                ++kept;
            }
        b.n_hit[ri] = kept;
        if (kept <= half) return;
        scratch.assign(dq, dq + kept);
        std::nth_element(scratch.begin(), scratch.begin() + half, scratch.end());
        b.cut[ri] = scratch[static_cast<std::size_t>(half)] - 1;
        set_window(b, r);
        W = b.window[ri];
    }
}

// Offers (D, row) to query r's k smallest; true when the k-th changed.
// Strictly below the k-th only, and after equal D: rows offered in
// increasing order keep ties in index order. A query never takes its own
// row (querying X itself).
bool offer_top(Block& b, std::int64_t r, std::int32_t D, std::int32_t row) {
    const auto k = static_cast<std::size_t>(b.k);
    std::int32_t* top = b.top.data() + static_cast<std::size_t>(r) * k;
    std::int32_t* rows = b.top_row.data() + static_cast<std::size_t>(r) * k;
    if (!(D < top[k - 1]) || row == b.self[static_cast<std::size_t>(r)]) return false;
    std::size_t pos = k - 1;
    while (pos > 0 && top[pos - 1] > D) {
        top[pos] = top[pos - 1];
        rows[pos] = rows[pos - 1];
        --pos;
    }
    top[pos] = D;
    rows[pos] = row;
    return top[k - 1] != kNever;
}

// The seed pass's filter: rows with D < D_k (every row while fewer than k
// were seen), which alone can change the k smallest D.
void set_seed_threshold(Block& b, std::int64_t r) {
    const auto ri = static_cast<std::size_t>(r);
    const std::int32_t dk = b.top[ri * static_cast<std::size_t>(b.k) +
                                  static_cast<std::size_t>(b.k - 1)];
    std::int64_t t = kFloor;
    if (dk != kNever) {
        // D <= dk - 1, as in set_window.
        const std::int64_t P = std::int64_t{b.nx[ri]} - (dk - 1) + 256 * std::int64_t{b.sx[ri]};
        t = floor_half(P) - 1;
    }
    b.thr[ri] = static_cast<std::int32_t>(
        std::clamp<std::int64_t>(t, kFloor, std::int64_t{kStop} - 1));
}

// Seeding. The number of rows a query collects is about the window's size
// times log(n / window) when its k smallest D start from nothing (a row is
// collected when it lies within the window of the rows seen before it).
// So a first pass over a sample of X only bounds D_k there (no collection),
// and the main pass starts from its window. The sample is the block's own
// cell (see Cells: X packed cell by cell, the queries searched cell by
// cell, so a block's queries mostly share one), at most 1/kSeedShare of X
// (every j-th panel pair of a larger cell); without cells, one panel pair
// in kSeedShare, spread over X. The seed pass keeps, per query, the
// `levels` smallest D of each of the 16 lanes (each lane a different row
// of every panel; one vector min/max pair per level): their k-th smallest
// is D_k's bound, as k distinct rows reach it. No row list, no branch: the
// former pass offered every improving row to a sorted list, one at a time.
// The main pass's k smallest (D, row) start as k copies of (bound, -1),
// standing for those k rows (their D is at most the bound): only a row
// strictly below the bound is offered, and a copy left at the end has the
// value of a true k smallest D (the k smallest D of X are at most the bound,
// and every row below it was collected), only its row unknown (finish_block
// then ranks every collected row). Starting empty instead, every query's
// first k rows and those between the bound and the k-th so far went through
// the list: 5-6% of NearMiss-1's and BorderlineSMOTE's searches (0.225 s to
// 0.213 s, one thread).
// Measured on make_classification 100k x 20, 9:1, one thread: NearMiss-1's
// search (the majority among the minority, k = 3) collected 31 rows per
// query with cells, 43 with the spread sample (19 lie within the final
// window) and took 0.28 s against 0.31 s; BorderlineSMOTE's (the minority
// among all rows, k = 11) 0.25 s against 0.28 s. The lane bound (2 levels
// for k <= 16) is a little looser than the sample's exact k smallest D
// (NearMiss-1: 33 rows collected per query, 30 before; BorderlineSMOTE:
// 159, 138) but costs a fifth: the seed pass and its list updates were 11%
// of NearMiss-1's profile, the lane pass is 2%.
constexpr std::int64_t kSeedShare = 16;

// D of a row (ny = |q_y|^2) for query ri from its accumulator:
// D = |q_x|^2 + ny - 2 G with G = acc - 128 sum(q_x) + ceil(ny / 2),
// that is D = |q_x|^2 + 256 sum(q_x) - (ny mod 2) - 2 acc.
IMBFAST_INLINE std::int32_t lane_d(const Block& b, std::size_t ri, std::int32_t ny,
                                   std::int32_t acc) {
    return b.nx[ri] + 256 * b.sx[ri] - (ny & 1) - 2 * acc;
}

// The rows of one 16-row panel (first row y0) that passed query r's filter
// (mask), with their accumulators: exact D, then (kInOrder: the lattice
// mode) the k smallest D, or the collection, the k smallest D and the
// window.
template <bool kInOrder>
void take(Block& b, std::int64_t r, std::int64_t y0, unsigned mask, const std::int32_t* acc) {
    const auto ri = static_cast<std::size_t>(r);
    const std::int32_t* norm = b.R->norm.data() + y0;
    const std::int32_t* ids = b.R->ids.data() + y0;
    bool moved = false;
    while (mask) {
        const int l = __builtin_ctz(mask);
        mask &= mask - 1;
        const std::int32_t D = lane_d(b, ri, norm[l], acc[l]);
        if (kInOrder) {
            moved |= offer_top(b, r, D, ids[l]);
            continue;
        }
        if (D > b.window[ri]) continue;
        const std::size_t at = ri * static_cast<std::size_t>(b.slots) +
                               static_cast<std::size_t>(b.n_hit[ri]++);
        b.hit_row[at] = ids[l];
        b.hit_dq[at] = D;
        ++b.n_hits;
        moved |= offer_top(b, r, D, ids[l]);
    }
    if (kInOrder) {
        if (moved) set_seed_threshold(b, r);
        return;
    }
    if (moved && lowers_window(b, r)) set_window(b, r);
    if (b.n_hit[ri] + kPanel > b.cap) compact(b, r, b.scratch);
}

// The seed pass's update (see "Seeding"): D of the panel's 16 rows into
// query r's lanes.
void bound_lanes(Block& b, std::int64_t r, std::int64_t y0, const std::int32_t* acc) {
    const auto ri = static_cast<std::size_t>(r);
    const std::int32_t* norm = b.R->norm.data() + y0;
    std::int32_t* lanes = b.lanes.data() + r * b.levels * kPanel;
    for (int l = 0; l < kPanel; ++l) {
        std::int32_t D = lane_d(b, ri, norm[l], acc[l]);
        for (std::int64_t v = 0; v < b.levels; ++v)
            if (D < lanes[v * kPanel + l]) std::swap(D, lanes[v * kPanel + l]);
    }
}

// What a sweep does with a panel's accumulators: the main pass's filter and
// collection, the lattice mode's k smallest (D, row), or the seed pass's
// lanes.
enum Mode : int { kCollect = 0, kLattice = 1, kBound = 2 };

// Panels [p_begin, p_end) (whole pairs) against every query of the block.
using SweepFn = void (*)(Block&, std::int64_t, std::int64_t);

template <int kMode>
void sweep_generic(Block& b, std::int64_t p_begin, std::int64_t p_end) {
    const Rows& R = *b.R;
    const std::int64_t W = R.words;
    std::int32_t acc[kPanel];
    for (std::int64_t r = 0; r < b.count; ++r) {
        const std::int32_t* qw = b.qwords.data() + r * W;
        for (std::int64_t p = p_begin; p < p_end; ++p) {
            const std::int32_t* P = R.panels.data() + p * R.stride;
            unsigned mask = 0;
            for (int l = 0; l < kPanel; ++l) {
                std::int32_t a = P[W * kPanel + l];
                for (std::int64_t g = 0; g < W; ++g) {
                    std::uint8_t yb[4];
                    std::int8_t qb[4];
                    std::memcpy(yb, P + g * kPanel + l, 4);
                    std::memcpy(qb, qw + g, 4);
                    for (int j = 0; j < 4; ++j) a += std::int32_t{yb[j]} * std::int32_t{qb[j]};
                }
                acc[l] = a;
                if (a > b.thr[static_cast<std::size_t>(r)]) mask |= 1u << l;
            }
            if (kMode == kBound)
                bound_lanes(b, r, p * kPanel, acc);
            else if (mask)
                take<kMode == kLattice>(b, r, p * kPanel, mask, acc);
        }
    }
}

#if defined(IMBFAST_HAVE_X86_DISPATCH)
// take with the arithmetic and the collection in vector registers: D for
// the 16 lanes, the lanes within the window compressed into the query's
// places (a full 64-byte store; the slack takes the rest), and only the
// lanes below D_k go through the scalar list update.
// lane_d for the panel's 16 lanes (first row y0).
IMBFAST_TARGET_AVX512VNNI IMBFAST_INLINE __m512i panel_d(const Block& b, std::size_t ri,
                                                         std::int64_t y0, __m512i acc) {
    const __m512i odd = _mm512_and_si512(_mm512_loadu_si512(b.R->norm.data() + y0),
                                         _mm512_set1_epi32(1));
    return _mm512_sub_epi32(_mm512_sub_epi32(_mm512_set1_epi32(b.nx[ri] + 256 * b.sx[ri]), odd),
                            _mm512_add_epi32(acc, acc));
}

template <bool kInOrder>
IMBFAST_TARGET_AVX512VNNI IMBFAST_INLINE void take_vnni(Block& b, std::int64_t r,
                                                        std::int64_t y0, __mmask16 mask,
                                                        __m512i acc) {
    const auto ri = static_cast<std::size_t>(r);
    const __m512i D = panel_d(b, ri, y0, acc);
    if (!kInOrder) {
        mask = _mm512_mask_cmple_epi32_mask(mask, D, _mm512_set1_epi32(b.window[ri]));
        if (!mask) return;
        const __m512i rows = _mm512_loadu_si512(b.R->ids.data() + y0);
        const std::size_t at =
            ri * static_cast<std::size_t>(b.slots) + static_cast<std::size_t>(b.n_hit[ri]);
        _mm512_storeu_si512(b.hit_row.data() + at, _mm512_maskz_compress_epi32(mask, rows));
        _mm512_storeu_si512(b.hit_dq.data() + at, _mm512_maskz_compress_epi32(mask, D));
        const int got = __builtin_popcount(static_cast<unsigned>(mask));
        b.n_hit[ri] += got;
        b.n_hits += got;
    }
    const std::int32_t dk = b.top[ri * static_cast<std::size_t>(b.k) +
                                  static_cast<std::size_t>(b.k - 1)];
    unsigned below = _mm512_mask_cmplt_epi32_mask(mask, D, _mm512_set1_epi32(dk));
    if (below) {
        alignas(64) std::int32_t buf[kPanel];
        _mm512_store_si512(buf, D);
        const std::int32_t* ids = b.R->ids.data() + y0;
        bool moved = false;
        while (below) {
            const int l = __builtin_ctz(below);
            below &= below - 1;
            moved |= offer_top(b, r, buf[l], ids[l]);
        }
        if (moved) {
            if (kInOrder)
                set_seed_threshold(b, r);
            else if (lowers_window(b, r))
                set_window(b, r);
        }
    }
    if (!kInOrder && b.n_hit[ri] + kPanel > b.cap) compact(b, r, b.scratch);
}

// bound_lanes in vector registers: the levels are a sorting network's
// min/max steps, one pair per level.
IMBFAST_TARGET_AVX512VNNI IMBFAST_INLINE void bound_vnni(Block& b, std::int64_t r,
                                                         std::int64_t y0, __m512i acc) {
    __m512i D = panel_d(b, static_cast<std::size_t>(r), y0, acc);
    std::int32_t* lanes = b.lanes.data() + r * b.levels * kPanel;
    for (std::int64_t v = 0; v < b.levels; ++v) {
        const __m512i cur = _mm512_loadu_si512(lanes + v * kPanel);
        _mm512_storeu_si512(lanes + v * kPanel, _mm512_min_epi32(cur, D));
        D = _mm512_max_epi32(cur, D);
    }
}

// bound_vnni for a tile's two panels at once: with two levels (k <= 16)
// each lane keeps the two smallest of its two values and the two new ones,
// a min/max network: one load and one store per level for both panels, not
// two. (The seed pass, over 1/32 to 1/16 of X per query, was 2-6% of
// NearMiss-1's search in profiles; this saved about 2%.)
IMBFAST_TARGET_AVX512VNNI IMBFAST_INLINE void bound_pair_vnni(Block& b, std::int64_t r,
                                                              std::int64_t y0, __m512i acc0,
                                                              __m512i acc1) {
    if (b.levels != 2) {
        bound_vnni(b, r, y0, acc0);
        bound_vnni(b, r, y0 + kPanel, acc1);
        return;
    }
    const auto ri = static_cast<std::size_t>(r);
    const __m512i d0 = panel_d(b, ri, y0, acc0);
    const __m512i d1 = panel_d(b, ri, y0 + kPanel, acc1);
    std::int32_t* lanes = b.lanes.data() + r * 2 * kPanel;
    const __m512i first = _mm512_loadu_si512(lanes);
    const __m512i second = _mm512_loadu_si512(lanes + kPanel);
    const __m512i lo = _mm512_min_epi32(d0, d1);
    const __m512i hi = _mm512_max_epi32(d0, d1);
    _mm512_storeu_si512(lanes, _mm512_min_epi32(first, lo));
    _mm512_storeu_si512(lanes + kPanel, _mm512_min_epi32(_mm512_max_epi32(first, lo),
                                                         _mm512_min_epi32(second, hi)));
}

// M(r) for each of the tile's 12 query rows.
static_assert(kMR == 12, "IMBFAST_EACH_ROW lists the tile's rows");
#define IMBFAST_EACH_ROW(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)

// Tile: 12 queries x 32 rows (two panels), 24 512-bit accumulators (8
// queries: about 5% slower, the compares and branches shared by fewer).
// kW: the words per row when known at compile time (0: R.words, at run
// time); a fully unrolled word loop keeps GCC from copying the
// accumulators on every iteration. The query word is a broadcast memory
// operand of VPDPBUSD (inline assembly: GCC would broadcast it into a
// register first, one more instruction per query row and word), addressed
// as one base register plus a constant offset when kW is known (else GCC
// keeps twelve addresses per word, more than it has registers for, and
// reloads them from the stack).
//
// The tile's test. A row passes query r's filter when acc > thr[r]; the
// tile asks only whether any of its 384 rows does: the largest over its
// queries of max(acc_r0, acc_r1) - thr[r] (which cannot overflow: |acc| <
// 2^30 and thr in [kFloor, kStop)) compared with 0, 36 vector operations
// and one branch, no mask kept across the tile. Only a tile with a hit
// computes the masks, query by query.
template <int kMode, int kW>
IMBFAST_TARGET_AVX512VNNI void sweep_vnni(Block& b, std::int64_t p_begin, std::int64_t p_end) {
    const Rows& R = *b.R;
    const std::int64_t W = kW > 0 ? kW : R.words, stride = R.stride;
    const __m512i zero = _mm512_setzero_si512();
    for (std::int64_t q0 = 0; q0 < b.rows; q0 += kMR) {
        const std::int32_t* qw = b.qwords.data() + q0 * W;
        const std::int32_t* thr = b.thr.data() + q0;
        for (std::int64_t p = p_begin; p < p_end; p += kNP) {
            const std::int32_t* P0 = R.panels.data() + p * stride;
            const std::int32_t* P1 = P0 + stride;
            const __m512i s0 = _mm512_load_si512(P0 + W * kPanel);
            const __m512i s1 = _mm512_load_si512(P1 + W * kPanel);
            __m512i a00 = s0, a01 = s1, a10 = s0, a11 = s1, a20 = s0, a21 = s1, a30 = s0, a31 = s1, a40 = s0, a41 = s1, a50 = s0, a51 = s1, a60 = s0, a61 = s1, a70 = s0, a71 = s1, a80 = s0, a81 = s1, a90 = s0, a91 = s1, a100 = s0, a101 = s1, a110 = s0, a111 = s1;
#pragma GCC unroll 16
            for (std::int64_t g = 0; g < W; ++g) {
                const __m512i y0 = _mm512_load_si512(P0 + g * kPanel);
                const __m512i y1 = _mm512_load_si512(P1 + g * kPanel);
                const std::int32_t* qg = qw + g;
                if constexpr (kW > 0) {
                    // The asm reads the tile's query words (the array operand
                    // tells GCC so; the instruction addresses them itself).
                    using Words = const std::int32_t[kMR * (kW > 0 ? kW : 1)];
                    const Words& words = *reinterpret_cast<Words*>(qw);
#define IMBFAST_DP(R)                                                                        \
    __asm__("vpdpbusd %c3(%2)%{1to16%}, %1, %0"                                              \
            : "+v"(a##R##0)                                                                  \
            : "v"(y0), "r"(qg), "i"(R * kW * 4), "m"(words));                                \
    __asm__("vpdpbusd %c3(%2)%{1to16%}, %1, %0"                                              \
            : "+v"(a##R##1)                                                                  \
            : "v"(y1), "r"(qg), "i"(R * kW * 4), "m"(words));
                    IMBFAST_EACH_ROW(IMBFAST_DP)
#undef IMBFAST_DP
                } else {
#define IMBFAST_DP(R)                                                                    \
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(a##R##0) : "v"(y0), "m"(qg[R * W])); \
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(a##R##1) : "v"(y1), "m"(qg[R * W]));
                    IMBFAST_EACH_ROW(IMBFAST_DP)
#undef IMBFAST_DP
                }
            }
            if constexpr (kMode == kBound) {
#define IMBFAST_BOUND(R) bound_pair_vnni(b, q0 + R, p * kPanel, a##R##0, a##R##1);
                IMBFAST_EACH_ROW(IMBFAST_BOUND)
#undef IMBFAST_BOUND
                continue;
            }
#define IMBFAST_OVER(R)       \
    const __m512i v##R = _mm512_sub_epi32(_mm512_max_epi32(a##R##0, a##R##1), _mm512_set1_epi32(thr[R]));
            IMBFAST_EACH_ROW(IMBFAST_OVER)
#undef IMBFAST_OVER
            const __m512i top = _mm512_max_epi32(
                _mm512_max_epi32(_mm512_max_epi32(_mm512_max_epi32(v0, v1), _mm512_max_epi32(v2, v3)),
                                 _mm512_max_epi32(_mm512_max_epi32(v4, v5), _mm512_max_epi32(v6, v7))),
                _mm512_max_epi32(_mm512_max_epi32(v8, v9), _mm512_max_epi32(v10, v11)));
            if (!_mm512_cmpgt_epi32_mask(top, zero)) continue;
            // Both masks of a query before either take (which may move its
            // threshold), as every query's own take sees its current window.
#define IMBFAST_TAKE(R)                                                                    \
    {                                                                                      \
        const __m512i t = _mm512_set1_epi32(thr[R]);                                       \
        const __mmask16 m0 = _mm512_cmpgt_epi32_mask(a##R##0, t);                          \
        const __mmask16 m1 = _mm512_cmpgt_epi32_mask(a##R##1, t);                          \
        if (m0) take_vnni<kMode == kLattice>(b, q0 + R, p * kPanel, m0, a##R##0);          \
        if (m1) take_vnni<kMode == kLattice>(b, q0 + R, (p + 1) * kPanel, m1, a##R##1);    \
    }
            IMBFAST_EACH_ROW(IMBFAST_TAKE)
#undef IMBFAST_TAKE
        }
    }
}
#endif

#undef IMBFAST_EACH_ROW

template <int kMode>
SweepFn pick_sweep(std::int64_t words) {
#if defined(IMBFAST_HAVE_X86_DISPATCH)
    if (vnni_active()) {
        switch (words) {
            case 1: return &sweep_vnni<kMode, 1>;
            case 2: return &sweep_vnni<kMode, 2>;
            case 3: return &sweep_vnni<kMode, 3>;
            case 4: return &sweep_vnni<kMode, 4>;
            case 5: return &sweep_vnni<kMode, 5>;
            case 6: return &sweep_vnni<kMode, 6>;
            case 7: return &sweep_vnni<kMode, 7>;
            case 8: return &sweep_vnni<kMode, 8>;
            case 9: return &sweep_vnni<kMode, 9>;
            case 10: return &sweep_vnni<kMode, 10>;
            case 11: return &sweep_vnni<kMode, 11>;
            case 12: return &sweep_vnni<kMode, 12>;
            case 13: return &sweep_vnni<kMode, 13>;
            case 14: return &sweep_vnni<kMode, 14>;
            case 15: return &sweep_vnni<kMode, 15>;
            case 16: return &sweep_vnni<kMode, 16>;
            default: return &sweep_vnni<kMode, 0>;
        }
    }
#else
    (void)words;
#endif
    return &sweep_generic<kMode>;
}

// The selection by smallest sums (FusedOptions::keep_smallest_sums). The
// caller keeps the n queries whose k distances sum smallest, by the sums
// it computes in double from the distances it is given. Any n answered
// queries bound the n-th smallest sum from above (by their own sums, each
// rounded up), so a query whose sum is provably above that bound cannot
// be kept, even on a tie, and is left unanswered. Its sum's lower bound
// comes from its k smallest D, which (its window never below its k-th
// smallest D) are the k smallest over all of X: the j-th nearest row is
// at least s sqrt(D_j) - r_x - r_max away. Measured on NearMiss-1's search
// (make_classification 100k x 20, 9:1: 89.6k queries, 10.4k kept) the
// bound, which tightens as queries are answered, leaves 56% of them
// unanswered, and the ranking of their candidates was 14% of the search.
class SumSelect {
  public:
    explicit SumSelect(std::int64_t n) : n_(n) {}
    // The bound: the n-th smallest sum so far (+inf until n are known).
    double bound() const { return bound_.load(std::memory_order_relaxed); }
    // Queries left unanswered so far.
    std::int64_t unanswered() const { return unanswered_.load(); }
    // Adds a block's sums (rounded up) and its count of queries left out.
    void add(const std::vector<double>& sums, std::int64_t left) {
        unanswered_ += left;
        if (sums.empty()) return;
        std::lock_guard<std::mutex> lock(mutex_);
        for (const double v : sums) {
            if (static_cast<std::int64_t>(heap_.size()) < n_) {
                heap_.push_back(v);
                std::push_heap(heap_.begin(), heap_.end());
            } else if (v < heap_.front()) {
                std::pop_heap(heap_.begin(), heap_.end());
                heap_.back() = v;
                std::push_heap(heap_.begin(), heap_.end());
            }
        }
        if (static_cast<std::int64_t>(heap_.size()) == n_)
            bound_.store(heap_.front(), std::memory_order_relaxed);
    }

  private:
    std::int64_t n_;
    std::mutex mutex_;
    std::vector<double> heap_;  // a max-heap of the n smallest sums
    std::atomic<double> bound_{std::numeric_limits<double>::infinity()};
    std::atomic<std::int64_t> unanswered_{0};
};

#if defined(IMBFAST_HAVE_X86_DISPATCH)
// The k-th smallest of a query's seed lanes with two levels (k <= 16), with
// no branch on the data: k - 1 times the smallest front value gives way to
// its lane's second (the lowest such lane; then kNever). The insertion of
// each value into a sorted list, branching on every one, was 3% of
// NearMiss-1's search.
IMBFAST_TARGET_AVX512 std::int32_t kth_of_two_levels(const std::int32_t* lanes, std::int64_t k) {
    __m512i front = _mm512_loadu_si512(lanes);
    __m512i back = _mm512_loadu_si512(lanes + kPanel);
    const __m512i never = _mm512_set1_epi32(kNever);
    for (std::int64_t i = 1; i < k; ++i) {
        const __m512i least = _mm512_set1_epi32(_mm512_reduce_min_epi32(front));
        const auto at = static_cast<unsigned>(_mm512_cmpeq_epi32_mask(front, least));
        const auto one = static_cast<__mmask16>(at & (0u - at));
        front = _mm512_mask_mov_epi32(front, one, back);
        back = _mm512_mask_mov_epi32(back, one, never);
    }
    return _mm512_reduce_min_epi32(front);
}
#endif

// Searches the queries `ids` and writes their answers; returns the rows
// collected. Queries whose window outgrew their places are appended to
// `fallback`.
template <class T>
struct Searcher {
    const T* X;
    std::int64_t d, k;
    const T* Q;
    const double* within;
    const Grid* grid;
    const Rows* R;
    std::int64_t* out_idx;
    double* out_dist;
    int n_workers;
    // Lattice data on a grid of their own unit (see int8_knn): D is the exact
    // squared distance in units, and the k smallest (D, row), rows offered
    // in increasing order, are the answer.
    bool lattice = false;
    bool self = false;  // Q is X itself: each query skips its own row
    // X's cells and each query's (indexed by query; null: no cells).
    const Cells* cells = nullptr;
    const std::int32_t* query_cell = nullptr;
    // The selection by smallest sums (null: every query answered).
    SumSelect* select = nullptr;

    std::int64_t run(const std::vector<std::int64_t>& ids, std::vector<std::int64_t>& fallback) const {
        const auto m = static_cast<std::int64_t>(ids.size());
        if (m == 0) return 0;
        // Queries per block: at most 8 tiles. A block's state (two lists of
        // cap + 16 places per query, the seed lanes, the k smallest D) then
        // stays small; 42 tiles (504 queries) were 2-6% slower on 2 threads
        // (NearMiss-1's search 0.121 s against 0.118-0.119 s, BorderlineSMOTE's
        // 0.107-0.113 s against 0.103-0.105 s; benchmarks/realistic_data's
        // flags, quantized and gaussian 30k query searches 2-6% too), with
        // no loss on one thread.
        const std::int64_t SQ = std::clamp<std::int64_t>(
            round_up((m + 4 * n_workers - 1) / (4 * n_workers), kMR), kMR, 8 * kMR);
        const std::int64_t n_items = (m + SQ - 1) / SQ;
        const std::int64_t n_panels = R->n_pad / kPanel;
        const std::int64_t PB = std::max<std::int64_t>(kNP, (24576 / R->stride) / kNP * kNP);
        const SweepFn in_order = pick_sweep<kLattice>(R->words);
        const SweepFn seed = pick_sweep<kBound>(R->words);
        const SweepFn sweep = pick_sweep<kCollect>(R->words);
        const SqDist<T> sqdist = pick_sqdist<T>();
        std::mutex mutex;
        std::int64_t total_hits = 0;
        parallel_for(n_items, n_workers, 1, [&](std::int64_t ib, std::int64_t ie) {
            Block b;
            b.k = k;
            b.words = R->words;
            // Places per query: the window of Gaussian data holds a few
            // times k rows; compaction drops the rows earlier windows let in.
            // (256 + 16 k sent 14 of the 10k queries of BorderlineSMOTE's
            // search on make_classification 100k x 20 with two redundant
            // columns to the float32 pass, whose set-up alone, a float32
            // copy of X, cost 5% of the search: 0.141 s, now 0.127-0.135 s.)
            b.cap = 512 + 32 * k;
            b.slots = b.cap + kPanel;
            b.R = R;
            // 16 (levels - 1) >= k: the bound has k of the lanes' values
            // beside the lane minima.
            b.levels = (k + kPanel - 1) / kPanel + 1;
            std::vector<std::int8_t> q(static_cast<std::size_t>(R->words * 4));
            std::vector<std::int64_t> local_fallback;
            std::vector<std::uint64_t> keys;
            std::int64_t hits = 0;
            for (std::int64_t item = ib; item < ie; ++item) {
                const std::int64_t first = item * SQ;
                b.count = std::min(SQ, m - first);
                b.rows = round_up(b.count, kMR);
                init_block(b, ids, first, q);
                if (lattice) {
                    // Every panel in order through the k smallest (D, row).
                    for (std::int64_t p = 0; p < n_panels; p += PB)
                        in_order(b, p, std::min(n_panels, p + PB));
                    finish_lattice(b, ids, first, sqdist);
                    continue;
                }
                set_seed_sample(b, ids, first, n_panels);
                if (b.seed_step == 1) {
                    seed(b, b.seed_begin, b.seed_end);
                } else {
                    for (std::int64_t p = b.seed_begin; p < b.seed_end; p += kNP * b.seed_step)
                        seed(b, p, p + kNP);
                }
                seed_bounds(b);
                for (std::int64_t r = 0; r < b.count; ++r) set_window(b, r);
                for (std::int64_t p = 0; p < n_panels; p += PB)
                    sweep(b, p, std::min(n_panels, p + PB));
                hits += b.n_hits;
                finish_block(b, ids, first, sqdist, keys, local_fallback);
            }
            std::lock_guard<std::mutex> lock(mutex);
            total_hits += hits;
            fallback.insert(fallback.end(), local_fallback.begin(), local_fallback.end());
        });
        return total_hits;
    }

    // Each query's seed bound: the k-th smallest of its lanes' values, when
    // that is a real row's D (padding rows' D exceed 2^30, real ones
    // 4 words 254^2).
    static void seed_bounds(Block& b) {
        const std::int64_t values = b.levels * kPanel;
        const double most = 4.0 * static_cast<double>(b.words) * 254.0 * 254.0;
        const auto k = static_cast<std::size_t>(b.k);
        std::vector<std::int32_t>& best = b.scratch;
#if defined(IMBFAST_HAVE_X86_DISPATCH)
        const bool by_vector = b.levels == 2 && active_isa() == Isa::avx512;
#else
        const bool by_vector = false;
#endif
        for (std::int64_t r = 0; r < b.count; ++r) {
            const std::int32_t* lanes = b.lanes.data() + r * values;
            std::int32_t dk = kNever;
#if defined(IMBFAST_HAVE_X86_DISPATCH)
            if (by_vector) dk = kth_of_two_levels(lanes, b.k);
#endif
            if (!by_vector) {
                // The k smallest by insertion: each lane is ascending, so a
                // lane stops at its first value not below the k-th so far.
                best.assign(k, kNever);
                for (int l = 0; l < kPanel; ++l)
                    for (std::int64_t v = 0; v < b.levels; ++v) {
                        std::int32_t D = lanes[v * kPanel + l];
                        if (!(D < best[k - 1])) break;
                        std::size_t pos = k - 1;
                        for (; pos > 0 && best[pos - 1] > D; --pos) best[pos] = best[pos - 1];
                        best[pos] = D;
                    }
                dk = best[k - 1];
            }
            b.seed_dk[static_cast<std::size_t>(r)] = static_cast<double>(dk) <= most ? dk : kNever;
            // The k smallest D start from the bound (see "Seeding").
            std::fill_n(b.top.data() + r * b.k, b.k, b.seed_dk[static_cast<std::size_t>(r)]);
        }
    }

    // The block's seed sample (see "Seeding"): the cell of its middle query,
    // or panel pairs spread over X.
    void set_seed_sample(Block& b, const std::vector<std::int64_t>& ids, std::int64_t first,
                         std::int64_t n_panels) const {
        const std::int64_t pairs = n_panels / kNP;
        const std::int64_t most = std::max<std::int64_t>(1, pairs / kSeedShare);
        b.seed_begin = 0;
        b.seed_end = n_panels;
        b.seed_step = kSeedShare;
        if (!query_cell) return;
        const std::int32_t c =
            query_cell[ids[static_cast<std::size_t>(first + b.count / 2)]];
        const std::int64_t lo = cells->begin[static_cast<std::size_t>(c)] / kRowAlign;
        const std::int64_t hi =
            (cells->begin[static_cast<std::size_t>(c) + 1] + kRowAlign - 1) / kRowAlign;
        if (hi <= lo) return;
        b.seed_begin = lo * kNP;
        b.seed_end = hi * kNP;
        b.seed_step = (hi - lo + most - 1) / most;
    }

    void init_block(Block& b, const std::vector<std::int64_t>& ids, std::int64_t first,
                    std::vector<std::int8_t>& q) const {
        const auto rows = static_cast<std::size_t>(b.rows);
        b.qwords.assign(rows * static_cast<std::size_t>(b.words), 0);
        b.thr.assign(rows, kStop);
        b.nx.assign(rows, 0);
        b.sx.assign(rows, 0);
        b.margin.assign(rows, 0.0);
        b.bound.assign(rows, kInf);
        b.need.assign(rows, 0);
        b.cut.assign(rows, std::numeric_limits<std::int32_t>::max());
        b.window.assign(rows, 0);
        b.top.assign(rows * static_cast<std::size_t>(k), kNever);
        b.top_row.assign(rows * static_cast<std::size_t>(k), -1);
        b.self.assign(rows, -1);
        b.hit_row.resize(rows * static_cast<std::size_t>(b.slots));
        b.hit_dq.resize(rows * static_cast<std::size_t>(b.slots));
        b.n_hit.assign(rows, 0);
        b.n_hits = 0;
        b.lanes.assign(rows * static_cast<std::size_t>(b.levels * kPanel), kNever);
        b.seed_dk.assign(rows, kNever);
        const double inv = grid->inv;
        for (std::int64_t r = 0; r < b.count; ++r) {
            const auto ri = static_cast<std::size_t>(r);
            const std::int64_t g = ids[static_cast<std::size_t>(first + r)];
            if (first + r + kAhead < static_cast<std::int64_t>(ids.size()))
                prefetch_row(Q + ids[static_cast<std::size_t>(first + r + kAhead)] * d, d);
            std::fill(q.begin(), q.end(), std::int8_t{0});
            std::int64_t nx = 0, sx = 0;
            const double rx = quantize_row(Q + g * d, d, *grid, q.data(), nx, sx);
            if (self) b.self[ri] = static_cast<std::int32_t>(g);
            b.nx[ri] = static_cast<std::int32_t>(nx);
            b.sx[ri] = static_cast<std::int32_t>(sx);
            for (std::int64_t w = 0; w < b.words; ++w)
                b.qwords[ri * static_cast<std::size_t>(b.words) + static_cast<std::size_t>(w)] =
                    word_of(reinterpret_cast<const std::uint8_t*>(q.data()) + 4 * w);
            // In grid units (x inv = / s, rounded up: inv itself is within
            // one rounding of 127 / max_abs = 1 / s).
            b.margin[ri] = (rx + R->r_max) * inv * kUp * kUp;
            if (within) b.bound[ri] = std::sqrt(within[g]) * inv * kUp * kUp * kUp;
            set_seed_threshold(b, r);
        }
    }

    // Lattice mode: the k smallest (D, row) are the answer; their distances
    // are computed in double as every engine computes them.
    void finish_lattice(Block& b, const std::vector<std::int64_t>& ids, std::int64_t first,
                        SqDist<T> sqdist) const {
        for (std::int64_t r = 0; r < b.count; ++r) {
            const auto ri = static_cast<std::size_t>(r);
            const std::int64_t g = ids[static_cast<std::size_t>(first + r)];
            const std::int32_t* rows = b.top_row.data() + ri * static_cast<std::size_t>(k);
            for (std::int64_t j = 0; j < k; ++j) {
                out_idx[g * k + j] = rows[j];
                out_dist[g * k + j] = sanitize(sqdist(Q + g * d, X + std::int64_t{rows[j]} * d, d));
            }
        }
    }

    // Ranks the collected rows of each query by exact distance, ties by
    // lower index (TopK). The k rows behind the k smallest D bound the k-th
    // exact distance by the largest of theirs, and a row whose lower bound
    // s sqrt(D) - r_x - r_max exceeds that cannot be among the k nearest nor
    // tie with the k-th (see the header comment: the same kUp slack covers
    // the double rounding); so only the collected rows up to the D this
    // implies (the cut) are sorted (by D, then row: one integer key), and
    // ranked in increasing D, the cut tightened as the k-th exact distance
    // falls, until the next row is beyond it.
    void finish_block(Block& b, const std::vector<std::int64_t>& ids, std::int64_t first,
                      SqDist<T> sqdist, std::vector<std::uint64_t>& keys,
                      std::vector<std::int64_t>& fallback) const {
        TopK top(k);
        const double s = grid->scale;
        const std::int64_t row_bytes = d * static_cast<std::int64_t>(sizeof(T));
        std::vector<double> sums;
        std::int64_t left = 0;
        // The rows are scattered over X: the rows behind the next query's k
        // smallest D are loaded while this query is ranked.
        const auto prefetch_best = [&](std::int64_t r) {
            if (r >= b.count) return;
            const std::int32_t* rows = b.top_row.data() + static_cast<std::size_t>(r * k);
            for (std::int64_t j = 0; j < k; ++j) {
                if (rows[j] < 0) break;
                const auto* row = reinterpret_cast<const char*>(X + std::int64_t{rows[j]} * d);
                for (std::int64_t off = 0; off < row_bytes; off += 64) IMBFAST_PREFETCH(row + off);
            }
        };
        prefetch_best(0);
        for (std::int64_t r = 0; r < b.count; ++r) {
            const auto ri = static_cast<std::size_t>(r);
            const std::int64_t g = ids[static_cast<std::size_t>(first + r)];
            prefetch_best(r + 1);
            if (b.need[ri] > b.cut[ri]) {
                fallback.push_back(g);
                continue;
            }
            const T* qrow = Q + g * d;
            const double m = b.margin[ri];
            if (select && left_out(b, r, select->bound())) {
                std::fill(out_idx + g * k, out_idx + (g + 1) * k, std::int64_t{-1});
                std::fill(out_dist + g * k, out_dist + (g + 1) * k, kInf);
                ++left;
                continue;
            }
            const std::int32_t* best = b.top_row.data() + ri * static_cast<std::size_t>(k);
            const std::int32_t dk = b.top[ri * static_cast<std::size_t>(k) +
                                          static_cast<std::size_t>(k - 1)];
            // The largest D whose lower bound s sqrt(D) - r_x - r_max, rounded
            // down, is at most the k-th exact distance so far, rounded up:
            // sqrt(D) <= t; rows beyond it are farther than the k-th.
            std::int32_t cut = b.window[ri];
            const auto tighten = [&]() {
                const double t =
                    (std::sqrt(top.worst()) * kUp * kUp * kUp * kUp / s + m) * kUp * kUp;
                const double t2 = t * t * kUp;
                if (t2 < static_cast<double>(cut)) cut = static_cast<std::int32_t>(t2);
            };
            top.clear();
            // (A row of -1: fewer than k rows were offered, a bound or the seed
            // bound kept the others out; every collected row is ranked.)
            const bool ranked = best[k - 1] >= 0;
            if (ranked) {
                for (std::int64_t j = 0; j < k; ++j)
                    top.push(sanitize(sqdist(qrow, X + std::int64_t{best[j]} * d, d)), best[j]);
                tighten();
            }
            const std::int32_t* rows = b.hit_row.data() + ri * static_cast<std::size_t>(b.slots);
            const std::int32_t* dq = b.hit_dq.data() + ri * static_cast<std::size_t>(b.slots);
            keys.clear();
            for (std::int32_t i = 0; i < b.n_hit[ri]; ++i)
                if (dq[i] <= cut)
                    keys.push_back(static_cast<std::uint64_t>(dq[i]) << 32 |
                                   static_cast<std::uint32_t>(rows[i]));
            std::sort(keys.begin(), keys.end());
            for (std::size_t i = 0; i < std::min<std::size_t>(keys.size(), 2 * k + 4); ++i) {
                const auto* row = reinterpret_cast<const char*>(
                    X + static_cast<std::int64_t>(keys[i] & 0xffffffffu) * d);
                for (std::int64_t off = 0; off < row_bytes; off += 64) IMBFAST_PREFETCH(row + off);
            }
            for (const std::uint64_t key : keys) {
                const auto row = static_cast<std::int32_t>(key & 0xffffffffu);
                const auto D = static_cast<std::int32_t>(key >> 32);
                if (D > cut) break;  // and so are all the rows after it
                // The rows behind the k smallest D are ranked already.
                if (ranked && D <= dk && std::find(best, best + k, row) != best + k) continue;
                top.push(sanitize(sqdist(qrow, X + std::int64_t{row} * d, d)), row);
                if (static_cast<std::int64_t>(top.size()) == k) tighten();
            }
            std::int64_t* oi = out_idx + g * k;
            double* od = out_dist + g * k;
            auto w = static_cast<std::int64_t>(top.write(oi, od));
            const double lim = within ? within[g] : kInf;
            while (w > 0 && od[w - 1] > lim) --w;
            for (std::int64_t j = w; j < k; ++j) {
                oi[j] = -1;
                od[j] = kInf;
            }
            if (select && w == k) {
                // The sum the caller will compute, rounded up (its own
                // order of additions differs by far less).
                double sum = 0.0;
                for (std::int64_t j = 0; j < k; ++j) sum += std::sqrt(od[j]);
                sums.push_back(sum * kUp);
            }
        }
        if (select) select->add(sums, left);
    }

    // Whether query r's sum of distances is provably above `bound`: the sum
    // of s (sqrt(D_j) - m) over its k smallest D (each j-th nearest row is
    // at least that far), rounded down, against it. Needs its k smallest D
    // complete (no rows cut, no bound on the distance).
    bool left_out(const Block& b, std::int64_t r, double bound) const {
        const auto ri = static_cast<std::size_t>(r);
        if (!(bound < kInf) || within || b.need[ri] > b.cut[ri]) return false;
        const std::int32_t* top = b.top.data() + ri * static_cast<std::size_t>(k);
        if (top[k - 1] == kNever) return false;
        double lower = 0.0;
        for (std::int64_t j = 0; j < k; ++j) {
            const double t = std::sqrt(static_cast<double>(top[j])) / (kUp * kUp) - b.margin[ri];
            if (t > 0.0) lower += t;
        }
        // (kUp^-3: the sum's and the scaling's roundings, and the caller's
        // distances, each within 2^-40 of the exact ones.)
        return lower * grid->scale / (kUp * kUp * kUp) > bound;
    }
};

// The probe's verdict: the int8 pass's modelled cost per query, in cycles
// per 16 rows: words + 2 (a 512-bit VPDPBUSD per word, about one a cycle on
// Zen 4, and the start and the compare), plus hit_cost per collected row,
// plus the float32 pass for the queries that fell back; the float32 pass
// costs d + 2 (two 8-row FMAs per coordinate, two a cycle).
bool int8_worthwhile(double hits_per_query, double overflow_share, std::int64_t n,
                     std::int64_t d, std::int64_t words, const FusedOptions& options) {
    const double panels = static_cast<double>(n) / kPanel;
    const double f32 = panels * static_cast<double>(d + 2);
    const double i8 = panels * static_cast<double>(words + 2) +
                      options.int8_hit_cost * hits_per_query + overflow_share * f32;
    return i8 < options.int8_max_cost * f32;
}

}  // namespace

template <class T>
bool int8_knn(const T* X, std::int64_t n, std::int64_t d, const T* Q, std::int64_t nq,
              std::int64_t k, std::int64_t n_extra, std::int64_t* out_idx, double* out_dist,
              int n_threads, int n_workers, const double* within,
              const std::vector<double>& centre, double max_abs, double lattice_unit,
              const FusedOptions& options, FusedStats& stats) {
    const bool lattice = lattice_unit > 0.0;
    // Querying X itself (Q null) only in lattice mode, where the pass is
    // cheap enough to compute each pair twice.
    if (options.int8 == Int8Filter::never || (!Q && !lattice) || nq == 0 || n == 0)
        return false;
    if (d > kMaxDim || k > kMaxK) return false;
    // Lattice mode needs every centred value within 127 units, and keeps no
    // window (so no bound).
    if (lattice && (within || !(max_abs <= 127.0 * lattice_unit))) return false;
    // The grid needs a finite, normal step.
    if (!lattice && !(max_abs > 1e-280 && max_abs < 1e280)) return false;
    const bool automatic =
        options.int8 == Int8Filter::automatic || options.int8 == Int8Filter::only;
    const double work = static_cast<double>(n) * static_cast<double>(nq) * static_cast<double>(d);
    // "auto" decides by a probe, so it needs enough queries; the lattice
    // mode needs no probe.
    if (automatic && (!vnni_active() || (lattice ? work < kLatticeMinWork
                                                 : nq <= 8 * kProbeMin || work < kMinWork)))
        return false;

    if (automatic && !lattice) {
        // A grid far coarser than most columns' spread (a wide-range column
        // beside one-hot or scaled ones) leaves the window nearly all of X:
        // not worth packing X to find out.
        std::vector<double> rms = column_sums(X, n, d, centre.data(), n_workers);
        std::nth_element(rms.begin(), rms.begin() + d / 2, rms.end());
        const double median_rms =
            std::sqrt(rms[static_cast<std::size_t>(d / 2)] / static_cast<double>(n));
        if (!(max_abs <= options.int8_max_range * median_rms)) return false;
    }
    Grid grid;
    grid.centre = &centre;
    grid.max_abs = max_abs;
    // Lattice data: the grid is their own unit (a power of two), on which
    // every centred value is an integer of at most 127: no rounding at all.
    grid.scale = lattice ? lattice_unit : max_abs / 127.0;
    grid.inv = lattice ? 1.0 / lattice_unit : 127.0 / max_abs;
    Rows R;
    // Cells only for the window mode: the lattice mode offers rows in
    // increasing order (its tie rule), so packs X as it is.
    const Cells cells = lattice ? Cells{} : make_cells(X, n, d, grid, n_workers, R);
    pack_rows(X, n, d, grid, n_workers, R);
    std::vector<std::int32_t> query_cell;
    if (cells.count > 0) {
        query_cell.resize(static_cast<std::size_t>(nq));
        assign_cells(Q, nq, d, grid, cells, n_workers, query_cell.data());
    }
    const bool self = Q == nullptr;
    const std::int32_t* cell_of = query_cell.empty() ? nullptr : query_cell.data();
    // The selection needs the window mode's k smallest D, and every
    // distance counted (no bound).
    std::unique_ptr<SumSelect> select;
    if (options.keep_smallest_sums > 0 && !lattice && !within)
        select = std::make_unique<SumSelect>(options.keep_smallest_sums);
    const Searcher<T> search{X,        d,        k,    self ? X : Q, within, &grid,  &R,
                             out_idx,  out_dist, n_workers,          lattice, self, &cells,
                             cell_of,  select.get()};
    // Queries cell by cell, in increasing order within a cell (a counting
    // sort).
    const auto by_cell = [&](std::vector<std::int64_t>& ids) {
        if (!cell_of) return;
        const auto cell = [&](std::int64_t g) { return static_cast<std::size_t>(cell_of[g]); };
        std::array<std::size_t, kMaxCells + 1> at{};
        for (const std::int64_t g : ids) ++at[cell(g) + 1];
        for (std::size_t j = 0; j < kMaxCells; ++j) at[j + 1] += at[j];
        std::vector<std::int64_t> sorted(ids.size());
        for (const std::int64_t g : ids) sorted[at[cell(g)]++] = g;
        ids.swap(sorted);
    };
    if (lattice) {
        // D is the exact squared distance in units: the k smallest (D, row)
        // are the answer, with no window, no collection and no fallback.
        // From kLatticeMinWork on it is as fast as the float32 pass's exact
        // arithmetic or faster (16 rows per VPDPBUSD and 4 coordinates,
        // against 8 rows per FMA and one: about 0.5-0.7 of its cost per pair
        // at d = 9-24 even on X itself, where the float32 pass computes each
        // pair once and this one twice), so there is no probe.
        std::vector<std::int64_t> all(static_cast<std::size_t>(nq)), none;
        for (std::int64_t i = 0; i < nq; ++i) all[static_cast<std::size_t>(i)] = i;
        search.run(all, none);
        stats.int8_filter = true;
        stats.n_candidates = k;
        return true;
    }

    std::vector<std::int64_t> fallback;
    std::vector<std::int64_t> rest;
    if (automatic) {
        // The probe: evenly spaced queries, answered for good; the rest
        // follow if the pass pays on them.
        const std::int64_t n_probe = std::clamp(nq / kProbeShare, kProbeMin, kProbeMax);
        std::vector<std::int64_t> probe(static_cast<std::size_t>(n_probe));
        std::vector<std::uint8_t> probed(static_cast<std::size_t>(nq), 0);
        for (std::int64_t i = 0; i < n_probe; ++i) {
            const std::int64_t g = i * nq / n_probe;
            probe[static_cast<std::size_t>(i)] = g;
            probed[static_cast<std::size_t>(g)] = 1;
        }
        by_cell(probe);
        const std::int64_t hits = search.run(probe, fallback);
        const double hits_per_query = static_cast<double>(hits) / static_cast<double>(n_probe);
        stats.int8_probe_hits = hits_per_query;
        const double overflow_share =
            static_cast<double>(fallback.size()) / static_cast<double>(n_probe);
        if (!int8_worthwhile(hits_per_query, overflow_share, n, d, R.words, options))
            return false;
        rest.reserve(static_cast<std::size_t>(nq - n_probe));
        for (std::int64_t i = 0; i < nq; ++i)
            if (!probed[static_cast<std::size_t>(i)]) rest.push_back(i);
    } else {
        rest.resize(static_cast<std::size_t>(nq));
        for (std::int64_t i = 0; i < nq; ++i) rest[static_cast<std::size_t>(i)] = i;
    }
    by_cell(rest);
    search.run(rest, fallback);
    stats.int8_filter = true;
    stats.n_candidates = 0;
    stats.n_int8_fallback = static_cast<std::int64_t>(fallback.size());
    if (select) stats.n_unanswered = select->unanswered();
    if (!fallback.empty()) {
        // The float32 pass on a copy of the queries that fell back.
        std::sort(fallback.begin(), fallback.end());
        const auto m = static_cast<std::int64_t>(fallback.size());
        std::vector<T> rows(static_cast<std::size_t>(m * d));
        std::vector<double> bounds(within ? static_cast<std::size_t>(m) : 0);
        for (std::int64_t r = 0; r < m; ++r) {
            const std::int64_t g = fallback[static_cast<std::size_t>(r)];
            std::copy(Q + g * d, Q + (g + 1) * d, rows.begin() + r * d);
            if (within) bounds[static_cast<std::size_t>(r)] = within[g];
        }
        std::vector<std::int64_t> idx(static_cast<std::size_t>(m * k));
        std::vector<double> dist(static_cast<std::size_t>(m * k));
        FusedOptions f32 = options;
        f32.int8 = Int8Filter::never;
        const FusedStats sub = fused_knn<T>(X, n, d, rows.data(), m, k, n_extra, idx.data(),
                                            dist.data(), n_threads,
                                            within ? bounds.data() : nullptr, f32);
        stats.n_tie_pass = sub.n_tie_pass;
        stats.n_candidates = sub.n_candidates;
        for (std::int64_t r = 0; r < m; ++r) {
            const std::int64_t g = fallback[static_cast<std::size_t>(r)];
            std::copy(idx.begin() + r * k, idx.begin() + (r + 1) * k, out_idx + g * k);
            std::copy(dist.begin() + r * k, dist.begin() + (r + 1) * k, out_dist + g * k);
        }
    }
    return true;
}

template bool int8_knn<float>(const float*, std::int64_t, std::int64_t, const float*,
                              std::int64_t, std::int64_t, std::int64_t, std::int64_t*, double*,
                              int, int, const double*, const std::vector<double>&, double,
                              double, const FusedOptions&, FusedStats&);
template bool int8_knn<double>(const double*, std::int64_t, std::int64_t, const double*,
                               std::int64_t, std::int64_t, std::int64_t, std::int64_t*, double*,
                               int, int, const double*, const std::vector<double>&, double,
                               double, const FusedOptions&, FusedStats&);

}  // namespace knn_detail
}  // namespace imbfast
