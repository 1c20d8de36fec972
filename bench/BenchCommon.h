// \file
// What the low-bit linear benchmarks share (LowbitLinearBench.cpp: decode,
// LowbitPrefillBench.cpp: prefill): the streamed working-set size, the read
// roofline measured next to every timed loop, random layers in the
// checkpoint layout with their double-precision check, packed layer sets that
// stream from DRAM, the dense f32 and dequantize-then-multiply baselines, and
// the int8 / f32 compute peaks (kforge_perf: perf/Ceilings.h, shared with the
// autotuner).
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

struct Shape {
    int64_t n, k;
};
std::string dims(Shape s);  // "4096x11008"

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

// ---- the kernel file the bench library was emitted from ------------------

// Parameters of kernel `name` of the kernel file at `path` (kf::dsl::loadFile);
// exits with a message when the file does not load or has no such kernel.
dsl::LowbitLinearParams kernelParams(const std::string &path, const std::string &name);
// Codes of the format: 2 (binary), 3 (ternary), 2^bits otherwise.
unsigned levelCount(const dsl::WeightFormat &w);
// L(c) for every code (FORMATS.md), as float.
std::vector<float> levelTable(const dsl::WeightFormat &w);
const char *actName(dsl::ActKind a);  // "f32", "bf16", "int8"

// ---- a random layer in the checkpoint layout ------------------------------

// Codes uniform in the format's range, f16 scales in [0.005, 0.015), x in
// [-1, 1) ([maxM][K]). Deterministic in (shape, format).
struct Layer {
    Shape shape;
    int group;
    int64_t groups;
    std::vector<uint8_t> codes;    // [N][K]
    std::vector<uint16_t> scales;  // [N][groups], f16 bits
    std::vector<float> x;          // [maxM][K]

    Layer(const dsl::LowbitLinearParams &p, Shape s, int64_t maxM);
};

// Relative L2 error of y ([M][N]) against kf::families::lowbit::referenceLinear
// (double precision) on rows `rows` of x (all rows when empty).
double relativeError(const dsl::LowbitLinearParams &p, const Layer &w, int64_t M, const float *y,
                     const std::vector<int64_t> &rows = {});

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

// Enough packed layers of one kernel and variant to stream streamBytes(). The
// first layer is checked against the reference once per row count M (check).
struct LayerSet : WorkingSet {
    dsl::LowbitLinearParams params;
    Layer w;
    std::vector<kf_linear *> layers;
    std::size_t packedBytes = 0;  // per layer
    std::vector<float> y;
    std::string error;  // non-empty: creating or packing failed
    std::map<int64_t, std::string> checked;  // M -> "" or what did not match

    LayerSet(const kf_kernel_def *def, const dsl::LowbitLinearParams &p, Shape shape, const std::string &variant,
             int64_t maxM);
    ~LayerSet() override;
    // "" when layer 0 at M rows matches the reference (rel. L2 error <= 1e-5);
    // else what failed. `rows` as for relativeError.
    const std::string &check(int64_t M, const std::vector<int64_t> &rows = {});
};

// ---- baselines -----------------------------------------------------------

// fn(lo, hi) over [0, n) in blocks of `grain`, on `threads` threads (TBB arena).
void parallelFor(int threads, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &fn);

// y[M][N] = x[M][K] . W^T, W row-major f32 [N][K]: the loop a user writes
// without kforge (-O3, `omp simd`), rows of W in parallel, each row of W read
// once for up to 4 rows of x at a time.
void denseGemm(const float *w, const float *x, float *y, int64_t M, Shape s, int threads);

// f32 arrays a baseline streams, on the layers' kind of pages
// (kf::rt::allocateStreamed), so a speedup is not a page-size effect.
using StreamedFloats = kf::rt::StreamedArray<float>;
StreamedFloats streamedFloats(std::size_t count);  // uninitialised; exits when out of memory

// Dense f32 copies of one shape, as many as streamBytes() needs.
struct DenseSet : WorkingSet {
    std::vector<StreamedFloats> mats;
    std::vector<float> x, y;
    DenseSet(Shape s, int64_t maxM);
};

// "Dequantize to f32, then multiply": layers stored compactly (codes packed
// LSB first at 2 bits for <= 4 levels, 4 bits otherwise, one f16 scale per
// group), as many as streamBytes() needs; each call dequantizes one layer into
// an f32 [N][K] matrix and runs denseGemm on it.
struct DequantSet : WorkingSet {
    Shape shape;
    Layer w;  // the layer in the checkpoint layout (x: w.x), for the check
    int codeBits;
    std::vector<std::vector<uint8_t>> codes;  // per layer
    std::vector<uint16_t> scales;             // [N][groups] (the same for every layer)
    std::vector<float> lut;                   // byte -> 8 / codeBits levels
    std::unique_ptr<float[]> dense;           // [N][K] scratch
    std::vector<float> y;
    std::size_t bytesPerLayer = 0;            // codes + scales

    DequantSet(const dsl::LowbitLinearParams &p, Shape s, int64_t maxM);
    void dequantize(std::size_t layer, int threads);
    void run(std::size_t layer, int64_t M, int threads);
};

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
