#include "imbfast/cleaning.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "imbfast/parallel.hpp"

namespace imbfast {

namespace {

// A few operations per row: a thread needs many rows to pay for itself.
constexpr std::int64_t kGrain = kMinWorkPerThread / 8;

void require_size(bool ok, const char* message) {
    if (!ok) throw std::invalid_argument(message);
}

void check_id(std::int64_t id, std::int64_t n, const char* what) {
    if (id < 0 || id >= n)
        throw std::out_of_range(std::string(what) + " holds index " + std::to_string(id) +
                                ", outside [0, " + std::to_string(n) + ")");
}

// Checks every code is in [0, n_classes); returns the largest code + 1.
std::int64_t check_codes(const std::int64_t* codes, std::int64_t n, std::int64_t n_classes) {
    std::int64_t used = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        if (codes[i] < 0 || codes[i] >= n_classes)
            throw std::out_of_range("codes holds label code " + std::to_string(codes[i]) +
                                    ", outside [0, " + std::to_string(n_classes) + ")");
        used = std::max(used, codes[i] + 1);
    }
    return used;
}

}  // namespace

std::int64_t tomek_links(const std::int64_t* nn1, const std::int64_t* codes, std::int64_t n,
                         const std::uint8_t* targeted, std::int64_t n_classes,
                         std::uint8_t* remove, int n_threads) {
    if (n < 0 || n_classes < 1) throw std::invalid_argument("tomek_links: bad sizes");
    check_codes(codes, n, n_classes);
    for (std::int64_t i = 0; i < n; ++i)
        if (nn1[i] != -1) check_id(nn1[i], n, "nn1");
    parallel_for(n, n_threads, kGrain, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const std::int64_t j = nn1[i];
            remove[i] = static_cast<std::uint8_t>(j >= 0 && targeted[codes[i]] != 0 &&
                                                  codes[j] != codes[i] && nn1[j] == i);
        }
    });
    std::int64_t flagged = 0;
    for (std::int64_t i = 0; i < n; ++i) flagged += remove[i];
    return flagged;
}

void enn_keep(const std::int64_t* rows, std::int64_t m, const std::int64_t* nbrs,
              std::int64_t width, std::int64_t k, const std::int64_t* codes, std::int64_t n,
              std::int64_t n_classes, EnnKind kind, std::uint8_t* keep, int n_threads) {
    if (m < 0 || n < 0 || n_classes < 1) throw std::invalid_argument("enn_keep: bad sizes");
    if (k < 1 || k > width)
        throw std::invalid_argument("enn_keep: k must be in [1, width], got k = " +
                                    std::to_string(k) + ", width = " + std::to_string(width));
    if (kind != EnnKind::all && kind != EnnKind::mode)
        throw std::invalid_argument("enn_keep: kind must be 'all' or 'mode'");
    require_size(m == 0 || width <= std::numeric_limits<std::int64_t>::max() / m,
                 "enn_keep: m * width overflows");
    // Votes only for codes present: classes without rows never win (ties
    // go to the smaller code), so a huge n_classes costs nothing.
    const std::int64_t n_votes = std::max<std::int64_t>(1, check_codes(codes, n, n_classes));
    for (std::int64_t j = 0; j < m; ++j) {
        check_id(rows[j], n, "rows");
        for (std::int64_t c = 0; c < k; ++c) check_id(nbrs[j * width + c], n, "nbrs");
    }
    parallel_for(m, n_threads, kGrain, [&](std::int64_t begin, std::int64_t end) {
        std::vector<std::int64_t> votes;
        if (kind == EnnKind::mode) votes.assign(static_cast<std::size_t>(n_votes), 0);
        for (std::int64_t j = begin; j < end; ++j) {
            const std::int64_t own = codes[rows[j]];
            const std::int64_t* list = nbrs + j * width;
            if (kind == EnnKind::all) {
                bool same = true;
                for (std::int64_t c = 0; c < k && same; ++c) same = codes[list[c]] == own;
                keep[j] = static_cast<std::uint8_t>(same);
                continue;
            }
            for (std::int64_t c = 0; c < k; ++c) ++votes[codes[list[c]]];
            // The winner is the first code reaching the highest count: ties
            // go to the smaller code, as scipy.stats.mode does.
            std::int64_t best = 0;
            for (std::int64_t c = 1; c < n_votes; ++c)
                if (votes[c] > votes[best]) best = c;
            keep[j] = static_cast<std::uint8_t>(best == own);
            for (std::int64_t c = 0; c < k; ++c) votes[codes[list[c]]] = 0;
        }
    });
}

void compact_neighbors(std::int64_t* nbrs, std::int64_t m, std::int64_t width,
                       const std::uint8_t* alive, std::int64_t n, std::int64_t* counts,
                       int n_threads) {
    if (m < 0 || width < 0 || n < 0) throw std::invalid_argument("compact_neighbors: bad sizes");
    require_size(m == 0 || width <= std::numeric_limits<std::int64_t>::max() / m,
                 "compact_neighbors: m * width overflows");
    for (std::int64_t t = 0; t < m * width; ++t)
        if (nbrs[t] != -1) check_id(nbrs[t], n, "nbrs");
    parallel_for(m, n_threads, kGrain, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t j = begin; j < end; ++j) {
            std::int64_t* list = nbrs + j * width;
            std::int64_t out = 0;
            for (std::int64_t c = 0; c < width; ++c) {
                const std::int64_t id = list[c];
                if (id >= 0 && alive[id]) list[out++] = id;
            }
            counts[j] = out;
            std::fill(list + out, list + width, std::int64_t{-1});
        }
    });
}

}  // namespace imbfast
