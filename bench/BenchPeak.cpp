// The compute peaks the prefill ratios are taken against: the loops of
// PeakLoops.cpp on 1..n std::threads at once, after a runtime CPU check (the
// peak is 0 on a CPU without the instructions).
#include <algorithm>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "BenchCommon.h"
#include "PeakLoops.h"

namespace kfbench {

namespace {

struct PeakLoop {
    double opsPerIter;
    int64_t (*run)(int64_t iters);
    int64_t iters = 0;  // calibrated: one run takes >= 0.05 s on one thread
};

bool supported(bool vnni) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) return false;
    return !vnni || __builtin_cpu_supports("avx512vnni");
}

int64_t fmaAsInt(int64_t iters) { return static_cast<int64_t>(fmaLoop(iters)); }

PeakLoop &loopOf(bool vnni) {
    static PeakLoop v{2.0 * 64 * kAcc, vnniLoop}, f{2.0 * 16 * kAcc, fmaAsInt};
    PeakLoop &l = vnni ? v : f;
    if (l.iters == 0) {
        l.iters = 1 << 14;
        for (;;) {
            auto t0 = Clock::now();
            benchmark::DoNotOptimize(l.run(l.iters));
            if (secondsSince(t0) > 0.05) break;
            l.iters *= 2;
        }
    }
    return l;
}

// Ops per second of one run of the loop on `threads` threads at once.
double once(PeakLoop &l, int threads) {
    auto t0 = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t) workers.emplace_back([&] { benchmark::DoNotOptimize(l.run(l.iters)); });
    benchmark::DoNotOptimize(l.run(l.iters));
    for (auto &w : workers) w.join();
    return l.opsPerIter * double(l.iters) * threads / secondsSince(t0);
}

std::mutex gMutex;

}  // namespace

double computePeak(bool vnni, int threads, int runs) {
    std::lock_guard<std::mutex> lock(gMutex);
    if (!supported(vnni)) return 0.0;
    PeakLoop &l = loopOf(vnni);
    double best = 0;
    for (int r = 0; r < runs; ++r) best = std::max(best, once(l, threads));
    return best;
}

double vnniPeakOps(int threads) { return computePeak(true, threads, 3); }
double fmaPeakFlops(int threads) { return computePeak(false, threads, 3); }

}  // namespace kfbench
