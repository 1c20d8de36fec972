// \file
// Threads of a kernel call: `num_threads` 0 runs in the caller's TBB arena
// (all hardware threads by default), N > 0 in an arena of N threads that an
// object (a layer, a rotation) keeps for its later calls. Generated kernels
// reach TBB through their backend's bridge (e.g. Halide's parallel loops are
// routed to tbb::parallel_for), so the arena a call runs in bounds them.
#pragma once

#include <tbb/task_arena.h>

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

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
#if defined(__SANITIZE_THREAD__)
        // execute() may hand f to a TBB worker (or to another caller's thread
        // waiting in the arena), which then reads f's captures on this
        // thread's stack. libtbb is not instrumented, so tell TSan of the
        // hand-off and of the hand-back (scripts/sanitize.sh thread).
        char handOff = 0;
        __tsan_release(&handOff);
        auto result = arena(threads).execute([&] {
            __tsan_acquire(&handOff);
            auto r = f();
            __tsan_release(&handOff);
            return r;
        });
        __tsan_acquire(&handOff);
        return result;
#else
        return arena(threads).execute(std::forward<F>(f));
#endif
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
