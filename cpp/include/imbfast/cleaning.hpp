// Decisions of the cleaning under-samplers, taken from neighbour lists.
//
// Labels arrive as int codes 0..n_classes-1 (np.unique(y, return_inverse=True)),
// so "the smaller label" is the smaller code. Neighbour lists are row-major
// (n_rows, width) tables of sample ids, nearest first; -1 marks an empty slot
// at the end of a list. Every function validates ids and codes before using
// them and throws std::invalid_argument / std::out_of_range; none aborts.
// Results never depend on n_threads.
#pragma once

#include <cstdint>

namespace imbfast {

// Tomek links. nn1[i] is the nearest neighbour of sample i (self excluded),
// or -1 when it was not searched (such a sample is in no link: callers
// search every sample that can be, see TomekLinks).
// remove[i] = 1 when i and nn1[i] are each other's nearest neighbour, have
// different labels, and i's class is targeted (targeted[codes[i]] != 0).
// Returns the number of samples flagged.
std::int64_t tomek_links(const std::int64_t* nn1, const std::int64_t* codes, std::int64_t n,
                         const std::uint8_t* targeted, std::int64_t n_classes,
                         std::uint8_t* remove, int n_threads);

// Selection rule of the edited nearest neighbours.
enum class EnnKind : int { all = 0, mode = 1 };

// ENN votes. For each query j (a sample id rows[j] with the neighbour list
// nbrs[j, :]), the first k neighbours vote:
//   all : keep[j] = 1 when all k neighbours share the label of rows[j];
//   mode: keep[j] = 1 when the most frequent neighbour label (ties to the
//         smaller code) is the label of rows[j].
// Every list must hold at least k valid ids (k <= width).
void enn_keep(const std::int64_t* rows, std::int64_t m, const std::int64_t* nbrs,
              std::int64_t width, std::int64_t k, const std::int64_t* codes, std::int64_t n,
              std::int64_t n_classes, EnnKind kind, std::uint8_t* keep, int n_threads);

// Drops, in place, the ids of samples no longer alive (alive[id] == 0) from
// each of the m lists, keeping the order of the rest and padding with -1.
// counts[j] receives the number of ids left in list j. Because a list of the
// L nearest among a set, filtered to a subset, is the list of the nearest
// among that subset, the first counts[j] entries stay exact.
void compact_neighbors(std::int64_t* nbrs, std::int64_t m, std::int64_t width,
                       const std::uint8_t* alive, std::int64_t n, std::int64_t* counts,
                       int n_threads);

}  // namespace imbfast
