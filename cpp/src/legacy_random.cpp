// NumPy's legacy RandomState stream: see imbfast/legacy_random.hpp.
#include "imbfast/legacy_random.hpp"

#include "imbfast/dispatch.hpp"

#include <limits>
#include <stdexcept>
#include <vector>

namespace imbfast {

namespace {

constexpr int kShift = 397;  // MT19937's middle word offset
constexpr std::uint32_t kTwist = 0x9908b0dfU;
constexpr std::uint32_t kUpper = 0x80000000U;
constexpr std::uint32_t kLower = 0x7fffffffU;

inline std::uint32_t twist(std::uint32_t a, std::uint32_t b, std::uint32_t m) {
    const std::uint32_t y = (a & kUpper) | (b & kLower);
    return m ^ (y >> 1) ^ ((y & 1U) ? kTwist : 0U);
}

}  // namespace

void Mt19937::regenerate() {
    int i = 0;
    for (; i < kWords - kShift; ++i) key[i] = twist(key[i], key[i + 1], key[i + kShift]);
    for (; i < kWords - 1; ++i)
        key[i] = twist(key[i], key[i + 1], key[i + kShift - kWords]);
    key[kWords - 1] = twist(key[kWords - 1], key[0], key[kShift - 1]);
    pos = 0;
}

std::uint32_t Mt19937::next32() {
    if (pos >= kWords) regenerate();
    std::uint32_t y = key[static_cast<std::size_t>(pos++)];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= y >> 18;
    return y;
}

std::uint64_t Mt19937::next64() {
    const std::uint64_t high = next32();
    return (high << 32) | next32();
}

std::uint64_t legacy_interval(Mt19937& mt, std::uint64_t max) {
    if (max == 0) return 0;
    std::uint64_t mask = max;
    for (int s = 1; s < 64; s <<= 1) mask |= mask >> s;
    std::uint64_t value;
    if (max <= 0xffffffffULL) {
        do value = mt.next32() & mask; while (value > max);
    } else {
        do value = mt.next64() & mask; while (value > max);
    }
    return value;
}

namespace {

template <class I>
void shuffle(Mt19937& mt, std::int64_t n, I* a) {
    for (std::int64_t i = 0; i < n; ++i) a[i] = static_cast<I>(i);
    constexpr std::int64_t kAhead = 32;
    std::int64_t js[kAhead];
    std::int64_t i = n - 1;
    while (i > 0) {
        const std::int64_t m = i < kAhead ? i : kAhead;
        for (std::int64_t t = 0; t < m; ++t) {
            js[t] = static_cast<std::int64_t>(
                legacy_interval(mt, static_cast<std::uint64_t>(i - t)));
            IMBFAST_PREFETCH(a + js[t]);
        }
        for (std::int64_t t = 0; t < m; ++t, --i) {
            const I v = a[i];
            a[i] = a[js[t]];
            a[js[t]] = v;
        }
    }
}

}  // namespace

void legacy_permutation(Mt19937& mt, std::int64_t n, std::int64_t size, std::int64_t* out) {
    if (n < 0) throw std::invalid_argument("legacy_permutation: n must be >= 0");
    if (size < 0 || size > n)
        throw std::invalid_argument("legacy_permutation: size must be in [0, n]");
    if (size > 0 && !out) throw std::invalid_argument("legacy_permutation: null output");
    if (mt.pos < 0 || mt.pos > Mt19937::kWords)
        throw std::invalid_argument("legacy_permutation: pos must be in [0, 624]");
    if (n <= std::numeric_limits<std::int32_t>::max()) {
        std::vector<std::int32_t> a(static_cast<std::size_t>(n));
        shuffle(mt, n, a.data());
        for (std::int64_t i = 0; i < size; ++i) out[i] = a[static_cast<std::size_t>(i)];
    } else {
        std::vector<std::int64_t> a(static_cast<std::size_t>(n));
        shuffle(mt, n, a.data());
        for (std::int64_t i = 0; i < size; ++i) out[i] = a[static_cast<std::size_t>(i)];
    }
}

}  // namespace imbfast
