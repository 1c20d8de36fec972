// \file
// Decode-time (M = 1) int4 GEMV of the kernels in kernels/lowbit_bench.kf,
// against the roofline that bounds it: DRAM read bandwidth.
//
// A GEMV at M = 1 reads every weight once and does two flops per weight, so it
// is memory bound and its figure of merit is packed weight bytes per second.
// To measure that honestly:
//   - weights stream from DRAM as in a real decode step: each benchmark cycles
//     through distinct layers whose packed bytes total at least
//     max(256 MiB, 2 x last-level cache), one layer per iteration;
//   - the roofline is measured in the same process, right before and right
//     after each timed loop, with the same thread count (a plain read pass over
//     a separate buffer of the same size), because this VM's bandwidth drifts;
//   - the first layer of each set is checked against a double-precision
//     reference before anything is timed (FORMATS.md: w = s * (c - 8)).
// Every variant the emitted library holds and this CPU supports is forced in
// turn. A dense f32 GEMV of the same shape (plain loop, -O3) is the baseline.
//
// Counters: GB/s (packed bytes / s), read_GB/s (the read pass, same threads),
// roofline_ratio (= GB/s / read_GB/s), speedup_vs_dense_f32 (time per GEMV of
// the dense baseline with the same shape and threads / this one, when it ran).
//
// KFORGE_BENCH_STREAM_MIB overrides the streamed size (smoke tests use it).

#include <benchmark/benchmark.h>
#include <kforge/kforge.h>
#include <kforge_bench_lowbit.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMiB = std::size_t{1} << 20;

struct Shape {
    int64_t n, k;
};
constexpr Shape kShapes[] = {{4096, 11008}, {11008, 4096}};

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Last-level cache size from sysfs ("491520K"); 0 when absent.
std::size_t llcBytes() {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index3/size");
    unsigned long long v = 0;
    char unit = 0;
    if (!(in >> v)) return 0;
    in >> unit;
    if (unit == 'K') v <<= 10;
    if (unit == 'M') v <<= 20;
    if (unit == 'G') v <<= 30;
    return static_cast<std::size_t>(v);
}

// Bytes each benchmark streams per pass: enough that nothing stays cached.
std::size_t streamBytes() {
    if (const char *env = std::getenv("KFORGE_BENCH_STREAM_MIB"); env && *env)
        return std::max<std::size_t>(1, std::strtoull(env, nullptr, 10)) * kMiB;
    return std::max(256 * kMiB, 2 * llcBytes());
}

// ---- the read roofline ---------------------------------------------------

uint64_t sumWords(const uint64_t *p, std::size_t n) {
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += p[i];
        a1 += p[i + 1];
        a2 += p[i + 2];
        a3 += p[i + 3];
    }
    for (; i < n; ++i) a0 += p[i];
    return a0 + a1 + a2 + a3;
}

// A buffer as large as the streamed weights, read with `threads` threads, each
// a contiguous slice. Written once so every page is really mapped.
class ReadRoofline {
public:
    explicit ReadRoofline(std::size_t bytes)
        : words_(bytes / sizeof(uint64_t)), buf_(new uint64_t[words_]) {
        for (std::size_t i = 0; i < words_; ++i) buf_[i] = i;
    }
    std::size_t bytes() const { return words_ * sizeof(uint64_t); }

    // Seconds for one pass over the whole buffer.
    double pass(int threads) {
        std::vector<uint64_t> sums(static_cast<std::size_t>(threads));
        auto slice = [&](int t) {
            std::size_t lo = words_ * t / threads, hi = words_ * (t + 1) / threads;
            sums[static_cast<std::size_t>(t)] = sumWords(buf_.get() + lo, hi - lo);
        };
        auto t0 = Clock::now();
        std::vector<std::thread> workers;
        for (int t = 1; t < threads; ++t) workers.emplace_back(slice, t);
        slice(0);
        for (auto &w : workers) w.join();
        double s = secondsSince(t0);
        uint64_t total = 0;
        for (uint64_t v : sums) total += v;
        benchmark::DoNotOptimize(total);
        return s;
    }

private:
    std::size_t words_;
    std::unique_ptr<uint64_t[]> buf_;
};

ReadRoofline &roofline() {
    static ReadRoofline r(streamBytes());
    return r;
}

// ---- the random layer and its reference ----------------------------------

uint16_t floatToHalf(float f) {
    uint32_t x;
    std::memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
    if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);
    if (a >= 0x47800000u) return static_cast<uint16_t>(sign | 0x7c00u);
    if (a < 0x38800000u) {
        float af;
        std::memcpy(&af, &a, sizeof af);
        return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::lrint(af * 16777216.0f)));
    }
    uint32_t h = (a - 0x38000000u) >> 13, rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
}

double halfToDouble(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? std::ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(m + 1024, e - 25);
    return (h & 0x8000u) ? -v : v;
}

// Codes 0..15, f16 scales ~0.01 per (row, group of 128), x in [-1, 1).
struct Weights {
    Shape shape;
    int64_t groups;
    std::vector<uint8_t> codes;
    std::vector<uint16_t> scales;
    std::vector<float> x;

    explicit Weights(Shape s, int group) : shape(s), groups((s.k + group - 1) / group) {
        std::mt19937_64 rng(0x6b666f726765ull ^ static_cast<uint64_t>(s.n * 131 + s.k));
        std::uniform_real_distribution<float> scale(0.005f, 0.015f), in(-1.0f, 1.0f);
        codes.resize(static_cast<std::size_t>(s.n * s.k));
        for (auto &c : codes) c = static_cast<uint8_t>(rng() >> 60);
        scales.resize(static_cast<std::size_t>(s.n * groups));
        for (auto &v : scales) v = floatToHalf(scale(rng));
        x.resize(static_cast<std::size_t>(s.k));
        for (auto &v : x) v = in(rng);
    }

    // ||y - ref|| / ||ref|| for y = x . W^T computed in double.
    double relativeError(const float *y, int group) const {
        double err2 = 0, ref2 = 0;
        for (int64_t r = 0; r < shape.n; ++r) {
            double ref = 0;
            for (int64_t g = 0; g < groups; ++g) {
                double part = 0;
                for (int64_t c = g * group; c < std::min(shape.k, (g + 1) * group); ++c)
                    part += double(x[c]) * (int(codes[r * shape.k + c]) - 8);
                ref += halfToDouble(scales[r * groups + g]) * part;
            }
            err2 += (y[r] - ref) * (y[r] - ref);
            ref2 += ref * ref;
        }
        return std::sqrt(err2 / std::max(ref2, 1e-300));
    }
};

// ---- working sets (one alive at a time, so memory stays ~2 x streamBytes) ----

struct WorkingSet {
    virtual ~WorkingSet() = default;
};

std::unique_ptr<WorkingSet> gWorkingSet;
std::string gWorkingSetKey;

template <class Set, class... Args>
Set &workingSet(const std::string &key, Args &&...args) {
    if (gWorkingSetKey != key) {
        gWorkingSet.reset();  // free the old set before allocating the new one
        gWorkingSet = std::make_unique<Set>(std::forward<Args>(args)...);
        gWorkingSetKey = key;
    }
    return static_cast<Set &>(*gWorkingSet);
}

std::string statusText(kf_status st) {
    return std::string(kf_status_name(st)) + ": " + kf_last_error();
}

// Enough packed layers of one variant to stream streamBytes().
struct LayerSet : WorkingSet {
    std::vector<kf_linear *> layers;
    std::size_t packedBytes = 0;  // per layer
    std::vector<float> x, y;
    std::string error;            // non-empty: a call failed or the check did not match

    LayerSet(const kf_kernel_def *def, int group, Shape shape, const std::string &variant) {
        Weights w(shape, group);
        x = w.x;
        y.assign(static_cast<std::size_t>(shape.n), 0.0f);
        std::size_t want = streamBytes();
        do {
            kf_linear *layer = nullptr;
            kf_status st = kf_linear_create(def, shape.n, shape.k, variant.c_str(), &layer);
            if (st != KF_OK) { error = "kf_linear_create: " + statusText(st); return; }
            layers.push_back(layer);
            if ((st = kf_linear_pack(layer, w.codes.data(), w.scales.data())) != KF_OK) {
                error = "kf_linear_pack: " + statusText(st);
                return;
            }
            packedBytes = kf_linear_packed_bytes(layer);
        } while (packedBytes > 0 && packedBytes * layers.size() < want);
        if (packedBytes == 0) { error = "kf_linear_packed_bytes returned 0"; return; }
        std::fill(y.begin(), y.end(), NAN);
        if (kf_status st = kf_linear_run(layers[0], x.data(), 1, y.data(), 0); st != KF_OK) {
            error = "kf_linear_run: " + statusText(st);
            return;
        }
        if (double err = w.relativeError(y.data(), group); !(err <= 1e-5)) {
            char msg[128];
            std::snprintf(msg, sizeof msg, "result does not match the reference: rel err %.3g > 1e-5", err);
            error = msg;
        }
    }
    ~LayerSet() override {
        for (kf_linear *l : layers) kf_linear_destroy(l);
    }
};

// Dense f32 copies of the same shape, as many as streamBytes() needs.
struct DenseSet : WorkingSet {
    std::vector<std::unique_ptr<float[]>> mats;
    std::vector<float> x, y;
    explicit DenseSet(Shape s) : x(static_cast<std::size_t>(s.k)), y(static_cast<std::size_t>(s.n)) {
        std::size_t elems = static_cast<std::size_t>(s.n * s.k), bytes = elems * sizeof(float);
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> d(-0.1f, 0.1f);
        for (auto &v : x) v = d(rng);
        for (std::size_t have = 0; have < streamBytes(); have += bytes) {
            auto m = std::make_unique<float[]>(elems);
            for (std::size_t i = 0; i < elems; ++i) m[i] = d(rng);
            mats.push_back(std::move(m));
        }
    }
};

// ---- the benchmarks ------------------------------------------------------

tbb::task_arena &arena(int threads) {
    static std::map<int, std::unique_ptr<tbb::task_arena>> arenas;
    auto &a = arenas[threads];
    if (!a) a = std::make_unique<tbb::task_arena>(threads);
    return *a;
}

// y = W x, W row-major [n][k]: the loop a user writes without kforge.
void denseGemvRows(const float *w, const float *x, float *y, int64_t k, int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
        const float *row = w + r * k;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int64_t c = 0; c < k; ++c) acc += row[c] * x[c];
        y[r] = acc;
    }
}

void denseGemv(const float *w, const float *x, float *y, Shape s, int threads) {
    if (threads == 1) return denseGemvRows(w, x, y, s.k, 0, s.n);
    arena(threads).execute([&] {
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, s.n, 64), [&](const tbb::blocked_range<int64_t> &r) {
            denseGemvRows(w, x, y, s.k, r.begin(), r.end());
        });
    });
}

// Seconds per GEMV of the dense baseline, by (n, k, threads), for the speedup counter.
std::map<std::tuple<int64_t, int64_t, int>, double> gDenseSecondsPerCall;

// Runs `call(i)` for i = 0, 1, 2, ... in the timed loop, bracketed by read
// passes; sets the rate counters for `bytesPerCall`. Returns seconds per call.
template <class Call>
double timeStreaming(benchmark::State &state, int threads, std::size_t bytesPerCall, Call &&call) {
    ReadRoofline &read = roofline();
    double readSeconds = read.pass(threads);
    std::size_t i = 0;
    auto t0 = Clock::now();
    for (auto _ : state) {
        if (!call(i++)) break;
    }
    double seconds = secondsSince(t0);
    readSeconds += read.pass(threads);
    if (state.error_occurred() || state.iterations() == 0) return 0;
    // Plain values, not Counter::kIsRate (which would print "GB/s=.../s"); the
    // loop timed here is the one the benchmark's real-time column times.
    double gbs = double(bytesPerCall) * double(state.iterations()) / seconds * 1e-9;
    double readGbs = 2.0 * double(read.bytes()) / readSeconds * 1e-9;
    state.counters["GB/s"] = gbs;
    state.counters["read_GB/s"] = readGbs;
    state.counters["roofline_ratio"] = gbs / readGbs;
    return seconds / double(state.iterations());
}

void benchDense(benchmark::State &state, Shape s, int threads) {
    auto key = "dense/" + std::to_string(s.n) + "x" + std::to_string(s.k);
    DenseSet &set = workingSet<DenseSet>(key, s);
    std::size_t bytes = static_cast<std::size_t>(s.n * s.k) * sizeof(float);
    double perCall = timeStreaming(state, threads, bytes, [&](std::size_t i) {
        denseGemv(set.mats[i % set.mats.size()].get(), set.x.data(), set.y.data(), s, threads);
        benchmark::ClobberMemory();
        return true;
    });
    if (perCall > 0) gDenseSecondsPerCall[{s.n, s.k, threads}] = perCall;
}

void benchLowbit(benchmark::State &state, const kf_kernel_def *def, int group, Shape s,
                 const std::string &variant, int threads) {
    auto key = variant + "/" + std::to_string(s.n) + "x" + std::to_string(s.k);
    LayerSet &set = workingSet<LayerSet>(key, def, group, s, variant);
    if (!set.error.empty()) {
        state.SkipWithError(set.error.c_str());
        return;
    }
    double perCall = timeStreaming(state, threads, set.packedBytes, [&](std::size_t i) {
        kf_status st = kf_linear_run(set.layers[i % set.layers.size()], set.x.data(), 1, set.y.data(), threads);
        if (st == KF_OK) return true;
        static thread_local std::string msg;
        msg = "kf_linear_run: " + statusText(st);
        state.SkipWithError(msg.c_str());
        return false;
    });
    auto dense = gDenseSecondsPerCall.find({s.n, s.k, threads});
    if (perCall > 0 && dense != gDenseSecondsPerCall.end())
        state.counters["speedup_vs_dense_f32"] = dense->second / perCall;
}

std::vector<int> threadCounts() {
    std::vector<int> t{1, 2};
    int hw = static_cast<int>(std::thread::hardware_concurrency());
    if (hw > 2) t.push_back(hw);
    return t;
}

// Ordered so that each working set is built once: for each shape, the dense
// baseline at every thread count, then each variant at every thread count.
void registerAll() {
    const kf_kernel_def *def = kf_bench_lowbit_int4_g128();
    kf_linear_info info{};
    if (kf_status st = kf_linear_query(def, &info); st != KF_OK) {
        std::fprintf(stderr, "kf_linear_query: %s\n", statusText(st).c_str());
        std::exit(1);
    }
    for (Shape s : kShapes) {
        std::string dims = std::to_string(s.n) + "x" + std::to_string(s.k);
        for (int t : threadCounts()) {
            auto name = "dense_f32/" + dims + "/threads:" + std::to_string(t);
            benchmark::RegisterBenchmark(name.c_str(), benchDense, s, t)->UseRealTime()->Unit(benchmark::kMillisecond);
        }
        for (int v = 0; v < info.num_variants; ++v) {
            if (!kf_variant_supported(def, v)) continue;
            std::string variant = kf_variant_name(def, v);
            for (int t : threadCounts()) {
                auto name = std::string(info.weight_format) + "/" + variant + "/" + dims + "/threads:" + std::to_string(t);
                benchmark::RegisterBenchmark(name.c_str(), benchLowbit, def, info.group, s, variant, t)
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
            }
        }
    }
}

}  // namespace

int main(int argc, char **argv) {
    // Default --benchmark_min_time=0.5 (the whole run stays near two minutes);
    // a flag on the command line wins.
    std::vector<char *> args(argv, argv + argc);
    std::string minTime = "--benchmark_min_time=0.5";
    bool haveMinTime = std::any_of(args.begin(), args.end(), [](const char *a) {
        return std::strncmp(a, "--benchmark_min_time", 20) == 0;
    });
    if (!haveMinTime) args.insert(args.begin() + 1, minTime.data());
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
    registerAll();
    benchmark::AddCustomContext("stream_MiB", std::to_string(streamBytes() / kMiB));
    benchmark::AddCustomContext("llc_MiB", std::to_string(llcBytes() / kMiB));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
