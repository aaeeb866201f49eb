// NumPy's legacy random stream (np.random.RandomState over MT19937), bit for
// bit, for the draws imbalanced-learn makes through it that are worth doing
// in C++: RandomState.permutation, hence choice(n, size, replace=False),
// which RandomUnderSampler calls once per class.
//
// The generator is Matsumoto and Nishimura's MT19937 (624 words of state and
// a position, as RandomState.get_state() returns them). permutation(n) is a
// Fisher-Yates shuffle of 0..n-1 run from the last position down to 1; the
// position i is swapped with j drawn uniformly from [0, i] by masked
// rejection: take the smallest all-ones mask covering i, draw 32-bit words
// (64-bit words, two 32-bit draws high word first, when i exceeds 2^32 - 1)
// and keep the first masked value that is at most i. That is what NumPy's
// legacy stream does; tests/test_random_samplers.py compares the two for
// many seeds and sizes, and the state after the draw.
//
// Functions validate their arguments and throw std::invalid_argument; they
// never abort.
#pragma once

#include <array>
#include <cstdint>

namespace imbfast {

struct Mt19937 {
    static constexpr int kWords = 624;
    std::array<std::uint32_t, kWords> key{};
    int pos = kWords;  // 0..624; 624: the next draw regenerates the words

    std::uint32_t next32();
    std::uint64_t next64();

private:
    void regenerate();
};

// Uniform integer in [0, max] by masked rejection (see above).
std::uint64_t legacy_interval(Mt19937& mt, std::uint64_t max);

// The first `size` entries of RandomState.permutation(n) into out[0..size),
// which is RandomState.choice(n, size, replace=False); advances `mt` exactly
// as NumPy does (all n - 1 draws). 0 <= size <= n.
//
// The shuffle is bound by memory latency once n no longer fits in cache:
// it permutes 32-bit entries when n < 2^31, and draws the next positions
// ahead of the swaps to prefetch them (the draws do not depend on the data).
void legacy_permutation(Mt19937& mt, std::int64_t n, std::int64_t size, std::int64_t* out);

}  // namespace imbfast
