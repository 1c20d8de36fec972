// \file
// Threads of a kernel call: `num_threads` 0 runs in the caller's TBB arena
// (all hardware threads by default), N > 0 in an arena of N threads that an
// object (a layer, a rotation) keeps for its later calls. Generated kernels
// reach TBB through their backend's bridge (e.g. Halide's parallel loops are
// routed to tbb::parallel_for), so the arena a call runs in bounds them.
#pragma once

#include <tbb/task_arena.h>

#include <map>
#include <memory>
#include <mutex>

namespace kf::rt {

class ArenaCache {
public:
    // Runs f() on `threads` threads (0 = the caller's arena) and returns its result.
    template <class F>
    auto run(int threads, F &&f) {
        if (threads == 0) return f();
        return arena(threads).execute(std::forward<F>(f));
    }

private:
    tbb::task_arena &arena(int threads) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto &a = arenas_[threads];
        if (!a) a = std::make_unique<tbb::task_arena>(threads);
        return *a;
    }
    std::mutex mutex_;
    std::map<int, std::unique_ptr<tbb::task_arena>> arenas_;
};

}  // namespace kf::rt
