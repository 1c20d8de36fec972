// \file
// What every family's benchmarks share (bench/<family>/): the streamed
// working-set size, the read roofline measured next to every timed loop, the
// kernel file a bench library came from, one working set alive at a time,
// the timed streaming loop, the int8 / f32 compute peaks (kforge_perf:
// perf/Ceilings.h, shared with the autotuner) and main.
#pragma once

#include <benchmark/benchmark.h>
#include <kforge/kforge.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dsl/Spec.h"
#include "perf/Ceilings.h"
#include "runtime/StreamMemory.h"

namespace kfbench {

namespace dsl = kf::dsl;
using Clock = std::chrono::steady_clock;
constexpr std::size_t kMiB = std::size_t{1} << 20;

inline double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Last-level cache size from sysfs ("491520K"); 0 when absent.
std::size_t llcBytes();
// Bytes each benchmark streams per pass: max(256 MiB, 2 x LLC), or
// KFORGE_BENCH_STREAM_MIB when set (smoke tests).
std::size_t streamBytes();
// 1, 2, and all hardware threads when there are more.
std::vector<int> threadCounts();

// ---- the read roofline ---------------------------------------------------

// A buffer as large as the streamed weights, on the same kind of pages as the
// layers (kf::perf::ReadBuffer), read with `threads` threads (a plain sum of
// uint64 words, 4 accumulators, contiguous slices per thread:
// kf::perf::readBandwidth).
class ReadRoofline {
public:
    explicit ReadRoofline(std::size_t bytes) : buf_(bytes) {}
    std::size_t bytes() const { return buf_.bytes(); }
    double pass(int threads);  // seconds for one pass over the whole buffer

private:
    kf::perf::ReadBuffer buf_;
};

ReadRoofline &roofline();

// ---- numbers -------------------------------------------------------------

uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
std::string statusText(kf_status st);

// ---- the kernel file a bench library was emitted from ------------------

// Kernel `name` of the kernel file at `path` (kf::dsl::loadFile); exits with a
// message when the file does not load or has no such kernel.
const dsl::KernelSpec &kernelSpec(const std::string &path, const std::string &name);

// The kernel called `name` among an emitted library's kernels (what its
// kf_<lib>_kernels(&count) returns); exits with a message when there is none.
const kf_kernel_def *kernelDef(const kf_kernel_def *const *all, int count, const std::string &name);

// ---- working sets (one alive at a time, so memory stays ~2 x streamBytes) ----

struct WorkingSet {
    virtual ~WorkingSet() = default;
};
extern std::unique_ptr<WorkingSet> gWorkingSet;
extern std::string gWorkingSetKey;

template <class Set, class... Args>
Set &workingSet(const std::string &key, Args &&...args) {
    if (gWorkingSetKey != key) {
        gWorkingSet.reset();  // free the old set before allocating the new one
        gWorkingSetKey.clear();
        gWorkingSet = std::make_unique<Set>(std::forward<Args>(args)...);
        gWorkingSetKey = key;
    }
    return static_cast<Set &>(*gWorkingSet);
}

// ---- baselines -----------------------------------------------------------

// fn(lo, hi) over [0, n) in blocks of `grain`, on `threads` threads (TBB arena).
void parallelFor(int threads, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &fn);

// f32 arrays a baseline streams, on the layers' kind of pages
// (kf::rt::allocateStreamed), so a speedup is not a page-size effect.
using StreamedFloats = kf::rt::StreamedArray<float>;
StreamedFloats streamedFloats(std::size_t count);  // uninitialised; exits when out of memory

// ---- the timed loop ------------------------------------------------------

// Runs `call(i)` for i = 0, 1, 2, ... in the timed loop (false stops it),
// bracketed by read passes with the same thread count; sets GB/s (for
// bytesPerCall), read_GB/s and roofline_ratio. Returns seconds per call (0 on
// error or no iteration).
double timeStreaming(benchmark::State &state, int threads, std::size_t bytesPerCall,
                     const std::function<bool(std::size_t)> &call);

// ---- compute peaks (perf/Ceilings.h; 0 when the CPU lacks the instructions) ----

using kf::perf::computePeak;   // (vnni, threads, runs): best of `runs` runs, ops/s
using kf::perf::fmaPeakFlops;  // computePeak(false, threads, 3)
using kf::perf::vnniPeakOps;   // computePeak(true, threads, 3)

// Marks the benchmark as an error (SkipWithError) and makes benchMain return 1,
// so a smoke test fails on a reference mismatch.
void fail(benchmark::State &state, const std::string &message);

// ---- main ----------------------------------------------------------------

// Google Benchmark's main with a default --benchmark_min_time and a default
// --benchmark_filter (flags on the command line win; registerAll returns the
// default filter, as it may depend on the variants this CPU runs), plus our
// own flags: `flags` maps "--name" to a setter that receives the value after
// '=' ("" for a bare flag). Returns 1 when a benchmark called fail().
// Registers a benchmark timed in wall-clock milliseconds, as every kforge bench is.
template <class... Args>
void add(const std::string &name, Args &&...args) {
    benchmark::RegisterBenchmark(name.c_str(), std::forward<Args>(args)...)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

int benchMain(int argc, char **argv, const char *defaultMinTime,
              const std::map<std::string, std::function<void(const std::string &)>> &flags,
              const std::function<std::string()> &registerAll);

}  // namespace kfbench
