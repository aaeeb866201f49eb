// A small thread pool primitive: run fn(begin, end) over [0, n) in chunks.
// Threads pull chunks from an atomic counter; the first exception thrown by
// any worker is kept and rethrown on the calling thread after all joined.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace imbfast {

// Number of hardware threads (at least 1).
inline int hardware_threads() {
    const unsigned h = std::thread::hardware_concurrency();
    return h == 0 ? 1 : static_cast<int>(h);
}

// Clamp a requested thread count to [1, hardware_threads()].
inline int clamp_threads(int n_threads) {
    return std::max(1, std::min(n_threads, hardware_threads()));
}

// The least work (in simple operations: a multiply-add, a byte copied)
// worth a thread of its own. Starting and joining a thread costs tens of
// microseconds, and far more on a busy machine, so small inputs run on the
// calling thread: about a millisecond of work per thread at the least.
constexpr std::int64_t kMinWorkPerThread = std::int64_t{1} << 21;

// The grain (items per thread at the least) for items of the given cost.
inline std::int64_t grain_for(std::int64_t work_per_item) {
    return std::max<std::int64_t>(1, kMinWorkPerThread / std::max<std::int64_t>(1, work_per_item));
}

// Threads worth starting for `total_work` operations (1 to n_threads).
inline int threads_for(std::int64_t total_work, int n_threads) {
    const std::int64_t useful = total_work / kMinWorkPerThread;
    return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(useful, clamp_threads(n_threads))));
}

// Calls fn(begin, end) for consecutive chunks covering [0, n).
// `grain` is the smallest chunk worth a thread: inputs with n <= grain run
// on the calling thread. The chunking never changes what is computed, only
// who computes it, so results do not depend on n_threads.
template <class Fn>
void parallel_for(std::int64_t n, int n_threads, std::int64_t grain, Fn&& fn) {
    if (n <= 0) return;
    grain = std::max<std::int64_t>(grain, 1);
    int workers = clamp_threads(n_threads);
    const std::int64_t max_useful = (n + grain - 1) / grain;
    if (max_useful < workers) workers = static_cast<int>(max_useful);
    if (workers <= 1) {
        fn(std::int64_t{0}, n);
        return;
    }
    // Several chunks per worker balance uneven rows without much overhead.
    const std::int64_t n_chunks = std::min<std::int64_t>(max_useful, std::int64_t{workers} * 8);
    const std::int64_t chunk = (n + n_chunks - 1) / n_chunks;
    std::atomic<std::int64_t> next{0};
    std::exception_ptr first_error;
    std::mutex error_mutex;
    std::atomic<bool> failed{false};

    auto work = [&]() {
        for (;;) {
            if (failed.load(std::memory_order_relaxed)) return;
            const std::int64_t begin = next.fetch_add(chunk);
            if (begin >= n) return;
            const std::int64_t end = std::min(n, begin + chunk);
            try {
                fn(begin, end);
            } catch (...) {
                std::lock_guard<std::mutex> lock(error_mutex);
                if (!first_error) first_error = std::current_exception();
                failed.store(true);
                return;
            }
        }
    };

    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(workers - 1));
    try {
        for (int t = 1; t < workers; ++t) pool.emplace_back(work);
    } catch (...) {
        // Could not start a thread: finish with the ones we have.
    }
    work();
    for (auto& th : pool) th.join();
    if (first_error) std::rethrow_exception(first_error);
}

}  // namespace imbfast
