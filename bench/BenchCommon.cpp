#include "BenchCommon.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "dsl/Load.h"

namespace kfbench {

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

std::size_t streamBytes() {
    if (const char *env = std::getenv("KFORGE_BENCH_STREAM_MIB"); env && *env)
        return std::max<std::size_t>(1, std::strtoull(env, nullptr, 10)) * kMiB;
    return std::max(256 * kMiB, 2 * llcBytes());
}

std::vector<int> threadCounts() {
    std::vector<int> t{1, 2};
    int hw = static_cast<int>(std::thread::hardware_concurrency());
    if (hw > 2) t.push_back(hw);
    return t;
}

// ---- the read roofline ---------------------------------------------------

double ReadRoofline::pass(int threads) {
    const double bandwidth = buf_.bandwidth(threads);
    return bandwidth > 0 ? double(bytes()) / bandwidth : 0.0;
}

ReadRoofline &roofline() {
    static ReadRoofline r(streamBytes());
    return r;
}

// ---- numbers -------------------------------------------------------------

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

float halfToFloat(uint16_t h) {
    // Bit manipulation (the baseline converts one scale per group per call).
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    if (e == 31) {
        bits = sign | 0x7f800000u | (m << 13);
    } else if (e != 0) {
        bits = sign | ((e + 112) << 23) | (m << 13);
    } else if (m == 0) {
        bits = sign;
    } else {  // subnormal: normalise
        e = 113;
        while (!(m & 0x400u)) {
            m <<= 1;
            --e;
        }
        bits = sign | (e << 23) | ((m & 0x3ffu) << 13);
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

std::string statusText(kf_status st) { return std::string(kf_status_name(st)) + ": " + kf_last_error(); }

// ---- the kernel file -----------------------------------------------------

const kf_kernel_def *kernelDef(const kf_kernel_def *const *all, int count, const std::string &name) {
    for (int i = 0; i < count; ++i) {
        kf_kernel_info info{};
        if (kf_kernel_query(all[i], &info) == KF_OK && name == info.name) return all[i];
    }
    std::fprintf(stderr, "the bench library has no kernel '%s'\n", name.c_str());
    std::exit(1);
}

const dsl::KernelSpec &kernelSpec(const std::string &path, const std::string &name) {
    static std::map<std::string, std::unique_ptr<dsl::Module>> modules;
    auto &mod = modules[path];
    if (!mod) {
        auto r = dsl::loadFile(path, {});
        if (!r.ok()) {
            std::fprintf(stderr, "cannot load kernel file %s\n", path.c_str());
            std::exit(1);
        }
        mod = std::make_unique<dsl::Module>(*r.module);
    }
    const auto *spec = mod->findKernel(name);
    if (!spec) {
        std::fprintf(stderr, "%s: no kernel '%s'\n", path.c_str(), name.c_str());
        std::exit(1);
    }
    return *spec;
}

// ---- working sets --------------------------------------------------------

std::unique_ptr<WorkingSet> gWorkingSet;
std::string gWorkingSetKey;

// ---- baselines -----------------------------------------------------------

namespace {
tbb::task_arena &arena(int threads) {
    static std::map<int, std::unique_ptr<tbb::task_arena>> arenas;
    auto &a = arenas[threads];
    if (!a) a = std::make_unique<tbb::task_arena>(threads);
    return *a;
}
}  // namespace

void parallelFor(int threads, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &fn) {
    if (threads <= 1) return fn(0, n);
    arena(threads).execute([&] {
        tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                          [&](const tbb::blocked_range<int64_t> &r) { fn(r.begin(), r.end()); });
    });
}

StreamedFloats streamedFloats(std::size_t count) {
    StreamedFloats p = kf::rt::allocateStreamedArray<float>(count);
    if (!p) {
        std::fprintf(stderr, "out of memory: %zu floats\n", count);
        std::exit(1);
    }
    return p;
}

// ---- the timed loop ------------------------------------------------------

double timeStreaming(benchmark::State &state, int threads, std::size_t bytesPerCall,
                     const std::function<bool(std::size_t)> &call) {
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

// ---- main ----------------------------------------------------------------

namespace {
int gFailures = 0;
}

void fail(benchmark::State &state, const std::string &message) {
    ++gFailures;
    state.SkipWithError(message.c_str());
}

int benchMain(int argc, char **argv, const char *defaultMinTime,
              const std::map<std::string, std::function<void(const std::string &)>> &flags,
              const std::function<std::string()> &registerAll) {
    std::vector<char *> args;
    bool haveMinTime = false, haveFilter = false;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (i > 0) {
            std::string name = a.substr(0, a.find('='));
            auto f = flags.find(name);
            if (f != flags.end()) {
                f->second(a.size() > name.size() ? a.substr(name.size() + 1) : "");
                continue;
            }
            haveMinTime |= a.rfind("--benchmark_min_time", 0) == 0;
            haveFilter |= a.rfind("--benchmark_filter", 0) == 0 || a.rfind("--benchmark_list_tests", 0) == 0;
        }
        args.push_back(argv[i]);
    }
    // Registration first: it needs no benchmark flag and gives the default filter.
    const std::string defaultFilter = registerAll();
    std::string minTime = std::string("--benchmark_min_time=") + defaultMinTime;
    std::string filter = "--benchmark_filter=" + defaultFilter;
    if (!haveMinTime) args.insert(args.begin() + 1, minTime.data());
    if (!haveFilter && !defaultFilter.empty()) args.insert(args.begin() + 1, filter.data());
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
    benchmark::AddCustomContext("stream_MiB", std::to_string(streamBytes() / kMiB));
    benchmark::AddCustomContext("llc_MiB", std::to_string(llcBytes() / kMiB));
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (gFailures) std::fprintf(stderr, "%d benchmark(s) failed (see their error_message)\n", gFailures);
    return gFailures ? 1 : 0;
}

}  // namespace kfbench
