// \file
// The compute peaks (the loops of PeakLoops.cpp, after a runtime CPU check:
// that file alone is built for AVX-512 VNNI) and the plain-read bandwidth.
#include "perf/Ceilings.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "perf/PeakLoops.h"

namespace kf::perf {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Keeps a result the compiler could otherwise discard (and the loop with it).
template <class T>
void keep(const T &v) {
    __asm__ volatile("" : : "r,m"(v) : "memory");
}

int threadsOrAll(int threads) {
    if (threads > 0) return threads;
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// ---- compute peaks --------------------------------------------------------

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
            keep(l.run(l.iters));
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
    for (int t = 1; t < threads; ++t) workers.emplace_back([&] { keep(l.run(l.iters)); });
    keep(l.run(l.iters));
    for (auto &w : workers) w.join();
    return l.opsPerIter * double(l.iters) * threads / secondsSince(t0);
}

std::mutex gPeakMutex;

// ---- read bandwidth -------------------------------------------------------

// The sum is compiled once per vector width and the widest the CPU runs is
// used: with 16-byte SSE2 loads (the x86-64 baseline) one core reads ~2/3
// of what it reads with 64-byte loads on AVX-512 machines (measured: 10.4
// vs 15.7 GB/s on a Sapphire Rapids VM), and the kernels' own loads are
// vectors, so a narrower loop would understate the roofline.
#define KFORGE_SUM_WORDS(name, attrs)                                   \
    attrs uint64_t name(const uint64_t *p, std::size_t n) {             \
        uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;                        \
        std::size_t i = 0;                                              \
        for (; i + 4 <= n; i += 4) {                                    \
            a0 += p[i];                                                 \
            a1 += p[i + 1];                                             \
            a2 += p[i + 2];                                             \
            a3 += p[i + 3];                                             \
        }                                                               \
        for (; i < n; ++i) a0 += p[i];                                  \
        return a0 + a1 + a2 + a3;                                       \
    }
KFORGE_SUM_WORDS(sumWordsBaseline, )
#if defined(__x86_64__)
KFORGE_SUM_WORDS(sumWordsAvx2, __attribute__((target("avx2"))))
KFORGE_SUM_WORDS(sumWordsAvx512, __attribute__((target("avx512f"))))
#endif
#undef KFORGE_SUM_WORDS

uint64_t sumWords(const uint64_t *p, std::size_t n) {
#if defined(__x86_64__)
    static const auto best = __builtin_cpu_supports("avx512f") ? sumWordsAvx512
                             : __builtin_cpu_supports("avx2") ? sumWordsAvx2
                                                              : sumWordsBaseline;
    return best(p, n);
#else
    return sumWordsBaseline(p, n);
#endif
}

}  // namespace

double computePeak(bool vnni, int threads, int runs) {
    std::lock_guard<std::mutex> lock(gPeakMutex);
    if (!supported(vnni)) return 0.0;
    threads = threadsOrAll(threads);
    PeakLoop &l = loopOf(vnni);
    double best = 0;
    for (int r = 0; r < runs; ++r) best = std::max(best, once(l, threads));
    return best;
}

double vnniPeakOps(int threads) { return computePeak(true, threads, 3); }
double fmaPeakFlops(int threads) { return computePeak(false, threads, 3); }

double readBandwidth(const void *buf, std::size_t bytes, int threads, int passes) {
    const std::size_t words = bytes / sizeof(uint64_t);
    if (!buf || words == 0) return 0.0;
    threads = threadsOrAll(threads);
    passes = std::max(1, passes);
    const auto *p = static_cast<const uint64_t *>(buf);
    std::vector<uint64_t> sums(static_cast<std::size_t>(threads));
    auto slice = [&](int t) {
        std::size_t lo = words * t / threads, hi = words * (t + 1) / threads;
        uint64_t sum = 0;
        for (int r = 0; r < passes; ++r) {
            sum += sumWords(p + lo, hi - lo);
            __asm__ volatile("" : : : "memory");  // each pass really reads (no reuse of the last sum)
        }
        sums[static_cast<std::size_t>(t)] = sum;
    };
    auto t0 = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 1; t < threads; ++t) workers.emplace_back(slice, t);
    slice(0);
    for (auto &w : workers) w.join();
    const double seconds = secondsSince(t0);
    uint64_t total = 0;
    for (uint64_t v : sums) total += v;
    keep(total);
    return seconds > 0 ? double(words * sizeof(uint64_t)) * passes / seconds : 0.0;
}

ReadBuffer::ReadBuffer(std::size_t bytes)
    : bytes_(bytes / sizeof(uint64_t) * sizeof(uint64_t)), words_(rt::allocateStreamedArray<uint64_t>(bytes_ / sizeof(uint64_t))) {
    if (!words_) throw std::bad_alloc();
    for (std::size_t i = 0; i < bytes_ / sizeof(uint64_t); ++i) words_[i] = i;
}

}  // namespace kf::perf
