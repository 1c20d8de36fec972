// \file
// Hadamard rotations (the kernels of hadamard_bench.kf) against what bounds
// them, measured in the same run:
//   - streaming: M rows of n floats whose input + output total at least
//     max(256 MiB, 2 x last-level cache), one call over all of them, next to
//     a plain copy (memcpy) of the same bytes on the same threads and the
//     same kind of pages: counters vs_copy (= time / copy time; the goal is
//     <= 1.1 for n = 2^k and <= 1.3 for m * 2^k) and roofline_ratio
//     (= copy time / time);
//   - latency: rows that stay in L1/L2 (64 KiB of input), one thread:
//     ns_per_row, the figure FFHT reports (bench/README.md has both);
//   - R4 -> down_proj (SpinQuant's rotation in front of Llama-2-7B's
//     down_proj, int4 weights, int8 activations): the rotation quantizing its
//     rows for the layer (kf_hadamard_run_q8 + kf_linear_run_q8) next to the
//     steps apart (kf_hadamard_run writes f32 rows, kf_linear_run quantizes
//     them), weights streamed from memory as in a decode step; counter
//     fused_speedup on the fused benchmark.
// Every kernel is checked against the family's double-precision reference
// (dsl/families/hadamard/Reference.h) before it is timed; the fused path must
// give the separate path's result exactly.
#include <kforge_bench_rotations.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "BenchCommon.h"
#include "dsl/families/hadamard/Reference.h"

namespace {

using namespace kfbench;
namespace ref = kf::families::hadamard;

const kf_kernel_def *kernelNamed(const std::string &name) {
    int count = 0;
    const kf_kernel_def *const *all = kf_bench_rotations_kernels(&count);
    return kernelDef(all, count, name);
}

const dsl::HadamardParams &paramsOf(const std::string &name) {
    return std::get<dsl::HadamardParams>(kernelSpec(KFORGE_BENCH_KERNELS, name).params);
}

// ---- a rotation and its rows ------------------------------------------------

// `rows` rows of random input, the rotation's output, the rotation itself,
// checked against the reference on a few rows once.
struct RotationSet : WorkingSet {
    std::string name, error;
    int64_t n = 0, rows = 0;
    StreamedFloats x, y;
    kf_hadamard *h = nullptr;

    RotationSet(const std::string &kernel, int64_t rowCount) : name(kernel), rows(rowCount) {
        const dsl::HadamardParams &p = paramsOf(kernel);
        n = *p.n.size;
        const std::size_t values = static_cast<std::size_t>(rows * n);
        x = streamedFloats(values);
        y = streamedFloats(values);
        const std::vector<float> block = ref::randomRows(std::min<int64_t>(rows, 64), n, 7);
        for (std::size_t i = 0; i < values; i += block.size())
            std::memcpy(&x[i], block.data(), std::min(block.size(), values - i) * sizeof(float));
        std::memset(y.get(), 0, values * sizeof(float));
        if (kf_status st = kf_hadamard_create(kernelNamed(kernel), nullptr, &h); st != KF_OK) {
            error = "kf_hadamard_create: " + statusText(st);
            return;
        }
        if (kf_status st = kf_hadamard_run(h, x.get(), rows, y.get(), 0); st != KF_OK) {
            error = "kf_hadamard_run: " + statusText(st);
            return;
        }
        // Two rows against the dense reference.
        const int64_t checked = std::min<int64_t>(2, rows);
        std::vector<double> expect(static_cast<std::size_t>(checked * n));
        ref::referenceHadamard(p, checked, x.get(), expect.data());
        if (double err = ref::relativeError(y.get(), expect.data(), checked * n); !(err <= 1e-6))
            error = name + " does not match the reference: relative L2 error " + std::to_string(err);
    }
    ~RotationSet() override { kf_hadamard_destroy(h); }
};

// ---- the copy roofline ------------------------------------------------------

// Seconds of one memcpy of `bytes` from src to dst on `threads` threads, each
// copying a contiguous slice (the best of two passes).
double copySeconds(const float *src, float *dst, std::size_t bytes, int threads) {
    double best = 0;
    for (int pass = 0; pass < 2; ++pass) {
        const auto t0 = Clock::now();
        const int64_t lines = static_cast<int64_t>(bytes / 64);
        parallelFor(threads, threads, 1, [&](int64_t lo, int64_t hi) {
            for (int64_t t = lo; t < hi; ++t) {
                const int64_t a = lines * t / threads * 64, b = (t + 1 == threads ? static_cast<int64_t>(bytes) : lines * (t + 1) / threads * 64);
                std::memcpy(reinterpret_cast<char *>(dst) + a, reinterpret_cast<const char *>(src) + a,
                            static_cast<std::size_t>(b - a));
            }
        });
        benchmark::ClobberMemory();
        const double s = secondsSince(t0);
        best = pass == 0 ? s : std::min(best, s);
    }
    return best;
}

void benchStream(benchmark::State &state, const std::string &kernel, int threads) {
    const int64_t n = *paramsOf(kernel).n.size;
    const int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(streamBytes() / (8 * static_cast<std::size_t>(n))));
    RotationSet &set = workingSet<RotationSet>("stream/" + kernel, kernel, rows);
    if (!set.error.empty()) return fail(state, set.error);
    const std::size_t bytes = static_cast<std::size_t>(rows * n) * sizeof(float);
    double copy = copySeconds(set.x.get(), set.y.get(), bytes, threads);
    const auto t0 = Clock::now();
    for (auto _ : state)
        if (kf_status st = kf_hadamard_run(set.h, set.x.get(), rows, set.y.get(), threads); st != KF_OK)
            return fail(state, "kf_hadamard_run: " + statusText(st));
    const double perCall = secondsSince(t0) / double(state.iterations());
    copy = std::min(copy, copySeconds(set.x.get(), set.y.get(), bytes, threads));
    state.counters["GB/s"] = 2.0 * double(bytes) / perCall * 1e-9;
    state.counters["copy_GB/s"] = 2.0 * double(bytes) / copy * 1e-9;
    state.counters["vs_copy"] = perCall / copy;
    state.counters["roofline_ratio"] = copy / perCall;
    state.counters["rows"] = double(rows);
}

void benchLatency(benchmark::State &state, const std::string &kernel) {
    const int64_t n = *paramsOf(kernel).n.size;
    const int64_t rows = std::max<int64_t>(1, 16384 / n);  // 64 KiB of input: in L1/L2 with its output
    RotationSet &set = workingSet<RotationSet>("latency/" + kernel, kernel, rows);
    if (!set.error.empty()) return fail(state, set.error);
    for (int warm = 0; warm < 10; ++warm) kf_hadamard_run(set.h, set.x.get(), rows, set.y.get(), 1);
    const auto t0 = Clock::now();
    for (auto _ : state)
        if (kf_status st = kf_hadamard_run(set.h, set.x.get(), rows, set.y.get(), 1); st != KF_OK)
            return fail(state, "kf_hadamard_run: " + statusText(st));
    state.counters["ns_per_row"] = secondsSince(t0) / double(state.iterations() * rows) * 1e9;
    state.counters["rows"] = double(rows);
}

// ---- R4 -> down_proj ---------------------------------------------------------

// Copies of one down_proj layer until they stream (as a decode step reads its
// weights), the rotations of both paths, activations and outputs for M rows.
struct R4Set : WorkingSet {
    std::string error;
    int64_t M, n = 11008, N = 4096;
    std::vector<kf_linear *> layers;
    kf_hadamard *rotF32 = nullptr, *rotQ8 = nullptr;
    std::vector<float> x, yRot, outSeparate, outFused, scales;
    std::vector<int8_t> codes;

    explicit R4Set(int64_t rows) : M(rows) {
        const kf_kernel_def *down = kernelNamed("down_proj_q8");
        if (kf_status st = kf_hadamard_create(kernelNamed("h172x64"), nullptr, &rotF32); st != KF_OK) {
            error = "kf_hadamard_create: " + statusText(st);
            return;
        }
        if (kf_status st = kf_hadamard_create(kernelNamed("r4_q8"), nullptr, &rotQ8); st != KF_OK) {
            error = "kf_hadamard_create: " + statusText(st);
            return;
        }
        // Random int4 codes and f16 scales (a decode step's cost does not depend on the values).
        std::mt19937 rng(11);
        std::vector<uint8_t> c(static_cast<std::size_t>(N * n));
        for (auto &v : c) v = static_cast<uint8_t>(rng() & 15u);
        std::vector<uint16_t> s(static_cast<std::size_t>(N * (n / 128)), floatToHalf(0.01f));
        kf_linear *first = nullptr;
        if (kf_status st = kf_linear_create(down, 0, 0, nullptr, &first); st != KF_OK) {
            error = "kf_linear_create: " + statusText(st);
            return;
        }
        layers.push_back(first);
        if (kf_status st = kf_linear_pack(first, c.data(), s.data()); st != KF_OK) {
            error = "kf_linear_pack: " + statusText(st);
            return;
        }
        const std::size_t packed = kf_linear_packed_bytes(first);
        while (layers.size() * packed < streamBytes()) {
            kf_linear *l = nullptr;
            if (kf_linear_create(down, 0, 0, nullptr, &l) != KF_OK || kf_linear_copy_weights(l, first) != KF_OK) {
                error = "copying the down_proj layer: " + statusText(KF_ERR_OUT_OF_MEMORY);
                return;
            }
            layers.push_back(l);
        }
        x = ref::randomRows(M, n, 5);
        yRot.resize(x.size());
        codes.resize(x.size());
        scales.resize(static_cast<std::size_t>(M));
        outSeparate.resize(static_cast<std::size_t>(M * N));
        outFused.resize(static_cast<std::size_t>(M * N));
        // The paths agree exactly: the fused rotation's codes are the f32
        // rotation's rows quantized as the layer quantizes them.
        if (!separate(0, 0) || !fused(0, 0)) return;
        if (std::memcmp(outSeparate.data(), outFused.data(), outFused.size() * sizeof(float)) != 0)
            error = "the fused R4 -> down_proj path differs from the separate one";
    }
    ~R4Set() override {
        for (kf_linear *l : layers) kf_linear_destroy(l);
        kf_hadamard_destroy(rotF32);
        kf_hadamard_destroy(rotQ8);
    }
    bool separate(std::size_t layer, int threads) {
        kf_status st = kf_hadamard_run(rotF32, x.data(), M, yRot.data(), threads);
        if (st == KF_OK) st = kf_linear_run(layers[layer % layers.size()], yRot.data(), M, outSeparate.data(), threads);
        if (st != KF_OK) error = "separate path: " + statusText(st);
        return st == KF_OK;
    }
    bool fused(std::size_t layer, int threads) {
        kf_status st = kf_hadamard_run_q8(rotQ8, x.data(), M, codes.data(), scales.data(), threads);
        if (st == KF_OK)
            st = kf_linear_run_q8(layers[layer % layers.size()], codes.data(), scales.data(), M, outFused.data(), threads);
        if (st != KF_OK) error = "fused path: " + statusText(st);
        return st == KF_OK;
    }
};

std::map<std::pair<int64_t, int>, double> gSeparateSeconds;

void benchR4(benchmark::State &state, int64_t M, bool fusedPath, int threads) {
    R4Set &set = workingSet<R4Set>("r4/" + std::to_string(M), M);
    if (!set.error.empty()) return fail(state, set.error);
    std::size_t i = 0;
    const auto t0 = Clock::now();
    for (auto _ : state)
        if (!(fusedPath ? set.fused(i++, threads) : set.separate(i++, threads))) return fail(state, set.error);
    const double perCall = secondsSince(t0) / double(state.iterations());
    if (!fusedPath) gSeparateSeconds[{M, threads}] = perCall;
    else if (auto s = gSeparateSeconds.find({M, threads}); s != gSeparateSeconds.end())
        state.counters["fused_speedup"] = s->second / perCall;
}

const char *const kStreamed[] = {"h4096", "h16384", "h12x128", "h28x512", "h172x64"};
const char *const kLatency[] = {"h128", "h4096", "h16384"};

std::string registerAll() {
    for (const char *k : kStreamed)
        for (int t : threadCounts()) add(std::string("stream/") + k + "/threads:" + std::to_string(t), benchStream, k, t);
    for (const char *k : kLatency) add(std::string("latency/") + k, benchLatency, k);
    for (int64_t M : {1, 128})
        for (int t : threadCounts())
            for (bool f : {false, true})
                add(std::string("r4_down_proj/") + (f ? "fused" : "separate") + "/M:" + std::to_string(M) +
                        "/threads:" + std::to_string(t),
                    benchR4, M, f, t);
    return "";
}

}  // namespace

int main(int argc, char **argv) { return benchMain(argc, argv, "0.5", {}, registerAll); }
